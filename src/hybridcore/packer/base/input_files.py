"""Reading the files a user hands the tool: regular files only, under a size cap.

A template, var file, inputs list or manifest may be a FIFO, a device or a symlink to
`/dev/zero`. Opening is non-blocking (a FIFO with no writer does not hang), the opened
file must be a regular file (symlinks are followed first), and at most `limit` bytes
are read, so no input can hang the tool or grow it without bound.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_BYTES_ENV",
    "MAX_NESTING",
    "max_input_bytes",
    "nesting_depth",
    "read_input_text",
]

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
# python-hcl2 and json recurse per level; real templates nest < 10 deep
MAX_NESTING = 128
_BRACKETS = re.compile(r"[][{}()]")
_OPENING = frozenset("[{(")
MAX_BYTES_ENV = "HYBRIDCORE_MAX_INPUT_BYTES"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def max_input_bytes() -> int:
    """The size cap: ``$HYBRIDCORE_MAX_INPUT_BYTES`` if it is a positive integer."""
    text = os.environ.get(MAX_BYTES_ENV, "")
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_BYTES


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of `text` (brackets inside strings count too: an upper
    bound, which is what a guard needs)."""
    if sum(text.count(opening) for opening in _OPENING) <= MAX_NESTING:
        return 0  # cannot be deeper than the bound: skip the scan
    depth = deepest = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _refuse(path: Path, what: str, why: str, rule: str, fix: str) -> HybridcoreError:
    return HybridcoreError(
        f"{what} '{path}' {why}.", klass=ExitClass.CONFIG, rule=rule, remediation=fix
    )


def read_input_text(path: Path, *, what: str, limit: int | None = None) -> str:
    """The text of `path` (UTF-8, undecodable bytes replaced), or a one-paragraph
    configuration error naming `what` and the file: missing, not a regular file, or
    larger than the cap, or nested deeper than `MAX_NESTING`."""
    cap = limit if limit is not None else max_input_bytes()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise _refuse(
            path, what, "does not exist", "input_missing", f"Pass an existing file as the {what}."
        ) from exc
    except OSError as exc:
        raise _refuse(
            path,
            what,
            f"cannot be opened ({exc.strerror})",
            "input_unreadable",
            f"Make the {what} a readable regular file.",
        ) from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(
                path,
                what,
                f"is {_kind(mode)}, not a regular file",
                "input_not_regular",
                f"Point the tool at a regular file for the {what}; it never reads pipes, "
                "devices or directories.",
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(cap + 1)
    finally:
        os.close(fd)
    if len(data) > cap:
        raise _refuse(
            path,
            what,
            f"is larger than {cap} bytes",
            "input_too_large",
            f"Split or shrink the file, or raise the cap with {MAX_BYTES_ENV}=BYTES.",
        )
    text = data.decode("utf-8", errors="replace")
    if nesting_depth(text) > MAX_NESTING:
        raise _refuse(
            path,
            what,
            f"nests brackets or blocks more than {MAX_NESTING} levels deep",
            "input_too_deep",
            "Flatten the nesting; no Packer template or var file needs this depth, and the "
            "tool refuses it rather than exhaust its parser.",
        )
    return text
