"""The log line a person at a terminal reads: ``HH:MM:SS label message``.

Local time and the build or run label, coloured by level (the CLI turns colour
off for ``NO_COLOR``), long lines folded at word boundaries under the message
column so the prefix column stays clean. Files, ``--log-json`` and a console
that is not a terminal (CI) keep the logging layer's full
``[timestamp] LEVEL component command_id message`` line.
"""

from __future__ import annotations

import logging
import time

from hybridcore.cli.console import fold, terminal_width

__all__ = ["TerminalFormatter"]

_RESET = "\033[0m"
_LEVEL_STYLE = {
    logging.DEBUG: "\033[2m",  # dim
    logging.WARNING: "\033[33m",  # yellow
    logging.ERROR: "\033[31m",  # red
    logging.CRITICAL: "\033[1;31m",
}
_LEVEL_WORD = {logging.WARNING: "warning: ", logging.ERROR: "error: ", logging.CRITICAL: "error: "}


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
        width = self.width or terminal_width()
        lines = []
        for line in record.getMessage().split("\n"):
            text = fold(head + word + line.rstrip(), width, len(head))
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
