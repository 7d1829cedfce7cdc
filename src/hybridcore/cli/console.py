"""What people read on stderr: the CLI's own lines and, on a terminal, short log lines.

On a terminal a log line is ``HH:MM:SS label message`` (local time, the build or
run label), coloured by level unless ``NO_COLOR`` is set, and long lines are
folded at word boundaries under the message column so the prefix column stays
clean. Elsewhere (CI logs, files, ``--log-json``) the logging layer's full
``[timestamp] LEVEL component command_id message`` line is kept.
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import sys
import textwrap
import time

__all__ = [
    "PROG",
    "TerminalFormatter",
    "drop_stdout",
    "is_terminal",
    "out",
    "say",
    "stdout_reader_gone",
    "use_colour",
]

PROG = "hybridcore-packer"

_RESET = "\033[0m"
_LEVEL_STYLE = {
    logging.DEBUG: "\033[2m",  # dim
    logging.WARNING: "\033[33m",  # yellow
    logging.ERROR: "\033[31m",  # red
    logging.CRITICAL: "\033[1;31m",
}
_LEVEL_WORD = {logging.WARNING: "warning: ", logging.ERROR: "error: ", logging.CRITICAL: "error: "}


def is_terminal() -> bool:
    """Whether stderr is a terminal a person watches."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def use_colour() -> bool:
    """Colour on a terminal, unless NO_COLOR (https://no-color.org) or TERM=dumb says no."""
    return is_terminal() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _width() -> int:
    return shutil.get_terminal_size(fallback=(100, 24)).columns


def _fold(text: str, width: int, indent: int) -> str:
    """`text` folded at word boundaries to `width`; continuation lines indented."""
    if width - indent < 30:  # too narrow to fold usefully
        return text
    return textwrap.fill(
        text,
        width=width,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
        replace_whitespace=False,
        drop_whitespace=True,
    )


def stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader closed it (`| head`): poll reports an error."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll, or stdout is not a real file
        return False


def drop_stdout() -> None:
    """Point stdout at /dev/null (as Python's docs advise for SIGPIPE), so that later
    writes and the interpreter's final flush do not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # stdout is not a real file
        pass
    finally:
        os.close(devnull)


def out(text: str) -> None:
    """Write `text` on stdout (the data: JSON, tables). If the reader has gone away
    (``| head``), the rest is dropped quietly and the command still ends as it would."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        if not stdout_reader_gone():
            raise
        drop_stdout()


def say(text: str) -> None:
    """One message of the CLI on stderr, ``hybridcore-packer: text``, folded on a terminal."""
    line = f"{PROG}: {text}"
    if is_terminal():
        line = "\n".join(_fold(part, _width(), 2) for part in line.split("\n"))
    sys.stderr.write(line + "\n")


class TerminalFormatter(logging.Formatter):
    """``HH:MM:SS label message`` per message line, for a person at a terminal."""

    def __init__(self, *, colour: bool, width: int | None = None) -> None:
        super().__init__()
        self.colour = colour
        self.width = width

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        label = getattr(record, "prefix", "") or ""
        head = f"{stamp} {label} " if label else f"{stamp} "
        word = _LEVEL_WORD.get(record.levelno, "")
        width = self.width or _width()
        lines = []
        for line in record.getMessage().split("\n"):
            text = _fold(head + word + line.rstrip(), width, len(head))
            if self.colour:
                text = self._paint(text, len(stamp), record.levelno)
            lines.append(text)
        return "\n".join(lines)

    @staticmethod
    def _paint(text: str, stamp_length: int, level: int) -> str:
        stamp = f"\033[2m{text[:stamp_length]}{_RESET}"  # the time recedes
        style = _LEVEL_STYLE.get(level)
        rest = text[stamp_length:]
        return stamp + (f"{style}{rest}{_RESET}" if style else rest)
