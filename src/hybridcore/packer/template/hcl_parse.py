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

from hybridcore.packer.store.state_files import atomic_write_text

__all__ = ["parse_hcl"]


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
    with contextlib.suppress(OSError, ValueError):
        cached = json.loads(stored.read_text(encoding="utf-8"))
        if isinstance(cached, dict):
            return cached
    import hcl2  # imported here: python-hcl2 takes ~0.1 s to load its grammar

    doc = hcl2.loads(text)
    doc = doc if isinstance(doc, dict) else {}
    with contextlib.suppress(OSError, TypeError, ValueError):
        atomic_write_text(stored, json.dumps(doc))
    return doc


def parse_hcl(text: str) -> dict[str, Any]:
    """The python-hcl2 structure of `text` (shared between callers: do not mutate it).

    Raises python-hcl2's (lark's) errors for text that is not HCL2.
    """
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _parse(f"{_hcl2_version()}-{digest}", text)
