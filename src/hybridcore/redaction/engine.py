"""Replace secret values with a placeholder, in every form (see forms), and
well-known credential shapes (see credential_shapes) even when unregistered.

All forms of all secrets and the markers of the credential shapes are matched in
one pass by one Aho-Corasick automaton (Rust's aho-corasick through
`ahocorasick_rs`, a DFA), so the cost of scrubbing does not grow with the number
of secrets. Overlapping matches are merged and each merged span becomes one
placeholder, so a form is never left half scrubbed by another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ahocorasick_rs import BytesAhoCorasick, Implementation, MatchKind

from hybridcore.redaction.credential_shapes import MARKERS, scrub_shapes
from hybridcore.redaction.forms import secret_forms

__all__ = ["PLACEHOLDER", "Redactor", "secret_forms"]

PLACEHOLDER = "<sensitive>"
_PLACEHOLDER_BYTES = PLACEHOLDER.encode("ascii")


def _encode(text: str) -> tuple[bytes, str]:
    """`text` as UTF-8 and the error handler that turns it back into the same text."""
    try:
        return text.encode("utf-8", errors="surrogateescape"), "surrogateescape"
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        return text.encode("utf-8", errors="surrogatepass"), "surrogatepass"


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


class Redactor:
    """Holds registered secret values and scrubs them from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._forms: set[bytes] = set()
        self._count = 0  # patterns [0, _count) are forms, the rest shape markers
        self._longest = 0
        self._matcher = self._build()
        self.add(*secrets)

    def _build(self) -> BytesAhoCorasick:
        patterns = sorted(self._forms)
        self._count = len(patterns)
        self._shape_of = [name for name, _ in MARKERS]
        patterns += [marker.encode("ascii") for _, marker in MARKERS]
        # Standard match kind: the only one that reports overlapping matches
        return BytesAhoCorasick(
            patterns, matchkind=MatchKind.Standard, implementation=Implementation.DFA
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
        hits = self._matcher.find_matches_as_indexes(data, overlapping=True)
        if not hits:
            return text
        spans: list[tuple[int, int]] = []
        shapes: set[str] = set()
        for pattern, start, end in hits:
            if pattern < self._count:
                spans.append((start, end))
            else:
                shapes.add(self._shape_of[pattern - self._count])
        if spans:
            merged = _merged(spans)
            if counts is not None:
                counts["secret"] += len(merged)
            pieces, last = [], 0
            for start, end in merged:
                pieces += [data[last:start], _PLACEHOLDER_BYTES]
                last = end
            pieces.append(data[last:])
            text = b"".join(pieces).decode("utf-8", errors=errors)
        return scrub_shapes(text, counts, found=shapes) if shapes else text

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of every form in `text`, overlapping ones included."""
        data, errors = _encode(text)
        hits = self._matcher.find_matches_as_indexes(data, overlapping=True)
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
        return any(
            pattern < self._count
            for pattern, _, _ in self._matcher.find_matches_as_indexes(data, overlapping=True)
        )
