"""Read a child's output as it comes: whole lines, decoded, scrubbed.

Output is read in chunks (one ``os.read`` per pipe-full), cut at the last
newline and scrubbed as one block, so a flood costs one pass per chunk while a
trickle still arrives line by line. A line longer than `max_line` bytes is
passed on in pieces; the last ``longest secret - 1`` characters of each piece
are held back so a secret split across two reads is still scrubbed.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterator

from hybridcore.redaction import Redactor

__all__ = ["Tail", "read_blocks", "render_machine_readable"]

CHUNK = 1 << 16
MAX_LINE = 1 << 20

_MR_UI_PREFIX = re.compile(r"^\d+,[^,\n]*,ui,\w+,", re.MULTILINE)
_MR_DATA_LINE = re.compile(r"^\d+,[^,\n]*,(?!ui,)[\w-]+,[^\n]*(\n|\Z)", re.MULTILINE)
_MR_COMMA = "%!(PACKER_COMMA)"


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace")


def read_blocks(
    fd: int, redactor: Redactor, *, max_line: int = MAX_LINE, chunk: int = CHUNK
) -> Iterator[str]:
    """Yield scrubbed blocks of complete lines read from `fd` until EOF.

    Each block is one or more lines joined by newlines, without the final newline.
    """
    pending: list[bytes] = []
    pending_size = 0
    while True:
        data = os.read(fd, chunk)
        if not data:
            break
        cut = data.rfind(b"\n")
        if cut < 0:
            pending.append(data)
            pending_size += len(data)
            if pending_size > max_line:
                yield from _split_long_line(pending, redactor)
                pending_size = len(pending[0]) if pending else 0
            continue
        complete = b"".join([*pending, data[:cut]])
        pending = [data[cut + 1 :]] if cut + 1 < len(data) else []
        pending_size = len(pending[0]) if pending else 0
        yield redactor(_decode(complete))
    if pending:
        yield redactor(_decode(b"".join(pending)))


def _split_long_line(pending: list[bytes], redactor: Redactor) -> Iterator[str]:
    """Pass on most of an over-long line; keep a tail that may hold half a secret."""
    text = redactor(_decode(b"".join(pending)))
    keep = max(redactor.longest_form - 1, 0)
    head, tail = (text[:-keep], text[-keep:]) if keep else (text, "")
    pending.clear()
    if tail:
        pending.append(tail.encode("utf-8", errors="backslashreplace"))
    if head:
        yield head


def render_machine_readable(block: str) -> str:
    """Packer's `-machine-readable` output as a person would see it: UI lines as
    text, data lines (artifact, version, ...) left out."""
    if "," not in block:
        return block
    text = _MR_UI_PREFIX.sub("", _MR_DATA_LINE.sub("", block)).rstrip("\n")
    return text.replace(_MR_COMMA, ",").replace("\\n", "\n")


class Tail:
    """The last `limit` characters of a stream, kept in blocks."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.truncated = False
        self._blocks: deque[str] = deque()
        self._size = 0

    def add(self, block: str) -> None:
        self._blocks.append(block)
        self._size += len(block) + 1
        while self._size > self.limit and len(self._blocks) > 1:
            self._size -= len(self._blocks.popleft()) + 1
            self.truncated = True

    def text(self) -> str:
        joined = "\n".join(self._blocks)
        if len(joined) > self.limit:
            self.truncated = True
            joined = joined[-self.limit :]
            newline = joined.find("\n")
            if 0 <= newline < len(joined) - 1:
                joined = joined[newline + 1 :]
        return joined + "\n" if joined else ""
