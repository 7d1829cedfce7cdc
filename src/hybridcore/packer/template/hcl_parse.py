"""Parse HCL2 text with python-hcl2, once per file content.

python-hcl2 needs ~0.1-0.3 s to load its grammar before the first parse, more
than everything else a `--skip-unchanged` re-run does. Parsed documents are
therefore kept, keyed by the python-hcl2 version and the sha256 of the text,
in memory and as JSON files under ``$XDG_CACHE_HOME/hybridcore/hcl`` (default
``~/.cache``); an unchanged template is then read without loading the grammar.
A cache that cannot be read or written only costs a parse.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from hybridcore.packer.store.state_files import atomic_write_text, read_json_cache

__all__ = ["HclSyntaxError", "parse_hcl"]

# lark's terminal names a person can read, for "expected ..." hints.
_TERMINALS = {
    "$END": "end of file",
    "RBRACE": "'}'",
    "RSQB": "']'",
    "RPAR": "')'",
    "COMMA": "','",
    "EQ": "'='",
    "DBLQUOTE": "'\"'",
}
_CLOSERS = {"RBRACE": "a block", "RSQB": "a list", "RPAR": "a parenthesis", "DBLQUOTE": "a string"}


class HclSyntaxError(ValueError):
    """Text python-hcl2 cannot parse: where (`line`, if known) and what, in words."""

    def __init__(self, what: str, line: int | None) -> None:
        super().__init__(what if line is None else f"line {line}: {what}")
        self.what = what
        self.line = line

    def at(self, path: object) -> str:
        """``file line N: what is wrong``."""
        return (
            f"{path}: {self.what}" if self.line is None else f"{path} line {self.line}: {self.what}"
        )


def _syntax_error(exc: Exception) -> HclSyntaxError:
    """lark's error in words, without its token and grammar internals."""
    line = getattr(exc, "line", None)
    line = line if isinstance(line, int) and line > 0 else None
    token = getattr(exc, "token", None)
    expected = sorted(set(getattr(exc, "expected", None) or ()) - {"NL_OR_COMMENT"})
    if token is None:
        char = getattr(exc, "char", None)
        what = f"unexpected character {char!r}" if char else _first_line(exc)
        return HclSyntaxError(what, line)
    if getattr(token, "type", "") == "$END":
        closer = next((_CLOSERS[name] for name in expected if name in _CLOSERS), None)
        what = "unexpected end of file"
        return HclSyntaxError(f"{what}: {closer} is not closed" if closer else what, line)
    shown = (str(token).split() or [str(token)])[0][:20]
    what = f"unexpected {shown!r}"
    if expected and len(expected) <= 3 and all(name in _TERMINALS for name in expected):
        what += f" (expected {' or '.join(_TERMINALS[name] for name in expected)})"
    return HclSyntaxError(what, line)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hybridcore" / "hcl"


def _hcl2_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("python-hcl2")
    except PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=256)
def _parse(key: str, text: str) -> dict[str, Any]:
    stored = _cache_dir() / f"{key}.json"
    cached = read_json_cache(stored)
    if cached:
        return cached
    import hcl2  # imported here: python-hcl2 takes ~0.1 s to load its grammar

    doc = hcl2.loads(text)
    doc = doc if isinstance(doc, dict) else {}
    with contextlib.suppress(OSError, TypeError, ValueError):
        atomic_write_text(stored, json.dumps(doc))
    return doc


def parse_hcl(text: str) -> dict[str, Any]:
    """The python-hcl2 structure of `text` (shared between callers: do not mutate it).

    Raises `HclSyntaxError` for text that is not HCL2.
    """
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    try:
        return _parse(f"{_hcl2_version()}-{digest}", text)
    except Exception as exc:  # python-hcl2 raises lark errors of many types
        raise _syntax_error(exc) from exc
