"""Log summaries: per build (``state/packer/logs/<build>.json``), what each command left
for security and diagnostics tooling, with retention metadata.

A log summary keeps one entry per command (oldest first): artifact IDs, manifest
path, raw logs, the scrub manifest, exit code and class, and `created_at`,
`retain_until` and the `policy` they come from (`--log-keep DAYS`, else
``HYBRIDCORE_LOG_MAX_DAYS``, else 7 days). `retention purge` acts on them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.store.layout import Workdir
from hybridcore.packer.store.state_files import locked_update, read_json_state
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.structured import scrub_data

__all__ = [
    "DEFAULT_KEEP_DAYS",
    "read_summary",
    "retention_policy",
    "update_summary",
    "write_log_summaries",
]

DEFAULT_KEEP_DAYS = 7


def read_summary(path: Path) -> dict[str, Any] | None:
    """The log summary in `path` (an object with a `runs` list), None if there is none;
    exit 3 if it cannot be read."""
    return read_json_state(path, _summary, what="log summary", rule="summary_unreadable")


def _summary(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise ValueError("is not an object with a `runs` list")
    return data


def update_summary(
    workdir: Path, path: Path, update: Callable[[dict[str, Any] | None], Any | None]
) -> bool:
    """Under the summary's lock, `update` the summary read afresh (None: there is none)
    and write what it returns (nothing for None); whether `path` was written."""
    lock = Workdir(workdir).lock_file(path)
    return locked_update(path, lock=lock, update=lambda: update(read_summary(path)))


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
        update_summary(workdir, path, partial(_appended, build, entry))
        written.append(path)
    return written


def _appended(build: str, entry: dict[str, Any], summary: dict[str, Any] | None) -> Any:
    runs = summary["runs"] if summary else []
    return {"schema_version": "1.0", "build": build, "runs": [*runs, entry]}
