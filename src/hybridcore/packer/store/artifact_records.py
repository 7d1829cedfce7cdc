"""The artifact registry: ``artifacts/<build>.json`` per build, history kept.

Records come from a build (Packer's `-machine-readable` artifact lines, joined
with this run's entries of the Packer manifest when the template has one) or
from an existing manifest (``manifest import``). Every write takes a file lock
beside the record file and replaces the file atomically, so two processes
recording at once never lose a record and a reader never sees a torn file.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from hybridcore.packer.base.artifact_record import (
    RECORD_SCHEMA_VERSION,
    ArtifactFile,
    ArtifactRecord,
    Provenance,
)
from hybridcore.packer.base.errors import HybridcoreError, disk_full_error, is_disk_full
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.input_files import read_input_text
from hybridcore.packer.base.result import Artifact
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.store.artifact_ids import builder_type_of, parse_artifact_id
from hybridcore.packer.store.layout import Workdir
from hybridcore.packer.store.state_files import locked_update, read_json_state

__all__ = [
    "ArtifactRegistry",
    "build_records",
    "import_manifest",
    "records_from_manifest",
]


def _record_id() -> str:
    return uuid.uuid4().hex


def _files(entries: object) -> list[ArtifactFile]:
    files = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            size = entry.get("size")
            files.append(
                ArtifactFile(name=entry["name"], size=size if isinstance(size, int) else None)
            )
        elif isinstance(entry, str):
            files.append(ArtifactFile(name=entry))
    return files


def _build_name(entry: Mapping[str, Any]) -> str:
    """Packer's manifest keeps the source name (`ubuntu`); the build name is `type.name`."""
    name = str(entry.get("name") or "")
    builder_type = str(entry.get("builder_type") or "")
    if builder_type and not name.startswith(f"{builder_type}."):
        return f"{builder_type}.{name}" if name else builder_type
    return name


def _record(
    *,
    build: str,
    builder_type: str,
    builder_id: str | None,
    artifact_id: str | None,
    files: list[ArtifactFile],
    custom_data: dict[str, Any] | None,
    provenance: Provenance,
) -> ArtifactRecord:
    parsed = parse_artifact_id(builder_type, artifact_id, [f.name for f in files])
    return ArtifactRecord(
        record_id=_record_id(),
        build=build,
        builder_type=builder_type,
        builder_id=builder_id,
        platform=parsed.platform,  # type: ignore[arg-type]
        artifact_id=artifact_id,
        images=list(parsed.images),
        details=dict(parsed.details),
        files=files,
        custom_data=custom_data,
        provenance=provenance,
    )


def records_from_manifest(
    manifest: Mapping[str, Any], provenance: Provenance, *, this_run_only: bool = False
) -> list[ArtifactRecord]:
    """Records for the entries of a Packer manifest (every run's, or only the last run's).

    Raises HybridcoreError (exit 1) for a file that is not a Packer manifest.
    """
    builds = manifest.get("builds")
    if not isinstance(builds, list):
        raise HybridcoreError(
            "not a Packer manifest: it has no `builds` list.",
            klass=ExitClass.CONFIG,
            rule="invalid_manifest",
            remediation="Pass the JSON file written by Packer's `manifest` post-processor.",
        )
    last_run = manifest.get("last_run_uuid")
    records = []
    for entry in builds:
        if not isinstance(entry, Mapping):
            continue
        run_uuid = entry.get("packer_run_uuid")
        if this_run_only and run_uuid != last_run:
            continue
        custom = entry.get("custom_data")
        build_time = entry.get("build_time")
        stamp = None
        if type(build_time) is int:  # absent in `strip_time` manifests
            with contextlib.suppress(OverflowError, OSError, ValueError):
                stamp = rfc3339(datetime.fromtimestamp(build_time, UTC))
        records.append(
            _record(
                build=_build_name(entry),
                builder_type=builder_type_of(
                    builder_type=entry.get("builder_type"), builder_id=None, build=None
                ),
                builder_id=None,
                artifact_id=entry.get("artifact_id"),
                files=_files(entry.get("files")),
                custom_data=dict(custom) if isinstance(custom, Mapping) else None,
                provenance=provenance.model_copy(
                    update={
                        "packer_run_uuid": run_uuid if isinstance(run_uuid, str) else None,
                        "finished_at": provenance.finished_at or stamp,
                    }
                ),
            )
        )
    return records


def _entry_for(artifact: Artifact, entries: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The manifest entry of `artifact`: same build (a named build block prefixes the
    build name, which the manifest does not keep) and same artifact ID."""
    for entry in entries:
        name = _build_name(entry)
        same_build = artifact.build == name or artifact.build.endswith("." + name)
        if same_build and entry.get("artifact_id") == artifact.id:
            return entry
    return {}


def build_records(
    artifacts: Iterable[Artifact],
    manifest_entries: Iterable[Mapping[str, Any]],
    provenance: Provenance,
    digests: Mapping[str, str] | None = None,
) -> list[ArtifactRecord]:
    """Records for one build run: every builder artifact Packer reported, enriched with
    the run's manifest entry (files with sizes, custom data) where there is one.

    Packer reports an artifact again for each post-processor that passes it on
    (e.g. `manifest`): identical (build, builder id, id) repeats are recorded once.
    Legacy JSON templates name builds differently in the manifest; their records
    come from the machine-readable lines alone.
    """
    entries = list(manifest_entries)
    records: list[ArtifactRecord] = []
    seen: set[tuple[str, str | None, str | None]] = set()
    for artifact in artifacts:
        key = (artifact.build, artifact.builder_id, artifact.id)
        if key in seen:
            continue
        seen.add(key)
        entry = _entry_for(artifact, entries)
        custom = entry.get("custom_data")
        files = _files(entry.get("files")) or [ArtifactFile(name=f) for f in artifact.files]

        run_uuid = entry.get("packer_run_uuid")
        records.append(
            _record(
                build=artifact.build,
                builder_type=builder_type_of(
                    builder_type=entry.get("builder_type"),
                    builder_id=artifact.builder_id,
                    build=artifact.build,
                ),
                builder_id=artifact.builder_id,
                artifact_id=artifact.id,
                files=files,
                custom_data=dict(custom) if isinstance(custom, Mapping) else None,
                provenance=provenance.model_copy(
                    update={
                        "packer_run_uuid": run_uuid if isinstance(run_uuid, str) else None,
                        "inputs_digest": (digests or {}).get(artifact.build),
                    }
                ),
            )
        )
    return records


class ArtifactRegistry:
    """``<workdir>/artifacts/<build>.json``: every record of a build, oldest first."""

    def __init__(self, workdir: Path) -> None:
        self.layout = Workdir(workdir)
        self.root = self.layout.artifacts_dir

    def path_for(self, build: str) -> Path:
        return self.layout.record_file(build)

    def load(self, build: str) -> list[ArtifactRecord]:
        _, records = self._read(self.layout.record_file(build, existing=True))
        return [record for record in records if record.build == build]

    def latest(self, build: str) -> ArtifactRecord | None:
        records = self.load(build)
        return records[-1] if records else None

    def builds(self) -> list[str]:
        """Build names with at least one record."""
        names = []
        for path in sorted(self.root.glob("*.json")):
            if path.name.endswith(".hash.json"):
                continue
            build, _ = self._read(path)
            if build is not None and build not in names:
                names.append(build)
        return names

    def append(self, records: Iterable[ArtifactRecord]) -> list[Path]:
        """Add records to their builds' files; earlier records are kept."""
        try:
            return self._append(records)
        except OSError as exc:
            if is_disk_full(exc):
                raise disk_full_error(self.root, exc) from exc
            raise HybridcoreError(
                f"could not write artifact records under {self.root}: {exc.strerror}.",
                klass=ExitClass.CONFIG,
                rule="record_write_failed",
                remediation="Make --workdir writable (and its artifacts/ a directory) and "
                "check free disk space; the result lists what was not recorded.",
            ) from exc

    def _append(self, records: Iterable[ArtifactRecord]) -> list[Path]:
        grouped: dict[str, list[ArtifactRecord]] = {}
        for record in records:
            grouped.setdefault(record.build, []).append(record)
        written = []
        for build, new in grouped.items():
            path = self.path_for(build)
            path.parent.mkdir(parents=True, exist_ok=True)  # not a directory: exit 1, not 3
            locked_update(
                path, lock=self.layout.lock_file(path), update=partial(self._with, build, new)
            )
            written.append(path)
        return written

    def _with(self, build: str, new: list[ArtifactRecord]) -> dict[str, Any]:
        """The build's record file with `new` after the records it holds now."""
        return {
            "schema_version": RECORD_SCHEMA_VERSION,
            "build": build,
            "records": [r.model_dump(mode="json") for r in [*self.load(build), *new]],
        }

    def _read(self, path: Path) -> tuple[str | None, list[ArtifactRecord]]:
        found = read_json_state(
            path, _record_file, what="artifact record file", rule="record_unreadable"
        )
        return found or (None, [])


def _record_file(data: Any) -> tuple[str | None, list[ArtifactRecord]]:
    """The build name and records of a record file's JSON; ValueError for another shape."""
    records = data.get("records", []) if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise ValueError("is not an object with a `records` list")
    build = data.get("build")
    return build if isinstance(build, str) else None, [
        ArtifactRecord.model_validate(item) for item in records
    ]


def import_manifest(
    file: Path, *, workdir: Path | None = None, write: bool = False
) -> list[ArtifactRecord]:
    """Records for every entry of an existing Packer manifest; with `write`, stored in
    ``<workdir>/artifacts/`` (history kept), so old builds join the registry."""
    try:
        manifest = json.loads(read_input_text(file, what="manifest file"))
    except ValueError as exc:
        raise HybridcoreError(
            f"manifest file '{file}' is not readable JSON: {exc}.",
            klass=ExitClass.CONFIG,
            rule="invalid_manifest",
            remediation="Pass the JSON file written by Packer's `manifest` post-processor.",
        ) from exc
    if not isinstance(manifest, Mapping):
        raise HybridcoreError(
            f"manifest file '{file}' is not a Packer manifest (not a JSON object).",
            klass=ExitClass.CONFIG,
            rule="invalid_manifest",
            remediation="Pass the JSON file written by Packer's `manifest` post-processor.",
        )
    provenance = Provenance(
        command_id=None,
        source="import",
        git_sha=None,
        git_dirty=None,
        packer_version=None,
        packer_run_uuid=None,
        inputs_digest=None,
        started_at=None,
        finished_at=None,
    )
    records = records_from_manifest(manifest, provenance)
    if write:
        ArtifactRegistry(workdir or Path.cwd()).append(records)
    return records
