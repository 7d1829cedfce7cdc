"""`init`: install the plugins templates require into the workdir's shared plugin directory.

With `plugin_mirror`, plugins come from a local directory (offline, checksums verified);
then ``packer init`` runs, which finds them installed and has nothing to fetch. Without a
mirror, ``packer init`` downloads from GitHub. Both run under a file lock on the plugin
directory, so parallel jobs on one runner never race on a plugin file.
"""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock
from typing_extensions import Unpack

from hybridcore.logs import get_logger
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.result import Result
from hybridcore.packer.base.settings import Settings, SettingsArgs
from hybridcore.packer.commands._command import Command, execute
from hybridcore.packer.commands._prepare import command_targets
from hybridcore.packer.run.argv import init_argv
from hybridcore.packer.run.runner import Invocation
from hybridcore.packer.run.version import PackerBinary
from hybridcore.packer.store.layout import plugin_dir
from hybridcore.packer.store.plugins import PluginRequirement, install_from_mirror
from hybridcore.packer.template.facts import Targets
from hybridcore.packer.template.required_plugins import required_plugins

__all__ = ["init"]

log = get_logger("packer")
LOCK_NAME = ".hybridcore-init.lock"
_LOCK_TIMEOUT_S = 1800.0  # another job's init: a download of a large plugin on a slow link


def _check_version(binary: PackerBinary) -> None:
    if not binary.at_least(1, 7):
        raise HybridcoreError(
            f"Packer {binary.version_text} has no `init` (it came with Packer 1.7.0, with "
            "required_plugins).",
            klass=ExitClass.CONFIG,
            rule="init_unsupported",
            remediation="Use Packer >= 1.7 (--packer PATH; scripts/install-packer.sh 1.9.5 "
            "builds one), or drop the required_plugins block for this Packer.",
        )


def _install_from(mirror: Path, requirements: list[PluginRequirement], plugin_dir: Path) -> None:
    for requirement in requirements:
        installed, copied = install_from_mirror(requirement, mirror, plugin_dir)
        verb = "installed" if copied else "already installed"
        log.info("%s %s %s from the mirror", verb, requirement.source, installed.version)


def init(
    targets: Targets,
    *,
    upgrade: bool = False,
    plugin_mirror: str | os.PathLike[str] | None = None,
    **settings: Unpack[SettingsArgs],
) -> Result:
    """``packer init`` of each target into the shared plugin directory; with
    `plugin_mirror`, offline from that directory (the highest matching version)."""
    command = Command("init", Settings.of("init", **settings))

    def steps() -> None:
        paths = command_targets(command, targets)
        cwd, plugins = command.settings.cwd, plugin_dir(command.settings)
        requirements = required_plugins(cwd / path for path in paths)
        binary = command.find_packer()
        _check_version(binary)
        plugins.mkdir(parents=True, exist_ok=True)
        with FileLock(str(plugins / LOCK_NAME), timeout=_LOCK_TIMEOUT_S):
            if plugin_mirror is not None:
                _install_from(cwd / plugin_mirror, requirements, plugins)
            invocations = [
                Invocation(
                    label=str(path),
                    target=str(path),
                    argv=init_argv(binary, str(path), upgrade=upgrade and plugin_mirror is None),
                )
                for path in paths
            ]
            command.run_all(command.context(binary, dict(os.environ)), invocations)

    return execute(command, steps)
