"""Logging for hybridcore: one line format on the console and in a file.

Every line reads ``[timestamp] LEVEL component command_id message`` (see
`formats`). A record whose message spans several lines (a batch of Packer output
read in one go) is written as one such line per message line, so a flood of
output costs one record per read instead of one per line. An optional JSON-lines
sink writes one object per message line. The console may use its own formatter
(the CLI gives a terminal a short one); files always get the full line. Every
record is scrubbed of the registered secrets before any sink sees it; the sinks
themselves are in `sinks`.

Two flags in a record's `extra`: ``ONCE`` (log this message once per command,
e.g. a parse warning met by every pass over a template) and ``FILE_ONLY`` (keep
it off the console, e.g. a traceback).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from hybridcore.logs.formats import JsonLinesFormatter, LineFormatter, Output
from hybridcore.logs.sinks import (
    ConsoleHandler,
    CurrentStderr,
    DigestingFileHandler,
    JsonLinesHandler,
    Sink,
)
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


def _sinks() -> list[Sink]:
    return [h for h in logging.getLogger(LOGGER_NAME).handlers if isinstance(h, Sink)]


def sink_errors() -> list[str]:
    """Each log sink that failed since `init_logging`, once, with why."""
    return [sink.failed for sink in _sinks() if sink.failed]


def written_digests() -> dict[Path, str]:
    """sha256 of each log file written by `init_logging`, as it stands now."""
    files = [sink for sink in _sinks() if isinstance(sink, DigestingFileHandler)]
    for sink in files:
        sink.flush()  # what is queued counts
    return {sink.path: sink.sha256.hexdigest() for sink in files}


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
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    log_dir = Path(artifact_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / LOG_FILE_NAME
    console_handler = ConsoleHandler(console or CurrentStderr())
    handlers: list[tuple[logging.Handler, logging.Formatter, int]] = [
        (console_handler, console_formatter or LineFormatter(), console_level),
        (DigestingFileHandler(log_file), LineFormatter(), logging.DEBUG),
    ]
    if json_lines is not None:
        try:
            Path(json_lines).parent.mkdir(parents=True, exist_ok=True)
            sink = JsonLinesHandler(json_lines, encoding="utf-8")
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
