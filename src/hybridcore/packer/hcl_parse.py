"""Parse HCL2 text with python-hcl2, once per file content in a process."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

__all__ = ["parse_hcl"]


@functools.lru_cache(maxsize=256)
def _parse(digest: str, text: str) -> dict[str, Any]:
    import hcl2  # imported here: python-hcl2 takes ~0.1 s to load its grammar

    doc = hcl2.loads(text)
    return doc if isinstance(doc, dict) else {}


def parse_hcl(text: str) -> dict[str, Any]:
    """The python-hcl2 structure of `text` (shared between callers: do not mutate it).

    Raises python-hcl2's (lark's) errors for text that is not HCL2.
    """
    return _parse(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), text)
