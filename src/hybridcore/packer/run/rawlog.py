"""Packer's debug log, scrubbed before it touches the disk.

``PACKER_LOG_PATH`` points at a named pipe in a private temporary directory;
a thread reads it, scrubs every line and appends it to the real raw log file.
A secret therefore never rests in a raw log, not even after a crash. The
reader holds a spare write end of the pipe until Packer has exited, so it
never sees end-of-file before Packer has even opened the pipe.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import Counter
from pathlib import Path
from types import TracebackType

from hybridcore.packer.base.errors import is_disk_full
from hybridcore.packer.run.stream import read_blocks
from hybridcore.redaction.engine import Redactor

__all__ = ["RawLogPipe"]

_JOIN_TIMEOUT_S = 10.0


class RawLogPipe:
    """``with RawLogPipe(path, redactor, private_dir) as pipe: run(env=pipe.path)``.

    The pipe is made in `private_dir`, a directory only this user can enter.
    """

    def __init__(self, destination: Path, redactor: Redactor, private_dir: Path) -> None:
        self.destination = destination
        self._redactor = redactor
        self.path = private_dir / "packer-log.pipe"
        self._thread: threading.Thread | None = None
        self.counts: Counter[str] = Counter()  # replacements per scrub rule
        self.sha256 = hashlib.sha256()  # of what was written, kept as it is written
        self._spare_writer = -1
        self.error: str | None = None
        self.disk_full = False

    def __enter__(self) -> RawLogPipe:
        os.mkfifo(self.path, 0o600)
        reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._spare_writer = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        os.set_blocking(reader, True)
        self.destination.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(
            target=self._copy, args=(reader,), name=f"rawlog:{self.destination.name}", daemon=True
        )
        self._thread.start()
        return self

    def _copy(self, reader: int) -> None:
        try:
            fd = os.open(self.destination, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "wb") as out:
                for block in read_blocks(reader, self._redactor, counts=self.counts):
                    line = block + b"\n"
                    out.write(line)
                    self.sha256.update(line)
        except OSError as exc:
            self.error = f"{self.destination}: {exc.strerror}"
            self.disk_full = is_disk_full(exc)
            while os.read(reader, 1 << 16):  # keep draining so Packer never blocks
                pass
        finally:
            os.close(reader)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._spare_writer >= 0:
            os.close(self._spare_writer)
            self._spare_writer = -1
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                self.error = f"{self.destination}: a process still holds the log pipe open"
        self.path.unlink(missing_ok=True)
