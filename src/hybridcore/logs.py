"""Logging for hybridcore: one line format on the console and in a file.

Every line reads ``[timestamp] LEVEL component command_id message``. A record
whose message spans several lines (a batch of Packer output read in one go)
is written as one such line per message line, so a flood of output costs one
record per read instead of one per line. An optional JSON-lines sink writes
one object per message line.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from hybridcore.redaction.engine import Redactor

__all__ = [
    "LOGGER_NAME",
    "command_context",
    "get_logger",
    "init_logging",
    "register_redactor",
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
            for redactor in _state["redactors"]:
                message = redactor(message)
            record.msg, record.args, attrs["redacted"] = message, None, True
        return True


class LineFormatter(logging.Formatter):
    """``[timestamp] LEVEL component command_id message``, once per message line.

    The text is kept on the record, so the console and the file format it once.
    """

    def format(self, record: logging.LogRecord) -> str:
        attrs = record.__dict__
        cached = attrs.get("_line_text")
        if cached is not None:
            return str(cached)
        head = (
            f"[{_timestamp(record.created)}] {record.levelname} "
            f"{attrs['component']} {attrs['command_id']} "
        )
        prefix = getattr(record, "prefix", "")
        if prefix:
            head += f"{prefix} | "
        text = head + record.getMessage().replace("\n", "\n" + head)
        attrs["_line_text"] = text
        return text


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


class _JsonLinesHandler(_ReportsFailureOnce, logging.FileHandler):
    def describe(self) -> str:
        return f"--log-json {self.baseFilename}"


class _DigestingFileHandler(_ReportsFailureOnce, logging.FileHandler):
    """A log file that keeps the sha256 of what it wrote, so the scrub manifest can
    name it without reading a file that may hold gigabytes of build output."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self.path = path.absolute()
        self.sha256 = hashlib.sha256()

    def describe(self) -> str:
        return f"the log file {self.path}"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + self.terminator
            if self.stream is None:
                self.stream = self._open()
            self.stream.write(text)
            self.sha256.update(text.encode("utf-8"))
            self.flush()
        except Exception:
            self.handleError(record)


def sink_errors() -> list[str]:
    """Each log sink that failed since `init_logging`, once, with why."""
    return list(_state["sink_errors"])


def written_digests() -> dict[Path, str]:
    """sha256 of each log file written by `init_logging`, as it stands now."""
    logger = logging.getLogger(LOGGER_NAME)
    return {
        handler.path: handler.sha256.hexdigest()
        for handler in logger.handlers
        if isinstance(handler, _DigestingFileHandler)
    }


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is now, so a live progress display that
    redirects stderr also catches log lines."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

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
    handlers: list[tuple[logging.Handler, logging.Formatter, int]] = [
        (_ConsoleHandler(console or _CurrentStderr()), LineFormatter(), console_level),
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
    return log_file
