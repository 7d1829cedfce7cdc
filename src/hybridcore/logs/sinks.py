"""Where log records go: the console, the log file (hashed as it is written) and the
JSON-lines file.

A sink that fails (a full disk, a closed pipe) is noted once, in its `failed`, and
then left alone: never a traceback per record.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import sys
import threading
from pathlib import Path
from typing import BinaryIO, cast

from hybridcore.logs.formats import LineFormatter, Output, utf8

__all__ = ["ConsoleHandler", "CurrentStderr", "DigestingFileHandler", "JsonLinesHandler", "Sink"]


class Sink(logging.Handler):
    """A handler that stops at its first failure and says why in `failed`."""

    failed: str | None = None

    def handle(self, record: logging.LogRecord) -> bool:
        return False if self.failed else super().handle(record)

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        self.failed = f"{self.describe()}: {getattr(error, 'strerror', None) or error}"

    def describe(self) -> str:
        return type(self).__name__

    def close(self) -> None:
        with contextlib.suppress(OSError):  # flushing a failed sink fails again
            super().close()


class CurrentStderr:
    """Writes to whatever `sys.stderr` is now, so a live progress display that
    redirects stderr also catches log lines."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def write_bytes(self, data: bytes) -> None:
        """`data` (UTF-8) written as it is when stderr is UTF-8 over a byte stream."""
        stream = sys.stderr
        buffer = getattr(stream, "buffer", None)
        if buffer is None or str(getattr(stream, "encoding", "")).lower() not in ("utf-8", "utf8"):
            stream.write(data.decode("utf-8", errors="backslashreplace"))
        else:
            stream.flush()  # what was written as text goes first
            buffer.write(data)
        stream.flush()

    def flush(self) -> None:
        sys.stderr.flush()


class ConsoleHandler(Sink, logging.StreamHandler):  # type: ignore[type-arg]
    """The console: the line format's bytes go to stderr as they are."""

    def describe(self) -> str:
        return "the console (stderr)"

    def emit(self, record: logging.LogRecord) -> None:
        stream = self.stream
        if not isinstance(self.formatter, LineFormatter) or not isinstance(stream, CurrentStderr):
            super().emit(record)
            return
        try:
            stream.write_bytes(self.formatter.format_bytes(record))
        except Exception:
            self.handleError(record)


class JsonLinesHandler(Sink, logging.FileHandler):
    """The ``--log-json`` file."""

    def describe(self) -> str:
        return f"--log-json {self.baseFilename}"


class DigestingFileHandler(Sink, logging.FileHandler):
    """A log file that keeps the sha256 of what it wrote, so the scrub manifest can
    name it without reading a file that may hold gigabytes of build output.

    Build output (`Output` records) is written and hashed by a thread of its own,
    which releases the GIL for both, so a flood is hashed while the next block is
    scrubbed. Any other record first waits for what is queued: the file keeps the
    order in which records were logged, and once a record is logged everything
    before it is on disk."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, mode="ab")
        self.path = path.absolute()
        self.sha256 = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._writer: threading.Thread | None = None

    def describe(self) -> str:
        return f"the log file {self.path}"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            formatter = self.formatter
            if isinstance(formatter, LineFormatter):
                line = formatter.format_bytes(record)
            else:
                line = utf8(self.format(record) + "\n")
            if isinstance(record.msg, Output):
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._write_queued, name="log-file", daemon=True
                    )
                    self._writer.start()
                self._queue.put(line)
            else:
                self._queue.join()
                self._write(line)
        except Exception:
            self.handleError(record)

    def _write_queued(self) -> None:
        while (line := self._queue.get()) is not None:
            try:
                if not self.failed:
                    self._write(line)
            except Exception:
                self.handleError(logging.makeLogRecord({}))
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _write(self, line: bytes) -> None:
        if self.stream is None:
            self.stream = self._open()
        cast(BinaryIO, self.stream).write(line)  # opened in binary mode ("ab")
        self.sha256.update(line)
        self.stream.flush()

    def flush(self) -> None:
        self._queue.join()
        super().flush()

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        super().close()
