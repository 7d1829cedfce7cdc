"""Hash input files fast: in chunks, several at once, and not at all when unchanged.

A stat cache maps (device, inode, size, mtime_ns) of each file to its sha256, so
a tree that did not change is re-checked with one `stat` per file; `full=True`
ignores it and reads everything again (as `verify` always does).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hybridcore.packer.store.state_files import atomic_write_json, read_json_cache

__all__ = ["FileHash", "HashCache", "hash_files", "sha256_file"]

_WORKERS = max(2, min(8, (os.cpu_count() or 2) * 2))
_CACHE_VERSION = 1


@dataclass(frozen=True)
class FileHash:
    sha256: str
    size: int


def sha256_file(path: Path) -> FileHash:
    """sha256 of a file, read in 1 MiB chunks (hashlib releases the GIL while hashing)."""
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            digest.update(view[:count])
            size += count
    return FileHash(digest.hexdigest(), size)


def _key(stat: os.stat_result) -> list[int]:
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]


class HashCache:
    """Persistent (path -> stat key, sha256) map; a miss or a changed stat re-hashes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, list[object]] = {}
        if path is not None:
            data = read_json_cache(path)
            entries = data.get("entries") if data.get("version") == _CACHE_VERSION else None
            self._entries = dict(entries) if isinstance(entries, dict) else {}
        self._dirty = False

    def get(self, path: Path, stat: os.stat_result) -> FileHash | None:
        entry = self._entries.get(str(path))
        if not (isinstance(entry, list) and len(entry) == 2):
            return None  # absent, or damaged: only costs a re-hash
        key, digest = entry
        if key == _key(stat) and isinstance(digest, str):
            return FileHash(digest, stat.st_size)
        return None

    def put(self, path: Path, stat: os.stat_result, value: FileHash) -> None:
        self._entries[str(path)] = [_key(stat), value.sha256]
        self._dirty = True

    def save(self) -> None:
        if self.path is not None and self._dirty:
            atomic_write_json(self.path, {"version": _CACHE_VERSION, "entries": self._entries})
            self._dirty = False


def hash_files(
    paths: Iterable[Path], cache: HashCache | None = None, *, full: bool = False
) -> dict[Path, FileHash]:
    """sha256 and size of every file; unchanged files (same stat key) come from `cache`
    unless `full`. A file that vanishes while hashing is left out."""
    results: dict[Path, FileHash] = {}
    todo: list[tuple[Path, os.stat_result]] = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        cached = None if full or cache is None else cache.get(path, stat)
        if cached is not None:
            results[path] = cached
        else:
            todo.append((path, stat))
    if todo:
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(todo))) as pool:
            hashed = list(pool.map(_hash_or_none, (path for path, _ in todo)))
        for (path, stat), value in zip(todo, hashed, strict=True):
            if value is None:
                continue
            results[path] = value
            if cache is not None:
                cache.put(path, stat, value)
    return results


def _hash_or_none(path: Path) -> FileHash | None:
    try:
        return sha256_file(path)
    except OSError:
        return None
