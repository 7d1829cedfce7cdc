"""The registry's tables (SQLAlchemy Core) and the schema revision this code speaks.

The tables are created and changed only by the Alembic migrations shipped in
``migrations/``; this module mirrors their head for the queries. A database at
a revision this code does not know was migrated by a newer tool.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "KNOWN_REVISIONS",
    "SCHEMA_REVISION",
    "alembic_version",
    "artifacts",
    "attempts",
    "builds",
    "channel_events",
    "channels",
    "images",
    "metadata",
    "parents",
    "versions",
]

# Oldest first; the last one is the head of migrations/versions.
KNOWN_REVISIONS: tuple[str, ...] = ("0001_initial", "0002_attempts")
SCHEMA_REVISION = KNOWN_REVISIONS[-1]

metadata = MetaData()

# Alembic's own bookkeeping table, as Alembic creates it (kept out of `metadata`).
alembic_version = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), primary_key=True),
)

builds = Table(
    "builds",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("build", String(255), ForeignKey("builds.name"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("inputs_digest", String(64), index=True),
    Column("inputs_manifest", Text),
    Column("labels", Text, nullable=False),
    Column("command_id", String(64)),
    Column("git_sha", String(64)),
    Column("git_dirty", Boolean),
    Column("packer_version", String(64)),
    Column("packer_run_uuid", String(64)),
    Column("started_at", String(32)),
    Column("finished_at", String(32)),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    Column("revoked_reason", Text),
    Column("revoked_via", String(32)),
    Column("revoked_by", String(255)),
    UniqueConstraint("build", "number", name="uq_versions_build_number"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_id", String(32), ForeignKey("versions.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("record_id", String(64), nullable=False, unique=True),
    Column("platform", String(32), nullable=False),
    Column("artifact_id", Text),
    Column("record", Text, nullable=False),
)

images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_id", String(32), ForeignKey("versions.id"), nullable=False, index=True),
    Column("artifact", Integer, ForeignKey("artifacts.id"), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("region", String(255)),
    Column("image_id", Text, nullable=False, index=True),
)

parents = Table(
    "parents",
    metadata,
    Column("child_id", String(32), ForeignKey("versions.id"), primary_key=True),
    Column("parent_id", String(32), ForeignKey("versions.id"), primary_key=True, index=True),
    Column("image_id", Text, nullable=False),
)

channels = Table(
    "channels",
    metadata,
    Column("build", String(255), ForeignKey("builds.name"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("version_id", String(32), ForeignKey("versions.id"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("managed", Boolean, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

channel_events = Table(
    "channel_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("build", String(255), nullable=False),
    Column("channel", String(255), nullable=False),
    Column("version_id", String(32), ForeignKey("versions.id"), nullable=False),
    Column("previous_id", String(32)),
    Column("action", String(16), nullable=False),
    Column("actor", String(255)),
    Column("at", String(32), nullable=False),
    Index("ix_channel_events_build_channel", "build", "channel"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("build", String(255), nullable=False),
    Column("command_id", String(64), nullable=False),
    Column("runner", Text, nullable=False),
    Column("inputs_digest", String(64)),
    Column("status", String(16), nullable=False),
    Column("classification", String(16)),
    Column("rule", String(64)),
    Column("version_id", String(32), ForeignKey("versions.id")),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32)),
    Index("ix_attempts_build_started", "build", "started_at"),
)
