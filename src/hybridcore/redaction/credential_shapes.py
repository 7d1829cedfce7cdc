"""Well-known credential shapes, scrubbed even when nobody registered them.

Each rule is a named pattern and the literal markers it needs: the pattern only
runs on text holding one of its markers. The `Redactor` finds the markers in the
same pass as the secret forms (`MARKERS`); called alone, `scrub_shapes` looks
for a marker only when its rare "gate" character (e.g. the K of AKIA) is there.
The rules: PEM private key blocks (also a block
cut by a read: its start runs to the end of the text, and a text that starts
inside one runs to its END line), AWS access key IDs, `Bearer` tokens, the
values of secret fields in Azure connection strings and SAS URLs, the password
of a URL (``scheme://user:password@host``), GitHub, GitLab and Slack tokens and
Google API keys.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["MARKERS", "SHAPES", "PemTracker", "Shape", "find_shapes", "scrub_shapes"]

SHAPE_PLACEHOLDER = "<sensitive>"


@dataclass(frozen=True)
class Shape:
    name: str
    markers: tuple[tuple[str, str], ...]  # (gate character, marker): the pattern runs when
    pattern: re.Pattern[str]  # the text holds a gate character and then its marker
    keep_prefix: bool = False  # keep group 1 (the field name), replace the rest


SHAPES: tuple[Shape, ...] = (
    Shape(
        "private_key",
        (("Y", "PRIVATE KEY-----"),),
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"
            r"|\A(?:[A-Za-z0-9+/=]{16,}\r?\n)+-----END [A-Z0-9 ]*PRIVATE KEY-----",
            re.DOTALL,
        ),
    ),
    Shape(
        "aws_access_key_id",
        (("K", "AKIA"), ("S", "ASIA")),
        re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ),
    Shape(
        "bearer_token",
        (("B", "Bearer "),),
        re.compile(r"(\bBearer\s+)(?!<sensitive>|%3Csensitive%3E)[A-Za-z0-9\-._~+/]{8,}=*"),
        keep_prefix=True,
    ),
    Shape(
        "connection_string_secret",
        tuple(
            ("=", marker)
            for marker in ("Key=", "key=", "Signature=", "Password=", "password=", "pwd=", "sig=")
        ),
        re.compile(
            r"(\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|password|pwd|sig)=)"
            r"(?!<sensitive>|%3Csensitive%3E|\\u003csensitive\\u003e)[^;&\s\"'\\]+"
        ),
        keep_prefix=True,
    ),
    Shape(
        "url_password",
        ((":", "://"),),
        # starts at the literal "://", which the regex engine searches for quickly: a
        # scheme before it would be tried at every word of a block full of URLs (20x)
        re.compile(r"(://[^\s:/@?#]+:)(?!<sensitive>@|%3Csensitive%3E@)[^\s@/?#]+(?=@)"),
        keep_prefix=True,
    ),
    Shape(
        "github_token",
        (*(("_", f"gh{kind}_") for kind in "pousr"), ("_", "github_pat_")),
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ),
    Shape("gitlab_token", (("-", "glpat-"),), re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    Shape(
        "slack_token",
        tuple(("-", f"xox{kind}-") for kind in "abposr"),
        re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    ),
    Shape("google_api_key", (("z", "AIza"),), re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
)


MARKERS: tuple[tuple[str, str], ...] = tuple(
    (shape.name, marker) for shape in SHAPES for _, marker in shape.markers
)


def scrub_shapes(
    text: str, counts: Counter[str] | None = None, *, found: Collection[str] | None = None
) -> str:
    """`text` with every credential shape replaced; `counts` gets one per replacement.

    `found`: the names of the shapes whose markers are known to be in `text`.
    """
    gates: dict[str, bool] = {}
    for shape in SHAPES:
        if found is not None:
            if shape.name not in found:
                continue
        elif not any(
            gates.setdefault(gate, gate in text) and marker in text
            for gate, marker in shape.markers
        ):
            continue
        replacement = r"\1" + SHAPE_PLACEHOLDER if shape.keep_prefix else SHAPE_PLACEHOLDER
        text, replaced = shape.pattern.subn(replacement, text)
        if replaced and counts is not None:
            counts[shape.name] += replaced
    return text


def find_shapes(text: str) -> list[str]:
    """Names of the credential shapes `text` holds (never the matched values)."""
    return [shape.name for shape in SHAPES if shape.pattern.search(text)]


_BEGIN = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_END = re.compile(rb"-----END [A-Z0-9 ]*PRIVATE KEY-----")
_PLACEHOLDER_BYTES = SHAPE_PLACEHOLDER.encode("ascii")


class PemTracker:
    """Follows private key blocks across the reads of one stream (UTF-8 bytes).

    `scrub_shapes` scrubs a key block from its BEGIN line to the end of the text
    it is given; when the END line only arrives in a later read, this tracker
    replaces everything up to that END line (the rest of the key) as well.
    `Redactor.scrub_bytes(..., keys=tracker)` calls it for each read, in order.
    """

    def __init__(self) -> None:
        self.inside = False

    def close(self, data: bytes, counts: Counter[str] | None = None) -> bytes:
        """`data` with the rest of a key block opened by an earlier read replaced."""
        if not self.inside:
            return data
        end = _END.search(data)
        if end is None:
            return _PLACEHOLDER_BYTES
        self.inside = False
        if counts is not None:
            counts["private_key"] += 1
        return _PLACEHOLDER_BYTES + data[end.end() :]

    def follow(self, data: bytes) -> None:
        """Note whether `data`, a read that holds a key marker, ends inside a key block."""
        begins = [m.end() for m in _BEGIN.finditer(data)]
        ends = [m.end() for m in _END.finditer(data)]
        self.inside = bool(begins) and (not ends or begins[-1] > ends[-1])
