"""The workdir is a boundary: the tool never writes through a symlink that leads out of it.

Before a command writes anything, each of the tool's own directories under `--workdir`
(artifacts/, logs/, state/, state/packer/, packer_cache/) is walked from the workdir down
with `lstat`; a symbolic link on the way whose target is outside the workdir is refused
with exit 3, nothing written. Links that stay inside, and a linked `--workdir` itself
(the user chose it), are fine.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.layout import Workdir

__all__ = ["check_workdir", "escape_of"]


def escape_of(root: Path, path: Path) -> tuple[Path, Path] | None:
    """The first symlink from `root` down to `path` whose target leaves `root`, with that
    target; None when there is none (a part that does not exist yet ends the walk)."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return None  # not under the workdir: an explicit choice of the caller
    real_root = root.resolve()
    current = root
    for part in parts:
        current = current / part
        try:
            mode = current.lstat().st_mode
        except OSError:
            return None  # not there yet: the tool creates it as a real directory
        if stat.S_ISLNK(mode):
            target = Path(os.path.realpath(current))
            if not target.is_relative_to(real_root):
                return current, target
    return None


def check_workdir(root: Path) -> None:
    """Exit 3 if any of the tool's directories under `root` leads out through a symlink."""
    for own in Workdir(root).own_dirs():
        escape = escape_of(root, own)
        if escape is None:
            continue
        link, target = escape
        raise HybridcoreError(
            f"refusing to write under --workdir {root}: {link.relative_to(root)} is a "
            f"symbolic link to {target}, outside the workdir. Nothing was written through it.",
            klass=ExitClass.SECURITY,
            rule="workdir_symlink_escape",
            remediation="The tool's directories under --workdir (artifacts/, logs/, state/, "
            "packer_cache/) must be its own: remove the link (the tool creates a real "
            "directory) or pass --workdir the directory the files should go to.",
        )
