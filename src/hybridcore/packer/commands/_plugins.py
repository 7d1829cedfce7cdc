"""Before validate or build: the plugins the templates require must be installed."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.settings import Settings
from hybridcore.packer.run.version import PackerBinary
from hybridcore.packer.store.layout import plugin_dir
from hybridcore.packer.store.plugins import PluginRequirement, installations
from hybridcore.packer.template.required_plugins import required_plugins

__all__ = ["check_plugins_installed", "plugin_folders"]


def plugin_folders(settings: Settings, environ: Mapping[str, str]) -> list[Path]:
    """The folders Packer 1.9 lists installed plugins from, ours first."""
    home = Path(environ.get("HOME", str(Path.home())))
    theirs = [Path(p) for p in environ.get("PACKER_PLUGIN_PATH", "").split(os.pathsep) if p]
    return [
        plugin_dir(settings),
        *theirs,
        home / ".config" / "packer" / "plugins",
        home / ".packer.d" / "plugins",
    ]


def _missing_plugins_error(missing: list[PluginRequirement]) -> HybridcoreError:
    """The refusal of a build or validate whose required plugins are not installed."""
    listed = ", ".join(f"{r.source} {r.constraint}".strip() for r in missing)
    return HybridcoreError(
        f"required plugins are not installed: {listed}.",
        klass=ExitClass.CONFIG,
        rule="plugins_not_installed",
        remediation="Run `hybridcore-packer init PATH` first (with --plugin-mirror DIR to "
        "install offline), with the same --workdir or --plugin-dir.",
    )


def check_plugins_installed(
    settings: Settings, paths: Iterable[Path], binary: PackerBinary, environ: Mapping[str, str]
) -> None:
    """Refuse (exit 1, before Packer runs) a template whose required plugins are missing."""
    if not binary.at_least(1, 7):
        return  # no required_plugins before 1.7: Packer itself rejects the block
    folders = plugin_folders(settings, environ)
    missing = [
        requirement
        for requirement in required_plugins(settings.cwd / path for path in paths)
        if not installations(folders, requirement)
    ]
    if missing:
        raise _missing_plugins_error(missing)
