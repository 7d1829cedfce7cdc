"""Logging for hybridcore: one line format on the console and in a file.

Every line reads ``[timestamp] LEVEL component command_id message``. A record
whose message spans several lines (a batch of Packer output read in one go)
is written as one such line per message line, so a flood of output costs one
record per read instead of one per line. An optional JSON-lines sink writes
one object per message line. The console may use its own formatter (the CLI
gives a terminal a short one); files always get the full line.

Two flags in a record's `extra`: ``ONCE`` (log this message once per command,
e.g. a parse warning met by every pass over a template) and ``FILE_ONLY`` (keep
it off the console, e.g. a traceback).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from hybridcore.redaction.engine import Redactor

__all__ = [
    "FILE_ONLY",
    "LOGGER_NAME",
    "ONCE",
    "Output",
    "command_context",
    "get_logger",
    "init_logging",
    "log_file",
    "record_traceback",
    "register_redactor",
    "scrub",
    "sink_errors",
    "written_digests",
]

LOGGER_NAME = "hybridcore.logs"
LOG_FILE_NAME = "hybridcore.log"

_command_id: contextvars.ContextVar[str] = contextvars.ContextVar("command_id", default="-")
_state: dict[str, Any] = {
    "env": "-",
    "component": "hybridcore",
    "redactors": [],
    "sink_errors": [],
}
_logged_once: set[tuple[str, int, str]] = set()

ONCE: dict[str, object] = {"once": True}
FILE_ONLY: dict[str, object] = {"file_only": True}


def get_logger(name: str | None = None) -> logging.Logger:
    """A child of the ``hybridcore.logs`` logger."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


@contextmanager
def command_context(command_id: str) -> Iterator[None]:
    """Tag log records made in this context (this thread) with `command_id`."""
    token = _command_id.set(command_id)
    try:
        yield
    finally:
        _command_id.reset(token)


def register_redactor(redactor: Redactor) -> None:
    """Scrub the secrets of `redactor` from every record that is not yet scrubbed."""
    _state["redactors"].append(redactor)


def scrub(text: str) -> str:
    """`text` without the secrets of every registered redactor."""
    for redactor in _state["redactors"]:
        text = redactor(text)
    return text


class Output:
    """A record's message that arrives as UTF-8 bytes (a block of a child's output,
    already scrubbed): the log file gets the bytes as they are; a sink that needs
    text decodes them."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __str__(self) -> str:
        return self.data.decode("utf-8", errors="backslashreplace")


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", errors="backslashreplace")


def _timestamp(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


class _ContextFilter(logging.Filter):
    """Fill in env, component and command_id; scrub registered secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        attrs = record.__dict__
        attrs.setdefault("command_id", _command_id.get())
        attrs.setdefault("component", _state["component"])
        attrs["env"] = _state["env"]
        if not attrs.get("redacted", False):
            message = record.getMessage()
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            if record.exc_text:
                message = f"{message}\n{record.exc_text}"
                record.exc_text = None
            record.msg, record.args, attrs["redacted"] = scrub(message), None, True
        if attrs.get("once"):
            first = attrs.get("_first")
            if first is None:  # decided once per record, not once per handler
                key = (str(attrs["command_id"]), record.levelno, record.getMessage())
                first = attrs["_first"] = key not in _logged_once
                _logged_once.add(key)
            return bool(first)
        return True


def _not_file_only(record: logging.LogRecord) -> bool:
    return not record.__dict__.get("file_only", False)


class LineFormatter(logging.Formatter):
    """``[timestamp] LEVEL component command_id message``, once per message line.

    The line is made once per record, as UTF-8 bytes, for the console and the file.
    """

    def format(self, record: logging.LogRecord) -> str:
        return self.format_bytes(record)[:-1].decode("utf-8", errors="backslashreplace")

    def format_bytes(self, record: logging.LogRecord) -> bytes:
        """The record's lines as written, the last newline included."""
        attrs = record.__dict__
        cached = attrs.get("_line_bytes")
        if cached is not None:
            return bytes(cached)
        head = (
            f"[{_timestamp(record.created)}] {record.levelname} "
            f"{attrs['component']} {attrs['command_id']} "
        )
        prefix = getattr(record, "prefix", "")
        if prefix:
            head += f"{prefix} | "
        message = record.msg
        body = (
            message.data
            if isinstance(message, Output) and not record.args
            else _utf8(record.getMessage())
        )
        head_bytes = _utf8(head)
        line = b"".join([head_bytes, body.replace(b"\n", b"\n" + head_bytes), b"\n"])
        attrs["_line_bytes"] = line
        return line


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per message line."""

    def format(self, record: logging.LogRecord) -> str:
        attrs = record.__dict__
        base = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "env": attrs["env"],
            "component": attrs["component"],
            "command_id": attrs["command_id"],
            "build": getattr(record, "prefix", None) or None,
        }
        return "\n".join(
            json.dumps({**base, "message": line}, ensure_ascii=False)
            for line in record.getMessage().split("\n")
        )


class _ReportsFailureOnce(logging.Handler):
    """A sink that fails (a full disk, a closed pipe) is noted once and then left alone,
    never a traceback per record; `sink_errors()` tells the caller."""

    failed: str | None = None

    def handle(self, record: logging.LogRecord) -> bool:
        return False if self.failed else super().handle(record)

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        self.failed = f"{self.describe()}: {getattr(error, 'strerror', None) or error}"
        _state["sink_errors"].append(self.failed)

    def describe(self) -> str:
        return type(self).__name__

    def close(self) -> None:
        with contextlib.suppress(OSError):  # flushing a failed sink fails again
            super().close()


class _ConsoleHandler(_ReportsFailureOnce, logging.StreamHandler):  # type: ignore[type-arg]
    def describe(self) -> str:
        return "the console (stderr)"

    def emit(self, record: logging.LogRecord) -> None:
        stream = self.stream
        if not isinstance(self.formatter, LineFormatter) or not isinstance(stream, _CurrentStderr):
            super().emit(record)
            return
        try:
            stream.write_bytes(self.formatter.format_bytes(record))
        except Exception:
            self.handleError(record)


class _JsonLinesHandler(_ReportsFailureOnce, logging.FileHandler):
    def describe(self) -> str:
        return f"--log-json {self.baseFilename}"


class _DigestingFileHandler(_ReportsFailureOnce, logging.FileHandler):
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
                line = _utf8(self.format(record) + "\n")
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


def sink_errors() -> list[str]:
    """Each log sink that failed since `init_logging`, once, with why."""
    return list(_state["sink_errors"])


def written_digests() -> dict[Path, str]:
    """sha256 of each log file written by `init_logging`, as it stands now."""
    logger = logging.getLogger(LOGGER_NAME)
    files = [h for h in logger.handlers if isinstance(h, _DigestingFileHandler)]
    for handler in files:
        handler.flush()  # what is queued counts
    return {handler.path: handler.sha256.hexdigest() for handler in files}


class _CurrentStderr:
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


def init_logging(
    env: str,
    component: str,
    artifact_dir: Path | str,
    *,
    json_lines: Path | str | None = None,
    console_level: int = logging.INFO,
    console: IO[str] | None = None,
    console_formatter: logging.Formatter | None = None,
) -> Path:
    """Send ``hybridcore.logs`` to the console, to ``artifact_dir/hybridcore.log``
    and, if given, to a JSON-lines file. Returns the log file path.

    Calling it again replaces the handlers of an earlier call.
    """
    _state["env"], _state["component"] = env, component
    _state["sink_errors"] = []
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    log_dir = Path(artifact_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / LOG_FILE_NAME
    console_handler = _ConsoleHandler(console or _CurrentStderr())
    handlers: list[tuple[logging.Handler, logging.Formatter, int]] = [
        (console_handler, console_formatter or LineFormatter(), console_level),
        (_DigestingFileHandler(log_file), LineFormatter(), logging.DEBUG),
    ]
    if json_lines is not None:
        try:
            Path(json_lines).parent.mkdir(parents=True, exist_ok=True)
            sink = _JsonLinesHandler(json_lines, encoding="utf-8")
        except OSError:
            for handler, _, _ in handlers:
                handler.close()
            raise
        handlers.append((sink, JsonLinesFormatter(), logging.DEBUG))
    for handler, formatter, level in handlers:
        handler.setFormatter(formatter)
        handler.setLevel(level)
        handler.addFilter(_ContextFilter())
        logger.addHandler(handler)
    console_handler.addFilter(_not_file_only)
    return log_file


def log_file() -> Path | None:
    """The file `init_logging` writes to now, if it was called."""
    return next(iter(written_digests()), None)


def record_traceback(exc: BaseException, fallback_dir: Path) -> Path:
    """Write `exc`'s traceback, scrubbed, to the log file (not the console).

    Without `init_logging`, it goes to ``fallback_dir/hybridcore.log``. Raises
    OSError when that cannot be written.
    """
    message = f"internal error: {type(exc).__name__}: {exc}"
    path = log_file()
    logger = get_logger("error")
    if path is not None:
        logger.error(message, exc_info=exc, extra=FILE_ONLY)
        return path
    fallback_dir.mkdir(parents=True, exist_ok=True)
    path = fallback_dir / LOG_FILE_NAME
    record = logger.makeRecord(
        logger.name,
        logging.ERROR,
        __file__,
        0,
        message,
        (),
        (type(exc), exc, exc.__traceback__),
        extra=FILE_ONLY,
    )
    _ContextFilter().filter(record)  # formats the traceback into the message, scrubbed
    with path.open("a", encoding="utf-8") as stream:
        stream.write(LineFormatter().format(record) + "\n")
    return path
