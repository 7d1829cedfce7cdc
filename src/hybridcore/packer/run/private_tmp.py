"""Private temporary directories for Packer runs, removed even after a kill -9.

Packer keeps an unscrubbed copy of its debug log (``packer-log*``) and the
provisioners' scripts in its TMPDIR. Each run gets its own directory (mode 0700)
holding a lock file: the run holds an flock on it for its lifetime, and so does
Packer (the descriptor is passed on to it), so the lock is free only when every
process that could write there is gone. The run removes its directory at the
end; when the tool is killed, the next command of the tool (any command) finds
the directory with a free lock and removes it: lock-based, never by age.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PrivateDir", "private_dir", "remove_orphans"]

PREFIX = "hybridcore-run-"
_LOCK = ".owner.lock"


@dataclass(frozen=True)
class PrivateDir:
    path: Path
    lock_fd: int  # pass it on to the child so the lock lives as long as the child


@contextlib.contextmanager
def private_dir(root: Path | None = None) -> Iterator[PrivateDir]:
    """A fresh private directory, locked for as long as the context lasts."""
    path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
    # Locked under another name, then renamed: another command's `remove_orphans` never
    # sees the lock file unlocked, so it cannot take a directory that is being set up.
    staging = path / f"{_LOCK}.new"
    fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        staging.replace(path / _LOCK)
        yield PrivateDir(path, fd)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def remove_orphans(root: Path | None = None) -> list[Path]:
    """Remove the private directories (ours, under `root`, default the system temp
    directory) whose lock is free: their run and its Packer are gone."""
    removed = []
    base = root or Path(tempfile.gettempdir())
    try:
        entries = list(base.glob(f"{PREFIX}*"))
    except OSError:
        return []
    for entry in entries:
        try:
            info = entry.lstat()
            if not entry.is_dir() or entry.is_symlink() or info.st_uid != os.getuid():
                continue
            fd = os.open(entry / _LOCK, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:  # no lock file yet: a run is creating it
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        shutil.rmtree(entry, ignore_errors=True)
        os.close(fd)
        removed.append(entry)
    return removed
