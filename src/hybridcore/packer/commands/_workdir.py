"""Before a command writes under ``--workdir``: the boundary checked and what killed runs
left behind removed, once per command.

The CLI opens the workdir before its log file exists; a command it then calls (which the
API may also call directly) finds it open and does not do it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from hybridcore.packer.run.private_tmp import remove_orphans
from hybridcore.packer.store.state_files import clean_stale_temp_files
from hybridcore.packer.store.workdir_boundary import check_workdir

__all__ = ["open_workdir", "opened_workdir"]

_open: ContextVar[Path | None] = ContextVar("open_workdir", default=None)


def open_workdir(root: Path) -> None:
    """Exit 3 if one of the tool's directories under `root` links out of it; then remove
    stale temp files beside the state files and the private TMPDIRs of killed runs.
    Nothing when `root` is open already."""
    if _open.get() == _absolute(root):
        return
    check_workdir(root)
    clean_stale_temp_files(root)
    remove_orphans()  # Packer's unscrubbed debug log of a run killed with -9


@contextmanager
def opened_workdir(root: Path | None) -> Iterator[None]:
    """`open_workdir(root)`; the body runs with `root` open. None, for a command that writes
    nothing under a workdir: only the killed runs' TMPDIRs are removed."""
    if root is None:
        remove_orphans()
        yield
        return
    open_workdir(root)
    token = _open.set(_absolute(root))
    try:
        yield
    finally:
        _open.reset(token)


def _absolute(root: Path) -> Path:
    return root.absolute()
