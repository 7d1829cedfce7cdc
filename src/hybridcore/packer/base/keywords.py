"""Keyword arguments typed by a TypedDict (`**args: Unpack[...]`) are checked when called
too: a misspelt one is a TypeError, as it is for a written-out signature."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["refuse_unknown"]


def refuse_unknown(function: str, args: Mapping[str, object], typed: type) -> None:
    """TypeError naming the keywords in `args` that the TypedDict `typed` does not declare."""
    declared = typed.__required_keys__ | typed.__optional_keys__  # type: ignore[attr-defined]
    unknown = sorted(set(args) - declared)
    if unknown:
        raise TypeError(f"{function}() got unexpected keyword argument(s): {', '.join(unknown)}")
