"""What a command leaves for security and diagnostics tooling: its scrub manifest
(``logs/packer/<command_id>/scrub.json``) and, for a build, a log summary per
build (``state/packer/logs/<build>.json``) with retention metadata.

The scrub manifest lists every file the command keeps, how many replacements
each scrub rule made in it and its sha256 after scrubbing; never a secret. A
log summary keeps one entry per command (oldest first): artifact IDs, manifest
path, raw logs, the scrub manifest, exit code and class, and `created_at`,
`retain_until` and the `policy` they come from (`--log-keep DAYS`, else
``HYBRIDCORE_LOG_MAX_DAYS``, else 7 days). `retention purge` acts on them.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock

from hybridcore.logs import written_digests
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.store.hashing import hash_files
from hybridcore.packer.store.state_files import atomic_write_json, safe_name
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.structured import scrub_data

__all__ = [
    "DEFAULT_KEEP_DAYS",
    "ScrubLedger",
    "retention_policy",
    "summary_lock",
    "write_log_summaries",
]

DEFAULT_KEEP_DAYS = 7
_NOT_WALKED = {"work", "cache"}  # a parallel build's mirror and cache views: symlinks


def summary_lock(workdir: Path, summary: Path) -> FileLock:
    """The lock every writer of the log summary `summary` takes."""
    locks = workdir / "state" / "packer" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    return FileLock(str(locks / f"summary-{summary.name}.lock"), timeout=60)


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

    def write(self, command_dir: Path, command_id: str) -> Path:
        """``scrub.json`` for every regular file under `command_dir` (symlinks skipped)."""
        files = sorted(_kept_files(command_dir))
        known = {**written_digests(), **self._digests}
        hashed = hash_files(p for p in files if p not in known)
        entries = []
        for path in files:
            with self._lock:
                counts = dict(self._files.get(path, Counter()))
            digest = known.get(path) or (hashed[path].sha256 if path in hashed else None)
            entries.append(
                {
                    "path": path.relative_to(command_dir).as_posix(),
                    "sha256": digest,
                    "replacements": counts,
                }
            )
        target = command_dir / "scrub.json"
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
        dirs[:] = [d for d in dirs if d not in _NOT_WALKED]
        for name in files:
            path = Path(current) / name
            if name != "scrub.json" and not path.is_symlink() and not name.endswith(".tmp"):
                yield path


def retention_policy(keep_days: int | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """How long raw logs are kept, and where that number came from."""
    if keep_days is not None:
        days, source = keep_days, "--log-keep"
    elif environ.get("HYBRIDCORE_LOG_MAX_DAYS"):
        text = environ["HYBRIDCORE_LOG_MAX_DAYS"]
        if not text.isdigit():
            raise HybridcoreError(
                f"HYBRIDCORE_LOG_MAX_DAYS={text!r} is not a whole number of days.",
                exit_code=1,
                rule="invalid_option",
                remediation="Set HYBRIDCORE_LOG_MAX_DAYS to a number of days, e.g. 7.",
            )
        days, source = int(text), "HYBRIDCORE_LOG_MAX_DAYS"
    else:
        days, source = DEFAULT_KEEP_DAYS, "default"
    if days < 0:
        raise HybridcoreError(
            f"--log-keep {days}: a negative number of days.",
            exit_code=1,
            rule="invalid_option",
            remediation="Keep raw logs 0 or more days (0: purge at the next retention run).",
        )
    return {"keep_days": days, "source": source}


def write_log_summaries(
    workdir: Path,
    *,
    command_id: str,
    builds: Mapping[str, Mapping[str, Any]],
    policy: Mapping[str, Any],
    scrub_manifest: Path,
    result_path: str | None,
    redactor: Redactor | None = None,
) -> list[Path]:
    """Append this command's entry to each build's log summary (under its lock).

    `builds` maps a build name to its `exit_code`, `classification`, `artifact_ids`,
    `manifest_path` and `raw_logs`. With `redactor`, each entry is scrubbed as data.
    """
    now = datetime.now(UTC)
    written = []
    for build, facts in sorted(builds.items()):
        path = workdir / "state" / "packer" / "logs" / f"{safe_name(build)}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            **facts,
            "command_id": command_id,
            "created_at": rfc3339(now),
            "retain_until": rfc3339(now + timedelta(days=int(policy["keep_days"]))),
            "policy": dict(policy),
            "scrub_manifest": str(scrub_manifest),
            "result_path": result_path,
            "purged_at": None,
            "bundles": [],
        }
        if redactor is not None:
            entry = scrub_data(entry, redactor)
        with summary_lock(workdir, path):
            runs = _existing_runs(path)
            atomic_write_json(
                path, {"schema_version": "1.0", "build": build, "runs": [*runs, entry]}
            )
        written.append(path)
    return written


def _existing_runs(path: Path) -> Sequence[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise HybridcoreError(
            f"log summary {path} cannot be read: {exc}.",
            exit_code=3,
            rule="summary_unreadable",
            remediation="The file was edited or damaged: restore it from a backup; the "
            "tool never writes a partial file.",
        ) from exc
    runs = data.get("runs") if isinstance(data, dict) else None
    return runs if isinstance(runs, list) else []
