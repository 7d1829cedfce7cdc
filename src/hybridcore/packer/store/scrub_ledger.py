"""The scrub ledger: ``logs/packer/<command_id>/scrub.json`` lists every file a command
keeps, how many replacements each scrub rule made in it and its sha256 after scrubbing;
never a secret."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from hybridcore.logs import written_digests
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.store.hashing import hash_files
from hybridcore.packer.store.layout import LINKED_NAMES, SCRUB_LEDGER_NAME, CommandDir
from hybridcore.packer.store.state_files import atomic_write_json

__all__ = ["ScrubLedger"]


class ScrubLedger:
    """Replacements per scrub rule, per kept file, gathered from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[Path, Counter[str]] = {}
        self._digests: dict[Path, str] = {}

    def note(self, path: Path, counts: Mapping[str, int], sha256: str | None = None) -> None:
        """Record replacements in `path`; `sha256` if the writer hashed what it wrote."""
        with self._lock:
            self._files.setdefault(path, Counter()).update(counts)
            if sha256 is not None:
                self._digests[path] = sha256

    def write(self, command: CommandDir, command_id: str) -> Path:
        """``scrub.json`` for every regular file under `command` (symlinks skipped)."""
        files = sorted(_kept_files(command.path))
        known = {**written_digests(), **self._digests}
        hashed = hash_files(p for p in files if p not in known)
        entries = []
        for path in files:
            with self._lock:
                counts = dict(self._files.get(path, Counter()))
            digest = known.get(path) or (hashed[path].sha256 if path in hashed else None)
            entries.append(
                {
                    "path": path.relative_to(command.path).as_posix(),
                    "sha256": digest,
                    "replacements": counts,
                }
            )
        target = command.scrub_ledger_file
        atomic_write_json(
            target,
            {
                "schema_version": "1.0",
                "command_id": command_id,
                "created_at": rfc3339(datetime.now(UTC)),
                "files": entries,
            },
        )
        return target


def _kept_files(root: Path) -> Iterable[Path]:
    for current, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in LINKED_NAMES]
        for name in files:
            path = Path(current) / name
            if name != SCRUB_LEDGER_NAME and not path.is_symlink() and not name.endswith(".tmp"):
                yield path
