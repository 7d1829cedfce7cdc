"""Versions: register one per successful build, read them back, resolve references.

A reference is a version ID (or a unique prefix of at least 6 characters),
``BUILD@N``, or, where the build is known, ``N`` / ``vN``. Numbers are handed
out per build under a row lock on the build, so concurrent registrations of one
build never get the same number and never lose a version.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from hybridcore.packer.base.artifact_record import ArtifactRecord
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.inputs_manifest import HashManifest
from hybridcore.packer.store.registry.models import (
    ParentLink,
    RegistryVersion,
    Revocation,
    VersionImage,
)
from hybridcore.packer.store.registry.schema import artifacts, builds, images, parents, versions

__all__ = [
    "NewVersion",
    "baseline_version",
    "insert_version",
    "list_versions",
    "load_version",
    "new_version_id",
    "resolve_version",
]


@dataclass(frozen=True)
class NewVersion:
    """What a successful build (or an import) hands the registry."""

    build: str
    source: Literal["build", "import"]
    records: Sequence[ArtifactRecord]
    inputs: HashManifest | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    command_id: str | None = None
    git_sha: str | None = None
    git_dirty: bool | None = None
    packer_version: str | None = None
    packer_run_uuid: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    candidates: frozenset[str] = frozenset()  # strings of its inputs: maybe parent image IDs


def new_version_id() -> str:
    """Sortable by creation time (milliseconds), unique by 48 random bits."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(6)}"


def _upsert_build(connection: Connection, build: str) -> None:
    # each dialect imported when used: PostgreSQL's costs an SQLite user 25 ms a command
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(builds).values(name=build, last_number=0)
        connection.execute(pg.on_conflict_do_nothing(index_elements=["name"]))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(builds).values(name=build, last_number=0)
        connection.execute(lite.on_conflict_do_nothing(index_elements=["name"]))


def _claim_number(connection: Connection, build: str) -> int:
    """The next number of `build`; the UPDATE's row lock holds other writers until commit."""
    _upsert_build(connection, build)
    connection.execute(
        update(builds).where(builds.c.name == build).values(last_number=builds.c.last_number + 1)
    )
    return int(
        connection.execute(select(builds.c.last_number).where(builds.c.name == build)).one()[0]
    )


def insert_version(connection: Connection, new: NewVersion, *, now: str) -> tuple[str, int]:
    """Store `new` with its artifacts and images; returns (version ID, number)."""
    number = _claim_number(connection, new.build)
    version_id = new_version_id()
    inputs = (
        new.inputs.model_copy(update={"previous": None, "seal": None}).model_dump_json()
        if new.inputs is not None
        else None
    )
    connection.execute(
        insert(versions).values(
            id=version_id,
            build=new.build,
            number=number,
            source=new.source,
            inputs_digest=new.inputs.digest if new.inputs is not None else None,
            inputs_manifest=inputs,
            labels=json.dumps(dict(sorted(new.labels.items()))),
            command_id=new.command_id,
            git_sha=new.git_sha,
            git_dirty=new.git_dirty,
            packer_version=new.packer_version,
            packer_run_uuid=new.packer_run_uuid,
            started_at=new.started_at,
            finished_at=new.finished_at,
            created_at=now,
        )
    )
    for position, record in enumerate(new.records):
        row = connection.execute(
            insert(artifacts)
            .values(
                version_id=version_id,
                position=position,
                record_id=record.record_id,
                platform=record.platform,
                artifact_id=record.artifact_id,
                record=record.model_dump_json(),
            )
            .returning(artifacts.c.id)
        ).one()
        for image in record.images:
            connection.execute(
                insert(images).values(
                    version_id=version_id,
                    artifact=row[0],
                    platform=record.platform,
                    region=image.region,
                    image_id=image.id,
                )
            )
    return version_id, number


def _revocation(row: RowMapping) -> Revocation | None:
    if row["revoked_at"] is None:
        return None
    return Revocation(
        at=row["revoked_at"],
        reason=row["revoked_reason"] or "",
        by=row["revoked_by"],
        via=row["revoked_via"],
    )


def _hydrate(connection: Connection, rows: Sequence[RowMapping]) -> list[RegistryVersion]:
    """Models for version rows, with their artifacts, images and parents (3 queries)."""
    ids = [row["id"] for row in rows]
    if not ids:
        return []
    records: dict[str, list[ArtifactRecord]] = {i: [] for i in ids}
    found_images: dict[str, list[VersionImage]] = {i: [] for i in ids}
    links: dict[str, list[ParentLink]] = {i: [] for i in ids}
    for artifact in connection.execute(
        select(artifacts.c.version_id, artifacts.c.record)
        .where(artifacts.c.version_id.in_(ids))
        .order_by(artifacts.c.version_id, artifacts.c.position)
    ):
        records[artifact.version_id].append(ArtifactRecord.model_validate_json(artifact.record))
    for image in connection.execute(
        select(images, artifacts.c.artifact_id)
        .join(artifacts, artifacts.c.id == images.c.artifact)
        .where(images.c.version_id.in_(ids))
        .order_by(images.c.id)
    ):
        found_images[image.version_id].append(
            VersionImage(
                platform=image.platform,
                region=image.region,
                image_id=image.image_id,
                artifact_id=image.artifact_id,
            )
        )
    for link in connection.execute(
        select(
            parents.c.child_id,
            parents.c.image_id,
            versions.c.id,
            versions.c.build,
            versions.c.number,
        )
        .join(versions, versions.c.id == parents.c.parent_id)
        .where(parents.c.child_id.in_(ids))
        .order_by(versions.c.build, versions.c.number)
    ):
        links[link.child_id].append(
            ParentLink(
                version_id=link.id, build=link.build, number=link.number, image_id=link.image_id
            )
        )
    return [
        RegistryVersion(
            version_id=row["id"],
            build=row["build"],
            number=row["number"],
            source=row["source"],
            inputs_digest=row["inputs_digest"],
            inputs=(
                HashManifest.model_validate_json(row["inputs_manifest"])
                if row["inputs_manifest"]
                else None
            ),
            labels=json.loads(row["labels"]),
            command_id=row["command_id"],
            git_sha=row["git_sha"],
            git_dirty=row["git_dirty"],
            packer_version=row["packer_version"],
            packer_run_uuid=row["packer_run_uuid"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            created_at=row["created_at"],
            revoked=_revocation(row),
            images=found_images[row["id"]],
            records=records[row["id"]],
            parents=links[row["id"]],
        )
        for row in rows
    ]


def load_version(connection: Connection, version_id: str) -> RegistryVersion:
    rows = connection.execute(select(versions).where(versions.c.id == version_id)).mappings().all()
    return _hydrate(connection, rows)[0]


def list_versions(
    connection: Connection, build: str, *, limit: int | None = None
) -> list[RegistryVersion]:
    """Versions of `build`, newest first."""
    query = select(versions).where(versions.c.build == build).order_by(versions.c.number.desc())
    if limit is not None:
        query = query.limit(limit)
    return _hydrate(connection, connection.execute(query).mappings().all())


def baseline_version(connection: Connection, build: str) -> RegistryVersion | None:
    """The newest version of `build` built by this tool (it has an inputs manifest)."""
    query = (
        select(versions)
        .where(and_(versions.c.build == build, versions.c.inputs_manifest.is_not(None)))
        .order_by(versions.c.number.desc())
        .limit(1)
    )
    found = _hydrate(connection, connection.execute(query).mappings().all())
    return found[0] if found else None


def _unknown(ref: str, build: str | None) -> HybridcoreError:
    scope = f" of build {build!r}" if build else ""
    return HybridcoreError(
        f"no registry version{scope} matches {ref!r}.",
        klass=ExitClass.CONFIG,
        rule="version_not_found",
        remediation="List versions with `hybridcore-packer registry versions BUILD`; refer to "
        "one by its ID, BUILD@N, or N where the build is given.",
    )


def resolve_version(connection: Connection, ref: str, *, build: str | None = None) -> str:
    """The version ID `ref` names (see the module docstring)."""
    ref = ref.strip()
    number_text = ref.removeprefix("v") if build else None
    name, at, suffix = ref.rpartition("@")
    query: Any
    if number_text is not None and number_text.isdigit():
        query = select(versions.c.id).where(
            and_(versions.c.build == build, versions.c.number == int(number_text))
        )
    elif at and suffix.removeprefix("v").isdigit():
        if build and name != build:
            raise _unknown(ref, build)
        query = select(versions.c.id).where(
            and_(versions.c.build == name, versions.c.number == int(suffix.removeprefix("v")))
        )
    elif len(ref) >= 6 and all(c in "0123456789abcdef" for c in ref.lower()):
        query = select(versions.c.id).where(versions.c.id.startswith(ref.lower(), autoescape=True))
        if build:
            query = query.where(versions.c.build == build)
    else:
        raise _unknown(ref, build)
    found = [str(row[0]) for row in connection.execute(query.limit(2))]
    if not found:
        raise _unknown(ref, build)
    if len(found) > 1:
        raise HybridcoreError(
            f"version reference {ref!r} is ambiguous: it starts more than one version ID.",
            klass=ExitClass.CONFIG,
            rule="version_ambiguous",
            remediation="Give more characters of the ID, or BUILD@N.",
        )
    return found[0]


def version_rows(connection: Connection, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    """Plain rows by ID (no artifacts), for checks that need only the version's state."""
    if not ids:
        return {}
    rows = connection.execute(select(versions).where(versions.c.id.in_(list(ids)))).mappings()
    return {row["id"]: dict(row) for row in rows}
