"""Log summaries: per build (``state/packer/logs/<build>.json``), what each command left
for security and diagnostics tooling, with retention metadata.

A log summary keeps one entry per command (oldest first): artifact IDs, manifest
path, raw logs, the scrub manifest, exit code and class, and `created_at`,
`retain_until` and the `policy` they come from (`--log-keep DAYS`, else
``HYBRIDCORE_LOG_MAX_DAYS``, else 7 days). `retention purge` acts on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.store.layout import Workdir
from hybridcore.packer.store.state_files import atomic_write_json
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.structured import scrub_data

__all__ = [
    "DEFAULT_KEEP_DAYS",
    "retention_policy",
    "summary_lock",
    "write_log_summaries",
]

DEFAULT_KEEP_DAYS = 7


def summary_lock(workdir: Path, summary: Path) -> FileLock:
    """The lock every writer of the log summary `summary` takes."""
    lock = Workdir(workdir).lock_file(summary)
    lock.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(lock), timeout=60)


def retention_policy(keep_days: int | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """How long raw logs are kept, and where that number came from."""
    if keep_days is not None:
        days, source = keep_days, "--log-keep"
    elif environ.get("HYBRIDCORE_LOG_MAX_DAYS"):
        text = environ["HYBRIDCORE_LOG_MAX_DAYS"]
        if not text.isdigit():
            raise HybridcoreError(
                f"HYBRIDCORE_LOG_MAX_DAYS={text!r} is not a whole number of days.",
                klass=ExitClass.CONFIG,
                rule="invalid_option",
                remediation="Set HYBRIDCORE_LOG_MAX_DAYS to a number of days, e.g. 7.",
            )
        days, source = int(text), "HYBRIDCORE_LOG_MAX_DAYS"
    else:
        days, source = DEFAULT_KEEP_DAYS, "default"
    if days < 0:
        raise HybridcoreError(
            f"--log-keep {days}: a negative number of days.",
            klass=ExitClass.CONFIG,
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
        path = Workdir(workdir).log_summary_file(build)
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
            klass=ExitClass.SECURITY,
            rule="summary_unreadable",
            remediation="The file was edited or damaged: restore it from a backup; the "
            "tool never writes a partial file.",
        ) from exc
    runs = data.get("runs") if isinstance(data, dict) else None
    return runs if isinstance(runs, list) else []
