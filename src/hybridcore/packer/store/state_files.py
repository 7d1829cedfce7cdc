"""Files the tool keeps: atomic JSON writes; stale temp files of killed writers removed."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from hybridcore.packer.store.layout import Workdir

__all__ = [
    "atomic_write_json",
    "atomic_write_text",
    "clean_stale_temp_files",
]


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
    layout = Workdir(workdir)
    for root in (layout.artifacts_dir, layout.state_dir):
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
