"""Replace secret values with a placeholder, in every form (see forms), and
well-known credential shapes (see credential_shapes) even when unregistered.

All forms of all secrets and the markers of the credential shapes are matched in
one pass by one Hyperscan literal database (SIMD multi-literal matching, a few
GB/s, with the GIL released while it scans), so the cost of scrubbing does not
grow with the number of secrets. Overlapping matches are merged and each merged
span becomes one placeholder, so a form is never left half scrubbed by another.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Iterable

import hyperscan

from hybridcore.redaction.credential_shapes import MARKERS, PemTracker, scrub_shapes
from hybridcore.redaction.forms import TRANSPORT_ESCAPES, secret_forms

__all__ = ["PLACEHOLDER", "Redactor", "secret_forms"]

PLACEHOLDER = "<sensitive>"
_PLACEHOLDER_BYTES = PLACEHOLDER.encode("ascii")


def _encode(text: str) -> tuple[bytes, str]:
    """`text` as UTF-8 and the error handler that turns it back into the same text."""
    try:
        return text.encode("utf-8", errors="surrogateescape"), "surrogateescape"
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        return text.encode("utf-8", errors="surrogatepass"), "surrogatepass"


def _overlaps(merged: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) meets one of the sorted, disjoint spans of `merged`."""
    index = bisect.bisect_left(merged, (end,))  # the spans that start before `end`
    return index > 0 and merged[index - 1][1] > start


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start < last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


# Each byte of a pattern as a regular expression: letters and digits as they are, the
# rest as \xHH. Hyperscan's pure-literal API would end a pattern at its first NUL byte.
_AS_REGEX = [
    bytes([byte]) if chr(byte).isascii() and chr(byte).isalnum() else b"\\x%02x" % byte
    for byte in range(256)
]


class _Matcher:
    """Every occurrence of every pattern in a text, overlapping ones included; of a
    pattern in `presence_only`, its first occurrence alone (a shape marker: a block full
    of URLs would otherwise call back once per "://")."""

    def __init__(self, patterns: list[bytes], presence_only: range = range(0)) -> None:
        self._lengths = [len(pattern) for pattern in patterns]
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._database.compile(
            expressions=[b"".join([_AS_REGEX[byte] for byte in p]) for p in patterns],
            ids=list(range(len(patterns))),
            elements=len(patterns),
            flags=[
                hyperscan.HS_FLAG_SINGLEMATCH if index in presence_only else 0
                for index in range(len(patterns))
            ],
        )
        self._local = threading.local()  # a scan needs scratch space of its own thread

    def find(self, data: bytes) -> list[tuple[int, int, int]]:
        """(pattern index, start, end) of each occurrence, in the order they end."""
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        hits: list[tuple[int, int, int]] = []
        lengths = self._lengths

        def found(pattern: int, _start: int, end: int, _flags: int, _context: object) -> None:
            hits.append((pattern, end - lengths[pattern], end))

        self._database.scan(data, match_event_handler=found, scratch=scratch)
        return hits


class Redactor:
    """Holds registered secret values and scrubs them from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._forms: set[bytes] = set()
        self._count = 0  # patterns [0, _count) are forms, the rest shape markers
        self._longest = 0
        self._matcher = self._build()
        self.add(*secrets)

    def _build(self) -> _Matcher:
        patterns = sorted(self._forms)
        self._count = len(patterns)
        self._shape_of = [name for name, _ in MARKERS]
        markers = [marker.encode("ascii") for _, marker in MARKERS]
        return _Matcher(
            patterns + markers + list(TRANSPORT_ESCAPES),
            presence_only=range(len(patterns), len(patterns) + len(markers)),
        )

    def add(self, *secrets: str) -> None:
        """Register more secret values; empty values are ignored."""
        fresh = {s for s in secrets if s and s not in self._values}
        if not fresh:
            return
        self._values |= fresh
        for value in fresh:
            for form in secret_forms(value):
                self._forms.add(_encode(form)[0])
        self._longest = max((len(form) for form in self._forms), default=0)
        self._matcher = self._build()

    @property
    def active(self) -> bool:
        return bool(self._forms)

    @property
    def longest_form(self) -> int:
        """Length of the longest form, in UTF-8 bytes (never fewer than its characters)."""
        return self._longest

    def __call__(self, text: str) -> str:
        return self.scrub(text)

    def scrub(self, text: str, counts: Counter[str] | None = None) -> str:
        """`text` scrubbed; `counts` (if given) gets the replacements per rule."""
        data, errors = _encode(text)
        scrubbed = self.scrub_bytes(data, counts, errors=errors)
        return text if scrubbed is data else scrubbed.decode("utf-8", errors=errors)

    def scrub_bytes(
        self,
        data: bytes,
        counts: Counter[str] | None = None,
        *,
        keys: PemTracker | None = None,
        escapes: set[bytes] | None = None,
        errors: str = "surrogateescape",
    ) -> bytes:
        """`data` (UTF-8) scrubbed, or `data` itself when it holds nothing to scrub.

        `keys`: for one read of a stream, the private key blocks it follows across
        reads (`PemTracker`), told of key markers by the same pass. `escapes` gets
        each of Packer's `TRANSPORT_ESCAPES` that may be left in the result, found
        by the same pass: a reader that unescapes need not search for the others.
        `errors`: how bytes that are not UTF-8 travel through the credential-shape
        rules, which match text."""
        if keys is not None:
            data = keys.close(data, counts)
        hits = self._matcher.find(data)
        if not hits:
            return data
        spans: list[tuple[int, int]] = []
        shapes: set[str] = set()
        landmarks: list[tuple[int, int, int]] = []
        first_escape = self._count + len(self._shape_of)
        for pattern, start, end in hits:
            if pattern < self._count:
                spans.append((start, end))
            elif pattern < first_escape:
                shapes.add(self._shape_of[pattern - self._count])
            else:
                landmarks.append((pattern - first_escape, start, end))
        if keys is not None and "private_key" in shapes:
            keys.follow(data)
        merged = _merged(spans) if spans else []
        if escapes is not None and landmarks:
            escapes.update(
                TRANSPORT_ESCAPES[index]
                for index, start, end in landmarks
                if not _overlaps(merged, start, end)
            )
        if spans:
            if counts is not None:
                counts["secret"] += len(merged)
            pieces, last = [], 0
            for start, end in merged:
                pieces += [data[last:start], _PLACEHOLDER_BYTES]
                last = end
            pieces.append(data[last:])
            data = b"".join(pieces)
        if not shapes:
            return data
        text = scrub_shapes(data.decode("utf-8", errors=errors), counts, found=shapes)
        return text.encode("utf-8", errors=errors)

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of every form in `text`, overlapping ones included."""
        data, errors = _encode(text)
        hits = self._matcher.find(data)
        spans = [(start, end) for pattern, start, end in hits if pattern < self._count]
        if len(data) == len(text):
            return spans

        def char_index(offset: int) -> int:
            return len(data[:offset].decode("utf-8", errors=errors))

        return [(char_index(start), char_index(end)) for start, end in spans]

    def straddle_start(self, text: str, index: int) -> int:
        """`index`, moved back to the start of any secret form that spans it."""
        moved = True
        while moved and index > 0:
            moved = False
            low = max(index - self._longest, 0)
            for start, end in self._spans(text[low : index + self._longest]):
                if low + start < index < low + end:
                    index, moved = low + start, True
        return index

    def contains_secret(self, text: str) -> bool:
        """Whether `text` holds a form of a registered secret (not a credential shape)."""
        data, _ = _encode(text)
        return any(pattern < self._count for pattern, _, _ in self._matcher.find(data))
