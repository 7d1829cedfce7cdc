"""Private temporary directories for Packer runs, removed even after a kill -9.

Packer keeps an unscrubbed copy of its debug log (``packer-log*``) and the
provisioners' scripts in its TMPDIR. Each run gets its own directory (mode 0700)
holding a lock file: the run holds an flock on it for its lifetime, and so does
Packer (the descriptor is passed on to it), so the lock is free only when every
process that could write there is gone. The run removes its directory at the
end; when the tool is killed, the next command of the tool (any command) finds
the directory with a free lock and removes it: lock-based, never by age.

The lock may outlive Packer: a provisioner's command (a `sleep`, a script Packer
did not stop when it was cancelled) inherits it. The directory names the tool
and Packer that own it (`process_identity`); once both are gone, the next
command stops the processes left in it (those whose TMPDIR is in it) and removes
it. While Packer lives (cleaning up after a kill -9 of the tool), it is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hybridcore.packer.run.watchdog import kill_carrying, process_identity

__all__ = ["PrivateDir", "private_dir", "remove_orphans"]

PREFIX = "hybridcore-run-"
TEMP = "tmp"  # the child's TMPDIR, inside the directory
_LOCK = ".owner.lock"
_OWNERS = ".owners"  # process_identity of the tool, then of its child, one per line
_RELEASE_WAIT_S = 2.0


@dataclass(frozen=True)
class PrivateDir:
    path: Path
    lock_fd: int  # pass it on to the child so the lock lives as long as the child

    def note_child(self, pid: int) -> None:
        """Name the child (Packer) that holds the lock with this run."""
        identity = process_identity(pid)
        if identity is not None:
            with (self.path / _OWNERS).open("a", encoding="ascii") as owners:
                owners.write(identity + "\n")


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
        (path / _OWNERS).write_text(f"{process_identity(os.getpid()) or ''}\n", encoding="ascii")
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
            if not _locked(fd) and not (_abandoned(entry) and _stop_leftovers(entry, fd)):
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        finally:
            os.close(fd)
    return removed


def _locked(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _abandoned(entry: Path) -> bool:
    """Whether the tool and the Packer named by `entry` are both gone."""
    try:
        identities = (entry / _OWNERS).read_text(encoding="ascii").split("\n")
    except OSError:  # from before owners were written: wait for the lock
        return False
    identities = [line for line in identities if line]
    return bool(identities) and all(process_identity(int(i.split()[0])) != i for i in identities)


def _stop_leftovers(entry: Path, fd: int) -> bool:
    """Kill what still runs with its TMPDIR in `entry`; True once the lock is ours."""
    kill_carrying(f"TMPDIR={entry / TEMP}".encode())
    deadline = time.monotonic() + _RELEASE_WAIT_S
    while not _locked(fd):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
