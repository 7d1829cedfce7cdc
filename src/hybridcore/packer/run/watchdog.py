"""Packer does not outlive a tool that was killed: the watchdog of one packer process.

The kernel sends Packer SIGTERM when the tool dies (``setpriv --pdeathsig``), and
Packer cancels its builds and cleans up. What the kernel does not do: stop a Packer
that takes longer than the tool's ``--kill-after`` to clean up, or what Packer leaves
behind (a plugin process, a provisioner's command). This watchdog does.

`start` runs this file, with the standard library only, as a process of its own
session. Its stdin is a pipe whose write end only the tool holds: the tool writes
``done`` when the packer process has ended normally. End of file without ``done``
means the tool is gone: the watchdog waits up to `kill_after` seconds for Packer to
end, kills its process group if it has not, then kills every process that still
carries the run's token in its environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["Watchdog", "kill_carrying", "process_identity", "processes_carrying", "start"]

_DONE = b"done"
_POLL_S = 0.1


class Watchdog:
    """The tool's end of one watchdog: `release` once the packer process has ended."""

    def __init__(self, process: subprocess.Popen[bytes], pipe: int) -> None:
        self._process = process
        self._pipe = pipe

    def release(self) -> None:
        """Tell the watchdog the run ended normally and wait for it to go."""
        with contextlib.suppress(OSError):  # it is gone already
            os.write(self._pipe, _DONE)
        os.close(self._pipe)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def start(pid: int, token_marker: str, kill_after: float) -> Watchdog | None:
    """Watch packer process `pid` (a process group leader) whose descendants carry
    `token_marker` (``NAME=value``) in their environment; None if it cannot start."""
    identity = process_identity(pid)
    if identity is None:
        return None
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, identity, token_marker, str(kill_after)],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # nothing of the run's environment (no token), but what may start Python itself
            env={k: v for k, v in os.environ.items() if k == "LD_LIBRARY_PATH"},
            start_new_session=True,
        )
    except OSError:
        os.close(write_end)
        return None
    finally:
        os.close(read_end)
    return Watchdog(process, write_end)


def process_identity(pid: int) -> str | None:
    """``"PID START"`` (start in clock ticks after boot): names one process for good, where
    a PID alone may be reused; None if it is gone (or not Linux)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return f"{pid} {fields[19]}" if len(fields) > 19 and fields[0] != "Z" else None


def processes_carrying(marker: bytes, *, spare: int | None = None) -> list[int]:
    """Live processes (but this one and `spare`) with `marker` (NAME=value) in their
    environment."""
    skipped = {os.getpid(), spare}
    found = []
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) in skipped:
            continue
        try:
            environ = (Path(entry.path) / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_carrying(
    marker: bytes,
    *,
    spare: int | None = None,
    settle: Callable[[list[int]], None] = lambda _: time.sleep(_POLL_S),
) -> list[int]:
    """SIGKILL every process (but `spare`) carrying `marker` in its environment, looking
    again after `settle` (a dying parent may fork once more); the PIDs killed."""
    killed = []
    for _ in range(3):
        found = processes_carrying(marker, spare=spare)
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        settle(found)
    return killed


def _watch(identity: str, token_marker: str, kill_after: float) -> None:
    if sys.stdin.buffer.read() == _DONE:
        return
    pid = int(identity.split()[0])
    deadline = time.monotonic() + kill_after
    while process_identity(pid) == identity and time.monotonic() < deadline:
        time.sleep(_POLL_S)
    if process_identity(pid) == identity:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    kill_carrying(token_marker.encode())


if __name__ == "__main__":
    _watch(sys.argv[1], sys.argv[2], float(sys.argv[3]))
