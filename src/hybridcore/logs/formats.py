"""How a log record is written: the line format of the console and the log file,
and the JSON-lines format.

A line reads ``[timestamp] LEVEL component command_id message``; a record whose
message spans several lines (a batch of Packer output read in one go) becomes one
such line per message line.
"""

from __future__ import annotations

import json
import logging
import time

__all__ = ["JsonLinesFormatter", "LineFormatter", "Output", "utf8"]


class Output:
    """A record's message that arrives as UTF-8 bytes (a block of a child's output,
    already scrubbed): the log file gets the bytes as they are; a sink that needs
    text decodes them."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __str__(self) -> str:
        return self.data.decode("utf-8", errors="backslashreplace")


def utf8(text: str) -> bytes:
    """`text` as UTF-8; a lone surrogate is written as its escape."""
    return text.encode("utf-8", errors="backslashreplace")


def _timestamp(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


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
            else utf8(record.getMessage())
        )
        head_bytes = utf8(head)
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
