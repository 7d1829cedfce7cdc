"""Read a child's output as it comes: whole lines, scrubbed, as UTF-8 bytes.

Output is read in chunks (one ``os.read`` per pipe-full), cut at the last
newline and scrubbed as one block, so a flood costs one pass per chunk while a
trickle still arrives line by line. Blocks stay bytes from the pipe to the log
file: a flood is never decoded and encoded again. Bytes that are not UTF-8 are
shown as ``\\xNN``, so every block is valid UTF-8. A line longer than `max_line`
bytes is passed on in pieces; the last ``longest secret - 1`` characters of each
piece are held back so a secret split across two reads is still scrubbed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections import Counter, deque
from collections.abc import Collection, Iterator

from hybridcore.redaction.credential_shapes import PemTracker
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.forms import TRANSPORT_ESCAPES

__all__ = [
    "Tail",
    "read_blocks",
    "read_raw_blocks",
    "render_machine_readable",
    "render_with_kind",
    "unescape_ui",
]

CHUNK = 1 << 18
MAX_LINE = 1 << 20

# Anchored on a literal newline rather than `^` with MULTILINE: the regex engine then
# jumps from newline to newline instead of trying a match at every character.
# ASCII classes ([0-9], [a-z]) rather than \d and \w: a third faster on long blocks.
_MR_LINE_START = re.compile(rb"[0-9]+,[^,\n]*,[a-z-]+,")
_MR_UI_START = re.compile(rb"[0-9]+,[^,\n]*,ui,[a-z]+,")
_MR_UI_PREFIX = re.compile(rb"\n[0-9]+,[^,\n]*,ui,[a-z]+,")
_MR_DATA_LINE = re.compile(rb"\n[0-9]+,[^,\n]*,(?!ui,)[a-z-]+,[^\n]*")
_MR_COMMA, _MR_NEWLINE = TRANSPORT_ESCAPES


def _utf8(data: bytes) -> bytes:
    """`data`, with each byte that is not part of UTF-8 text shown as ``\\xNN``."""
    if data.isascii():
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="backslashreplace").encode("utf-8")
    return data


def read_blocks(
    fd: int,
    redactor: Redactor,
    *,
    max_line: int = MAX_LINE,
    chunk: int = CHUNK,
    counts: Counter[str] | None = None,
) -> Iterator[bytes]:
    """Yield scrubbed blocks of complete lines read from `fd` until EOF.

    Each block is one or more lines joined by newlines, without the final newline.
    """
    keys = PemTracker()
    for block in read_raw_blocks(fd, redactor, max_line=max_line, chunk=chunk):
        yield redactor.scrub_bytes(block, counts, keys=keys)


def read_raw_blocks(
    fd: int, redactor: Redactor, *, max_line: int = MAX_LINE, chunk: int = CHUNK
) -> Iterator[bytes]:
    """Like `read_blocks`, but not scrubbed: for a caller that scrubs each block itself
    and must parse the unscrubbed text (a secret may equal a build name). The blocks
    are cut where no form of a secret is cut in two."""
    with contextlib.suppress(OSError):  # a pipe holds 64 KiB unless asked: one read, one chunk
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, chunk)
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
        yield _utf8(complete)
    if pending:
        yield _utf8(b"".join(pending))


def _utf8_complete_end(data: bytes) -> int:
    """Length of the longest prefix of `data` that does not end inside a UTF-8 character."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: keep looking for the lead byte
            continue
        needed = 1 if byte < 0x80 else 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4
        return len(data) - back if needed > back and byte >= 0xC0 else len(data)
    return len(data)


def _split_long_line(pending: list[bytes], redactor: Redactor) -> Iterator[bytes]:
    """Pass on most of an over-long line, never cutting a character or a secret in two.

    The last ``longest secret - 1`` characters are held back (further back if a secret
    starts before that point and ends after it), to be joined with the next read.
    """
    raw = b"".join(pending)
    end = _utf8_complete_end(raw)
    text = raw[:end].decode("utf-8", errors="surrogateescape")
    split = max(len(text) - max(redactor.longest_form - 1, 0), 0)
    split = redactor.straddle_start(text, split)
    pending.clear()
    rest = text[split:].encode("utf-8", errors="surrogateescape") + raw[end:]
    if rest:
        pending.append(rest)
    if split:
        yield _utf8(text[:split].encode("utf-8", errors="surrogateescape"))


def _strip_runs_of_prefixes(block: bytes, runs: int = 4) -> tuple[bytes, bool] | None:
    """Strip UI prefixes from `block` when its lines come in at most `runs` runs
    sharing one prefix (same second, build and type), as a flood of output does;
    None otherwise. Plain bytes operations: several times faster than a regex
    substitution over the same text."""
    pieces: list[bytes] = []
    plain = True
    start = 0
    while start < len(block):
        if len(pieces) == runs:
            return None
        first = _MR_UI_START.match(block, start)
        if first is None:
            return None
        prefix = b"\n" + first.group(0)
        plain = plain and prefix.endswith((b",ui,say,", b",ui,message,"))
        last = block.rfind(prefix, start)  # the run's last line (-1: its first is its last)
        end = block.find(b"\n", max(last, start) + 1)
        end = len(block) if end < 0 else end
        run = block[first.end() : end]
        stripped = run.replace(prefix, b"\n")
        # every line of the run had the prefix: each replacement shortened it by the same
        if len(run) - len(stripped) != run.count(b"\n") * (len(prefix) - 1):
            return None
        pieces.append(stripped)
        start = end + 1
    return b"\n".join(pieces), plain


def render_machine_readable(block: bytes) -> bytes:
    """Packer's `-machine-readable` output as a person would see it: UI lines as
    text, data lines (artifact, version, ...) left out."""
    return render_with_kind(block)[0]


def render_with_kind(block: bytes, escapes: Collection[bytes] | None = None) -> tuple[bytes, bool]:
    """The rendered text, and whether the block held only `ui,say`/`ui,message`
    lines (so no error and no artifact line: nothing to pick out of it).

    `escapes`: the escapes `block` may hold, when known (see `unescape_ui`)."""
    if not _MR_LINE_START.match(block):
        return block, True
    stripped = _strip_runs_of_prefixes(block)
    plain = stripped is not None and stripped[1]
    if stripped is not None:
        text = stripped[0]
    else:
        text = b"\n" + block
        if block.count(b",ui,") <= block.count(b"\n"):  # not only UI lines
            text = _MR_DATA_LINE.sub(b"", text)
        text = _MR_UI_PREFIX.sub(b"\n", text)[1:]
    return unescape_ui(text.rstrip(b"\n"), escapes), plain


def unescape_ui(text: bytes, escapes: Collection[bytes] | None = None) -> bytes:
    """A `-machine-readable` UI message as Packer shows it: its escaped commas and
    line breaks (``%!(PACKER_COMMA)``, ``\\n``) restored.

    `escapes`: which of them `text` may hold, when the scrubbing pass found out
    (`Redactor.scrub_bytes`); the others are not searched for."""
    if escapes is None or _MR_COMMA in escapes:
        text = text.replace(_MR_COMMA, b",")
    if escapes is None or _MR_NEWLINE in escapes:
        text = text.replace(_MR_NEWLINE, b"\n")
    return text


class Tail:
    """The last `limit` bytes of a stream, kept in blocks, read back as text."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.truncated = False
        self._blocks: deque[bytes] = deque()
        self._size = 0

    def add(self, block: bytes) -> None:
        self._blocks.append(block)
        self._size += len(block) + 1
        while self._size > self.limit and len(self._blocks) > 1:
            self._size -= len(self._blocks.popleft()) + 1
            self.truncated = True

    def text(self) -> str:
        joined = b"\n".join(self._blocks)
        if len(joined) > self.limit:
            self.truncated = True
            joined = joined[-self.limit :]
            newline = joined.find(b"\n")
            if 0 <= newline < len(joined) - 1:
                joined = joined[newline + 1 :]
            else:  # no whole line left: start at a whole character
                joined = joined.lstrip(bytes(range(0x80, 0xC0)))
        return joined.decode("utf-8", errors="backslashreplace") + "\n" if joined else ""
