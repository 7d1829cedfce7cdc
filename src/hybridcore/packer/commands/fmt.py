"""`fmt`: ``packer fmt`` over each target; `recursive` works on every Packer version."""

from __future__ import annotations

import os
from pathlib import Path

from typing_extensions import Unpack

from hybridcore.packer.base.result import Result
from hybridcore.packer.base.settings import Settings, SettingsArgs
from hybridcore.packer.commands._command import Command, execute
from hybridcore.packer.commands._prepare import command_targets
from hybridcore.packer.run.argv import fmt_argv
from hybridcore.packer.run.options import FmtOptions
from hybridcore.packer.run.runner import Invocation
from hybridcore.packer.run.version import PackerBinary
from hybridcore.packer.template.facts import Targets

__all__ = ["fmt"]

_SKIPPED_DIRS = {"packer_cache", "node_modules", "__pycache__"}


def _hcl_dirs(root: Path) -> list[Path]:
    """Directories under `root` holding HCL2 files, for `fmt -recursive` on Packer < 1.7."""
    found = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
        if any(name.endswith((".pkr.hcl", ".pkrvars.hcl")) for name in files):
            found.append(Path(current))
    return found


def _invocations(
    paths: list[Path], binary: PackerBinary, options: FmtOptions, cwd: Path
) -> list[Invocation]:
    invocations = []
    for path in paths:
        walk = options.recursive and not binary.at_least(1, 7) and (cwd / path).is_dir()
        for target in _hcl_dirs(cwd / path) if walk else [path]:
            shown = os.path.relpath(target, cwd) if walk else str(target)
            argv = fmt_argv(binary, options, shown)
            invocations.append(Invocation(label=shown, target=shown, argv=argv))
    return invocations


def fmt(
    targets: Targets,
    *,
    check: bool = False,
    recursive: bool = False,
    diff: bool = False,
    write: bool = True,
    **settings: Unpack[SettingsArgs],
) -> Result:
    """``packer fmt`` over each target; `recursive` works on every Packer version."""
    command = Command("fmt", Settings.of("fmt", **settings))

    def steps() -> None:
        paths = command_targets(command, targets)
        options = FmtOptions(check=check, recursive=recursive, diff=diff, write=write)
        binary = command.find_packer()
        invocations = _invocations(paths, binary, options, command.settings.cwd)
        command.run_all(command.context(binary, os.environ), invocations)

    return execute(command, steps)
