"""Replace secret values with a placeholder, in every form Packer prints them,
and well-known credential shapes (see credential_shapes) even when unregistered."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from hybridcore.redaction.credential_shapes import scrub_shapes

__all__ = ["PLACEHOLDER", "Redactor", "secret_forms"]

PLACEHOLDER = "<sensitive>"

# Lines of a multi-line secret shorter than this are too common to redact alone.
_MIN_LINE_FORM = 4


def secret_forms(value: str) -> set[str]:
    """Every spelling of `value` that can appear in Packer output or logs."""
    forms = {value}
    forms.add(json.dumps(value)[1:-1])  # JSON-escaped, ASCII only
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])  # JSON-escaped, UTF-8
    go_json = json.dumps(value)[1:-1]  # Go's encoding/json also escapes <, > and &
    forms.add(go_json.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))
    machine = value.replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r").replace("\n", "\\n")
    forms.add(machine)  # -machine-readable escaping
    forms.add(value.replace("'", "'\"'\"'"))  # inside single quotes, sh style
    forms.add(value.replace("'", "'\\''"))  # inside single quotes, sh style (alt)
    forms.add(value.replace("'", "''"))  # inside single quotes, PowerShell style
    forms.add(value.replace("\\", "\\\\").replace('"', '\\"'))  # inside double quotes
    forms.add(value.replace("`", "``").replace('"', '`"'))  # PowerShell double quotes
    if "\n" in value:
        forms.update(
            line.strip() for line in value.splitlines() if len(line.strip()) >= _MIN_LINE_FORM
        )
    forms.discard("")
    return forms


def _replacements(before: str, after: str, form: str) -> int:
    """How many times `form` was replaced, from the change in length when it tells."""
    shrink = len(form) - len(PLACEHOLDER)
    return (len(before) - len(after)) // shrink if shrink else before.count(form)


class Redactor:
    """Holds registered secret values and scrubs them from text.

    Forms are replaced longest first so a longer spelling is never left half
    scrubbed by a shorter one.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms: list[str] = []
        self._values: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Register more secret values; empty values are ignored."""
        fresh = {s for s in secrets if s and s not in self._values}
        if not fresh:
            return
        self._values |= fresh
        forms = set(self._forms)
        for value in fresh:
            forms |= secret_forms(value)
        self._forms = sorted(forms, key=lambda f: (-len(f), f))

    @property
    def active(self) -> bool:
        return bool(self._forms)

    @property
    def longest_form(self) -> int:
        return len(self._forms[0]) if self._forms else 0

    def __call__(self, text: str) -> str:
        return self.scrub(text)

    def scrub(self, text: str, counts: Counter[str] | None = None) -> str:
        """`text` scrubbed; `counts` (if given) gets the replacements per rule."""
        for form in self._forms:
            if form in text:
                replaced = text.replace(form, PLACEHOLDER)
                if counts is not None:
                    counts["secret"] += _replacements(text, replaced, form)
                text = replaced
        return scrub_shapes(text, counts)

    def straddle_start(self, text: str, index: int) -> int:
        """`index`, moved back to the start of any secret form that spans it."""
        moved = True
        while moved and index > 0:
            moved = False
            for form in self._forms:
                start = text.find(form, max(index - len(form) + 1, 0))
                if -1 < start < index < start + len(form):
                    index, moved = start, True
        return index

    def contains_secret(self, text: str) -> bool:
        return any(form in text for form in self._forms)
