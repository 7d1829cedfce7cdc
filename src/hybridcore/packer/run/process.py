"""Run one packer process: stream its output, capture it, stop it cleanly.

Packer runs in its own process group with stdin closed, and is sent SIGTERM by the
kernel should the tool die (``setpriv --pdeathsig``, see `_dies_with_us`); its
`watchdog` kills it `kill_after` seconds later if it still runs, and what it left.
Its stdout and stderr are read by two threads, scrubbed, logged to
``hybridcore.logs`` as they come and kept as bounded tails. On Ctrl-C
(KeyboardInterrupt), on SIGTERM turned into KeyboardInterrupt by the CLI, or at
`timeout`, the group gets SIGTERM: Packer cancels its builds and cleans up cloud
resources. A second Ctrl-C, or `kill_after` seconds, sends SIGKILL. Whatever
happened, no member of the group outlives the call.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from hybridcore.logs import Output, get_logger
from hybridcore.packer.run.descendants import (
    RUN_TOKEN_ENV,
    new_run_token,
    stop_descendants,
)
from hybridcore.packer.run.stream import Tail, read_raw_blocks, render_with_kind, unescape_ui
from hybridcore.packer.run.watchdog import start as start_watchdog
from hybridcore.redaction.credential_shapes import PemTracker
from hybridcore.redaction.engine import Redactor

__all__ = ["ProcessOutcome", "Stopper", "run_process"]

TAIL_CHARS = 256 * 1024
ERROR_TAIL_CHARS = 64 * 1024
_JOIN_TIMEOUT_S = 10.0

_MR_ERROR = re.compile(rb"^[0-9]+,[^,\n]*,ui,error,(.*)$", re.MULTILINE)
# Packer escapes commas in the data fields, not in the target: a build named `semi,comma`
_MR_ARTIFACT = re.compile(rb"^[0-9]+,(.*?),artifact,([0-9]+,.*)$", re.MULTILINE)

log = get_logger("packer")


@dataclass
class ProcessOutcome:
    """What one packer process did. Texts are scrubbed."""

    returncode: int
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    error_text: str
    artifact_lines: list[tuple[str, str]]  # NOT scrubbed: parse, then scrub as data
    started_at: datetime
    finished_at: datetime
    timed_out: bool = False
    interrupted: bool = False
    killed: bool = False
    warnings: list[str] = field(default_factory=list)
    scrubbed: Counter[str] = field(default_factory=Counter)  # in the logged output
    unscrubbed_log: str | None = None  # why the raw log could not be written scrubbed
    disk_full: bool = False  # the raw log failed because the disk is full

    @property
    def failure_text(self) -> str:
        """The text classification looks at: error lines, then both tails."""
        return "\n".join((self.error_text, self.stderr, self.stdout))


class _Pump(threading.Thread):
    """Reads one stream: logs each block, keeps its tail, picks out errors and artifacts."""

    def __init__(
        self,
        stream: IO[bytes],
        *,
        name: str,
        level: int,
        extra: dict[str, object],
        redactor: Redactor,
        machine_readable: bool,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._stream = stream
        self._level = level
        self._extra = extra
        self._redactor = redactor
        self._machine_readable = machine_readable
        self.tail = Tail(TAIL_CHARS)
        self.errors = Tail(ERROR_TAIL_CHARS)
        self.artifacts: list[tuple[str, str]] = []
        self.counts: Counter[str] = Counter()  # replacements per scrub rule

    def close_stream(self) -> None:
        self._stream.close()

    def run(self) -> None:
        keys = PemTracker()
        try:
            for raw in read_raw_blocks(self._stream.fileno(), self._redactor):
                escapes: set[bytes] = set()
                block = self._redactor.scrub_bytes(raw, self.counts, keys=keys, escapes=escapes)
                self.tail.add(block)
                shown = block
                if self._machine_readable and b"," in block:
                    shown, plain = render_with_kind(block, escapes)
                    if not plain:
                        self._pick(block, raw)
                if shown and log.isEnabledFor(self._level):
                    log.handle(self._record(shown))
        finally:
            self._stream.close()

    def _record(self, message: bytes) -> logging.LogRecord:
        """A record made directly: `Logger.log` would walk the stack to find the
        caller for every block, which is most of the cost of a trickle of output."""
        record = logging.LogRecord(log.name, self._level, __file__, 0, Output(message), None, None)
        record.__dict__.update(self._extra)
        return record

    def _pick(self, block: bytes, raw: bytes) -> None:
        if b",ui,error," in block:
            # decoded, so the evidence is one line as Packer printed it, not "...\\n\\n..."
            self.errors.add(unescape_ui(b"\n".join(_MR_ERROR.findall(block))))
        if b",artifact," in raw:  # unscrubbed, so build names stay whole: scrubbed as data later
            self.artifacts += [
                (target.decode(), fields.decode()) for target, fields in _MR_ARTIFACT.findall(raw)
            ]


class Stopper:
    """Asks running packer processes to stop, from another thread.

    The thread that owns the Ctrl-C (the main thread) calls `request()` on the first
    interrupt and `force()` on the second; every `run_process` given this stopper
    then stops its process the way a Ctrl-C in its own thread would.
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.forced = threading.Event()

    def request(self) -> None:
        self.requested.set()

    def force(self) -> None:
        self.requested.set()
        self.forced.set()


def _now() -> datetime:
    return datetime.now(UTC)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


class _Waiter:
    """Waits for a child to exit without reaping it, so its process group id stays ours."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._pidfd = None

    def exited(self, timeout: float) -> bool:
        if self._pidfd is not None:
            ready, _, _ = select.select([self._pidfd], [], [], timeout)
            if not ready:
                return False
        else:
            time.sleep(min(timeout, 0.05))
        info = os.waitid(os.P_PID, self._pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        return info is not None

    def close(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


def _supervise(
    pid: int,
    waiter: _Waiter,
    flags: dict[str, bool],
    extra: dict[str, object],
    timeout: float | None,
    kill_after: float,
    stopper: Stopper | None,
    *,
    stopping: bool = False,
) -> None:
    """Wait for the process; on timeout, Ctrl-C or a stop request ask it to stop,
    then kill it."""
    deadline = time.monotonic() + timeout if timeout else None
    kill_at = time.monotonic() + kill_after if stopping else None
    while True:
        try:
            if waiter.exited(0.2):
                return
            if stopper is not None and stopper.requested.is_set() and kill_at is None:
                raise KeyboardInterrupt
            if stopper is not None and stopper.forced.is_set() and not flags["killed"]:
                flags["killed"] = True
                _signal_group(pid, signal.SIGKILL)
            now = time.monotonic()
            if deadline is not None and now >= deadline and kill_at is None:
                flags["timed_out"] = True
                log.warning("timeout of %ss reached: stopping packer", timeout, extra=extra)
                _signal_group(pid, signal.SIGTERM)
                kill_at = now + kill_after
            if kill_at is not None and now >= kill_at and not flags["killed"]:
                flags["killed"] = True
                log.warning("packer still running after %ss: killing it", kill_after, extra=extra)
                _signal_group(pid, signal.SIGKILL)
        except KeyboardInterrupt:
            if kill_at is None:
                flags["interrupted"] = True
                log.warning(
                    "interrupted: asking packer to stop and clean up "
                    "(interrupt again to kill it now)",
                    extra=extra,
                )
                _signal_group(pid, signal.SIGTERM)
                kill_at = time.monotonic() + kill_after
            else:
                flags["killed"] = True
                log.warning("interrupted again: killing packer", extra=extra)
                _signal_group(pid, signal.SIGKILL)


@functools.cache
def _setpriv() -> str | None:
    return shutil.which("setpriv")


def _dies_with_us(argv: list[str], env: Mapping[str, str], cwd: Path) -> list[str]:
    """`argv` run through util-linux ``setpriv --pdeathsig TERM``: the kernel sends the
    child SIGTERM when the thread that started it dies (a kill -9 of the tool included),
    so Packer stops and cleans up instead of running on as an orphan. The thread that
    starts Packer waits for it, so it lives exactly as long as it must. A program
    that cannot be started still raises OSError here, as it would without the wrapper.
    Without setpriv (not Linux), `argv` is run as it is."""
    wrapper = _setpriv()
    if wrapper is None:
        return argv
    name = str(cwd / argv[0]) if os.sep in argv[0] else argv[0]  # as Popen(cwd=) would
    program = shutil.which(name, path=env.get("PATH", os.defpath))
    if program is None:
        if os.sep in name and Path(name).exists():
            raise PermissionError(13, "Permission denied", argv[0])
        raise FileNotFoundError(2, "No such file or directory", argv[0])
    return [wrapper, "--pdeathsig", "TERM", "--", program, *argv[1:]]


def run_process(
    argv: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    redactor: Redactor,
    label: str,
    command_id: str,
    timeout: float | None = None,
    kill_after: float = 120.0,
    machine_readable: bool = False,
    on_start: Callable[[int], None] | None = None,
    stopper: Stopper | None = None,
    pass_fds: tuple[int, ...] = (),
) -> ProcessOutcome:
    """Run `argv` to the end (or until stopped) and return what it did.

    `pass_fds`: descriptors the child keeps open (e.g. a lock that must live as
    long as the child does).
    """
    extra: dict[str, object] = {"prefix": label, "command_id": command_id, "redacted": True}
    started_at = _now()
    token = new_run_token()
    proc = subprocess.Popen(
        _dies_with_us(argv, env, cwd),
        cwd=cwd,
        env={**env, RUN_TOKEN_ENV: token},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        pass_fds=pass_fds,
    )
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        _Pump(
            proc.stdout,
            name=f"{label}:stdout",
            level=logging.INFO,
            extra=extra,
            redactor=redactor,
            machine_readable=machine_readable,
        ),
        _Pump(
            proc.stderr,
            name=f"{label}:stderr",
            level=logging.WARNING,
            extra=extra,
            redactor=redactor,
            machine_readable=False,
        ),
    ]
    flags = {"timed_out": False, "interrupted": False, "killed": False}
    waiter = _Waiter(proc.pid)
    watchdog = start_watchdog(proc.pid, f"{RUN_TOKEN_ENV}={token}", kill_after)
    try:
        for pump in pumps:
            pump.start()
        if on_start is not None:
            on_start(proc.pid)
        _supervise(proc.pid, waiter, flags, extra, timeout, kill_after, stopper)
    except KeyboardInterrupt:
        # Arrived before supervision began: stop packer the same way.
        flags["interrupted"] = True
        _signal_group(proc.pid, signal.SIGTERM)
        _supervise(proc.pid, waiter, flags, extra, None, kill_after, stopper, stopping=True)
    finally:
        # every descendant still running, detached or not (this also frees the pipes)
        escaped = stop_descendants(token, spare=proc.pid)
        _signal_group(proc.pid, signal.SIGKILL)  # packer itself, if it still runs
        waiter.close()
        proc.wait()
        if watchdog is not None:
            watchdog.release()
        if escaped:
            log.warning(
                "stopped %d process(es) left running under the build", len(escaped), extra=extra
            )
        for pump in pumps:
            if pump.is_alive() or pump.ident is not None:
                pump.join(_JOIN_TIMEOUT_S)
            else:
                pump.close_stream()

    out, err = pumps
    return ProcessOutcome(
        returncode=proc.returncode,
        stdout=out.tail.text(),
        stderr=err.tail.text(),
        stdout_truncated=out.tail.truncated,
        stderr_truncated=err.tail.truncated,
        error_text=out.errors.text(),
        artifact_lines=out.artifacts,
        started_at=started_at,
        finished_at=_now(),
        scrubbed=out.counts + err.counts,
        timed_out=flags["timed_out"],
        interrupted=flags["interrupted"],
        killed=flags["killed"],
    )
