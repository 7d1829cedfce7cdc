"""Retention of raw Packer logs, and diagnostics bundles.

Both read the log summaries ``state/packer/logs/<build>.json``. `purge_logs`
deletes the raw logs of runs past ``retain_until`` and marks them ``purged_at``;
results, scrub manifests, artifact records and hash manifests are never deleted.
`make_bundle` packs summaries, command directories (``logs/packer/<id>/``),
artifact records and hash manifests into one ``.tar.gz`` after scanning every
member for secrets again. Symlinks are never followed: a build's ``work/`` and
``cache/`` directories link into the user's tree and are left out entirely.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.store.layout import (
    LINKED_NAMES,
    RESULT_NAME,
    SCRUB_LEDGER_NAME,
    Workdir,
    safe_name,
)
from hybridcore.packer.store.log_summaries import read_summary, update_summary
from hybridcore.redaction.credential_shapes import find_shapes
from hybridcore.redaction.engine import Redactor

__all__ = [
    "BundleReport",
    "PurgeReport",
    "make_bundle",
    "purge_logs",
    "recorded_secret_names",
]

BUNDLE_ROOT = "hybridcore-diag"
_KEPT_NAMES = frozenset({RESULT_NAME, SCRUB_LEDGER_NAME})


@dataclass
class PurgeReport:
    dry_run: bool
    deleted: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    summaries_updated: list[str] = field(default_factory=list)
    runs_purged: int = 0
    kept: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BundleReport:
    output: str
    members: int
    bytes: int
    sha256: str
    summaries_updated: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _shown(path: Path, workdir: Path) -> str:
    return path.relative_to(workdir).as_posix() if path.is_relative_to(workdir) else str(path)


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def _load_summary(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The summary, or None and why it is skipped: retention and diag work on a damaged
    workdir (they are how one is looked at)."""
    try:
        data = read_summary(path)
    except HybridcoreError as error:
        return None, error.message
    return data, "" if data is not None else f"log summary {path} is gone"


def _summary_paths(workdir: Path, only: Sequence[str]) -> list[Path]:
    layout = Workdir(workdir)
    if not _is_real_dir(layout.summaries_dir):
        return []
    wanted = sorted({layout.log_summary_file(b) for b in only})
    found = wanted if only else sorted(layout.summaries_dir.glob("*.json"))
    return [path for path in found if _is_regular(path)]


def _parse_time(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


# ---------------------------------------------------------------------------- retention


@dataclass
class _RunPlan:
    run: dict[str, Any]
    status: str  # "kept", "undated" or "expired"
    files: list[tuple[Path, int]] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def purgeable(self) -> bool:
        return self.status == "expired" and not self.refused


def _refuse(summary: Path, entry: str, rule: str, why: str) -> HybridcoreError:
    return HybridcoreError(
        f"retention purge refused: log summary {summary} names raw log '{entry}', {why}; "
        "nothing was deleted.",
        klass=ExitClass.SECURITY,
        rule=rule,
        remediation="The summary was edited or damaged: check it, remove the entry or restore "
        "the file, then purge again.",
    )


def _raw_log(entry: str, summary: Path, workdir: Path) -> Path:
    """Where a raw-log entry points: `..` and parent links resolved, the last part not
    followed. Exit 3 when that is outside the workdir or not a raw log."""
    path = Path(entry) if Path(entry).is_absolute() else workdir / entry
    target = path.resolve() if path.name in ("", ".", "..") else path.parent.resolve() / path.name
    root = workdir.resolve()
    if not target.is_relative_to(root):
        raise _refuse(summary, entry, "retention_outside_workdir", "which is outside --workdir")
    protected = target.name in _KEPT_NAMES or target.name.endswith(".hash.json")
    if protected or not target.is_relative_to(Workdir(root).commands_dir):
        raise _refuse(
            summary, entry, "retention_protected_path", "which is not a raw log under logs/packer/"
        )
    return target


def _plan_run(run: dict[str, Any], summary: Path, workdir: Path, now: datetime) -> _RunPlan:
    until = _parse_time(run.get("retain_until"))
    if until is None or until >= now:
        return _RunPlan(run, "undated" if until is None else "kept")
    plan = _RunPlan(run, "expired")
    raw_logs = run.get("raw_logs")
    for entry in raw_logs if isinstance(raw_logs, list) else []:
        if not isinstance(entry, str) or not entry:
            continue
        target = _raw_log(entry, summary, workdir)
        try:
            info = target.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            plan.files.append((target, info.st_size))
        else:
            kind = "symbolic link, not followed" if stat.S_ISLNK(info.st_mode) else "not a file"
            plan.refused.append((target, kind))
    return plan


def _plan(summary: Path, data: dict[str, Any], workdir: Path, now: datetime) -> list[_RunPlan]:
    """Every unpurged run of a summary; exit 3 on a bad raw-log path of an expired one."""
    return [
        _plan_run(run, summary, workdir, now)
        for run in data["runs"]
        if isinstance(run, dict) and run.get("purged_at") is None
    ]


def _apply(plans: list[_RunPlan], now: datetime) -> None:
    for plan in plans:
        if plan.status == "expired":
            for path, _ in plan.files:
                path.unlink(missing_ok=True)  # unlink never follows a link
        if plan.purgeable:
            plan.run["purged_at"] = rfc3339(now)


def _tally(report: PurgeReport, summary: Path, plans: list[_RunPlan], root: Path) -> None:
    shown = _shown(summary, root)
    for plan in plans:
        report.kept += plan.status == "kept"
        if plan.status == "undated":
            report.skipped.append({"path": shown, "reason": "run without a valid retain_until"})
        report.deleted += [_shown(path, root) for path, _ in plan.files]
        report.bytes_freed += sum(size for _, size in plan.files)
        report.refused += [{"path": _shown(p, root), "reason": why} for p, why in plan.refused]
        report.runs_purged += plan.purgeable
    if any(plan.purgeable for plan in plans):
        report.summaries_updated.append(shown)


def purge_logs(workdir: Path, *, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Delete the raw logs of runs past `retain_until` and mark those runs `purged_at`.

    Every summary is checked before anything is deleted: a raw-log path outside
    the workdir (exit 3, ``retention_outside_workdir``) or not under ``logs/packer/``
    (exit 3, ``retention_protected_path``) aborts the purge. Damaged summaries and
    runs without a readable `retain_until` are skipped and reported; a raw log that
    is a symlink is neither followed nor deleted, and its run stays unpurged.
    """
    moment = now or datetime.now(UTC)
    root = workdir.resolve()
    report = PurgeReport(dry_run=dry_run)
    checked = []
    for summary in _summary_paths(workdir, ()):
        data, problem = _load_summary(summary)
        if data is None:
            report.skipped.append({"path": _shown(summary.resolve(), root), "reason": problem})
            continue
        checked.append((summary, _plan(summary, data, workdir, moment)))
    for summary, plans in checked:
        if not dry_run and any(plan.status == "expired" for plan in plans):
            plans = _purge(summary, workdir, moment)
        _tally(report, summary.resolve(), plans, root)
    return report


def _purge(summary: Path, workdir: Path, now: datetime) -> list[_RunPlan]:
    """Under the summary's lock, read afresh: delete the expired raw logs and mark their
    runs purged."""
    plans: list[_RunPlan] = []

    def purged(data: dict[str, Any] | None) -> dict[str, Any] | None:
        plans[:] = _plan(summary, data, workdir, now) if data else []
        _apply(plans, now)
        return data if data and any(plan.purgeable for plan in plans) else None

    update_summary(workdir, summary, purged)
    return plans


# ---------------------------------------------------------------------------- bundles


def _artifact_paths(workdir: Path, only: Sequence[str]) -> list[Path]:
    layout = Workdir(workdir)
    if not _is_real_dir(layout.artifacts_dir):
        return []
    wanted = {layout.record_file(b) for b in only} | {layout.inputs_manifest_file(b) for b in only}
    found = sorted(wanted) if only else sorted(layout.artifacts_dir.glob("*.json"))
    return [path for path in found if _is_regular(path)]


def _command_ids(summaries: Iterable[dict[str, Any] | None]) -> set[str]:
    ids = set()
    for data in summaries:
        for run in data["runs"] if data else []:
            cid = run.get("command_id") if isinstance(run, dict) else None
            if isinstance(cid, str) and cid == safe_name(cid):
                ids.add(cid)
    return ids


def _command_files(
    workdir: Path, ids: set[str] | None, skipped: list[dict[str, str]]
) -> list[Path]:
    """Regular files of the command directories (all, or those in `ids`), links not followed."""
    layout = Workdir(workdir)
    root = layout.commands_dir
    tops = [root] if ids is None else [layout.command(cid).path for cid in sorted(ids)]
    files = []
    for top in tops if _is_real_dir(root) else []:
        if not _is_real_dir(top):
            continue
        for current, dirs, names in os.walk(top, followlinks=False):
            here = Path(current)
            dirs[:] = sorted(d for d in dirs if d not in LINKED_NAMES and _is_real_dir(here / d))
            for name in sorted(names):
                if _is_regular(here / name):
                    files.append(here / name)
                else:
                    shown = _shown(here / name, workdir)
                    skipped.append({"path": shown, "reason": "not a regular file, not followed"})
    return files


def _read_no_follow(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read() if stat.S_ISREG(os.fstat(handle.fileno()).st_mode) else None


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _index(members: dict[str, bytes], created_at: str) -> bytes:
    entries = [
        {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in sorted(members.items())
    ]
    return _json_bytes({"schema_version": "1.0", "created_at": created_at, "members": entries})


def _scan(members: dict[str, bytes], redactor: Redactor) -> None:
    """Exit 3 (``secret_in_bundle``) naming every member that still holds a secret."""
    hits = []
    for name, data in members.items():
        text = data.decode("utf-8", errors="replace")
        kinds = ["registered_secret"] if redactor.contains_secret(text) else []
        kinds += find_shapes(text)
        if kinds:
            hits.append(f"{redactor(name)} ({', '.join(kinds)})")
    if hits:
        raise HybridcoreError(
            f"diagnostics bundle not written: {len(hits)} member(s) still hold a secret: "
            + "; ".join(hits),
            klass=ExitClass.SECURITY,
            rule="secret_in_bundle",
            remediation="Rotate the exposed credential, then remove or scrub the named file(s) "
            "(or narrow the bundle with --only) and bundle again.",
        )


def _write_tar(output: Path, members: dict[str, bytes], moment: datetime) -> tuple[str, int]:
    """The bundle, written to a temp file beside `output` and renamed; (sha256, size)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "w+b") as handle:
            with tarfile.open(fileobj=handle, mode="w:gz") as tar:
                for name, data in members.items():
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime, info.mode = len(data), int(moment.timestamp()), 0o644
                    tar.addfile(info, io.BytesIO(data))
            handle.flush()
            os.fsync(handle.fileno())
            handle.seek(0)
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
            size = handle.tell()
        Path(tmp).replace(output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest, size


def _record_bundle(workdir: Path, summaries: list[Path], bundle: str) -> list[str]:
    """Append `bundle` to the `bundles` of every run of the included summaries."""
    return [
        _shown(summary, workdir)
        for summary in summaries
        if update_summary(workdir, summary, partial(_with_bundle, bundle))
    ]


def _with_bundle(bundle: str, data: dict[str, Any] | None) -> dict[str, Any] | None:
    runs = [run for run in data["runs"] if isinstance(run, dict)] if data else []
    for run in runs:
        bundles = run.get("bundles")
        run["bundles"] = [*(bundles if isinstance(bundles, list) else []), bundle]
    return data if runs else None


def make_bundle(
    workdir: Path,
    output: Path,
    *,
    redactor: Redactor,
    only: Sequence[str] = (),
    packer_version: str | None,
    env_names: Sequence[str],
    now: datetime | None = None,
) -> BundleReport:
    """Write the diagnostics bundle `output` (``.tar.gz``) and record it in the summaries.

    Members keep their workdir-relative paths under ``hybridcore-diag/``, beside
    ``environment.json`` (Packer version, names of set environment variables) and
    ``index.json`` (path, size, sha256 of every other member). With `only`, just
    those builds' summaries, records, hash manifests and command directories.
    Every member is scanned before anything is written: one that still holds a
    secret aborts with exit 3 (``secret_in_bundle``) and no output file.
    """
    moment = now or datetime.now(UTC)
    skipped: list[dict[str, str]] = []
    summaries = {path: _load_summary(path)[0] for path in _summary_paths(workdir, only)}
    for path, summary in summaries.items():
        if summary is None:
            skipped.append({"path": _shown(path, workdir), "reason": "damaged: bundled as is"})
    ids = _command_ids(summaries.values()) if only else None
    paths = [*summaries, *_artifact_paths(workdir, only), *_command_files(workdir, ids, skipped)]
    members: dict[str, bytes] = {}
    for path in paths:
        if path.resolve() == output.resolve():
            continue
        data = _read_no_follow(path)
        if data is None:
            skipped.append({"path": _shown(path, workdir), "reason": "unreadable or a link"})
            continue
        members[f"{BUNDLE_ROOT}/{path.relative_to(workdir).as_posix()}"] = data
    environment = {
        "schema_version": "1.0",
        "packer_version": packer_version,
        "env_names": sorted({name.split("=", 1)[0] for name in env_names if name}),
        "only": sorted(only),
        "created_at": rfc3339(moment),
    }
    members[f"{BUNDLE_ROOT}/environment.json"] = _json_bytes(environment)
    members[f"{BUNDLE_ROOT}/index.json"] = _index(members, rfc3339(moment))
    _scan(members, redactor)
    digest, size = _write_tar(output, members, moment)
    recorded = [path for path, summary in summaries.items() if summary is not None]
    shown = _shown(output.resolve(), workdir.resolve())
    return BundleReport(
        output=str(output),
        members=len(members),
        bytes=size,
        sha256=digest,
        summaries_updated=_record_bundle(workdir, recorded, shown),
        skipped=skipped,
    )


def recorded_secret_names(workdir: Path) -> set[str]:
    """Names of the secret variables recorded commands used (from their result.json)."""
    names: set[str] = set()
    for result in Workdir(workdir).commands_dir.glob(f"*/{RESULT_NAME}"):
        try:
            data = json.loads(result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for key in ("secrets", "inherited_secrets"):
            found = data.get(key) if isinstance(data, dict) else None
            names.update(n for n in found or [] if isinstance(n, str))
    return names
