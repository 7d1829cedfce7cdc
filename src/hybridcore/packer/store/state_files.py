"""Files the tool keeps: atomic JSON writes and file-name-safe build names."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write_json",
    "atomic_write_text",
    "build_file",
    "clean_stale_temp_files",
    "legacy_safe_name",
    "safe_name",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")
_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_MAX_NAME = 120


def _encoded(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def safe_name(name: str) -> str:
    """`name` as one file-name component, injectively: two names never share a file.
    Letters, digits, `_`, `-` and `.` stay; anything else (and `%`, and a leading `.`) is
    percent-encoded as UTF-8, so `a b`, `a_b`, `a/b` and `semi,comma` stay apart. A result
    longer than 120 characters is cut and ends in a digest of the whole name."""
    text = "".join(char if char in _KEPT else _encoded(char) for char in name)
    if text.startswith("."):
        text = "%2E" + text[1:]
    if not text:
        return "%"  # a lone '%' is no encoding of a non-empty name
    if len(text) > _MAX_NAME:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        text = f"{text[: _MAX_NAME - 17]}~{digest}"
    return text


def legacy_safe_name(name: str) -> str:
    """The file name releases before 0.3 gave a build (not injective: `a b` and `a_b`
    shared one); read as a fallback so existing records keep working."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "_"
    return cleaned[:120]


def build_file(directory: Path, build: str, suffix: str, *, existing: bool = False) -> Path:
    """``<directory>/<safe_name(build)><suffix>``; with `existing`, the legacy name when
    only a file of that name is there (a record written before names were injective)."""
    path = directory / f"{safe_name(build)}{suffix}"
    if existing and not path.exists():
        legacy = directory / f"{legacy_safe_name(build)}{suffix}"
        if legacy.exists():
            return legacy
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so readers see the old file or the new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    """Atomic JSON file with sorted keys and a trailing newline."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


STALE_TEMP_AGE_S = 600.0


def clean_stale_temp_files(workdir: Path, *, older_than: float = STALE_TEMP_AGE_S) -> list[Path]:
    """Remove temp files a killed writer left (``.name.*.tmp`` older than `older_than`
    seconds) beside the records and state files; newer ones may be in flight. Command
    log directories are not walked: their size grows with history, and a leftover
    there replaces nothing."""
    removed = []
    cutoff = time.time() - older_than
    for root in (workdir / "artifacts", workdir / "state"):
        if not root.is_dir() or root.is_symlink():
            continue
        for current, _, files in os.walk(root):
            for name in files:
                path = Path(current) / name
                if name.startswith(".") and name.endswith(".tmp"):
                    with contextlib.suppress(OSError):
                        if path.lstat().st_mtime < cutoff:
                            path.unlink()
                            removed.append(path)
    return removed
