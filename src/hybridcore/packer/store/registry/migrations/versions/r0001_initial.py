"""The first registry schema: builds, versions, artifacts, images, parents, channels.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "builds",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("last_number", sa.Integer, nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("build", sa.String(255), sa.ForeignKey("builds.name"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("inputs_digest", sa.String(64)),
        sa.Column("inputs_manifest", sa.Text),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("command_id", sa.String(64)),
        sa.Column("git_sha", sa.String(64)),
        sa.Column("git_dirty", sa.Boolean),
        sa.Column("packer_version", sa.String(64)),
        sa.Column("packer_run_uuid", sa.String(64)),
        sa.Column("started_at", sa.String(32)),
        sa.Column("finished_at", sa.String(32)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32)),
        sa.Column("revoked_reason", sa.Text),
        sa.Column("revoked_via", sa.String(32)),
        sa.Column("revoked_by", sa.String(255)),
        sa.UniqueConstraint("build", "number", name="uq_versions_build_number"),
    )
    op.create_index("ix_versions_inputs_digest", "versions", ["inputs_digest"])
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.String(32), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False, unique=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("artifact_id", sa.Text),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_index("ix_artifacts_version_id", "artifacts", ["version_id"])
    op.create_table(
        "images",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.String(32), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("artifact", sa.Integer, sa.ForeignKey("artifacts.id"), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("region", sa.String(255)),
        sa.Column("image_id", sa.Text, nullable=False),
    )
    op.create_index("ix_images_version_id", "images", ["version_id"])
    op.create_index("ix_images_image_id", "images", ["image_id"])
    op.create_table(
        "parents",
        sa.Column("child_id", sa.String(32), sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("parent_id", sa.String(32), sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("image_id", sa.Text, nullable=False),
    )
    op.create_index("ix_parents_parent_id", "parents", ["parent_id"])
    op.create_table(
        "channels",
        sa.Column("build", sa.String(255), sa.ForeignKey("builds.name"), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("version_id", sa.String(32), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("managed", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "channel_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("build", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(255), nullable=False),
        sa.Column("version_id", sa.String(32), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("previous_id", sa.String(32)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(255)),
        sa.Column("at", sa.String(32), nullable=False),
    )
    op.create_index("ix_channel_events_build_channel", "channel_events", ["build", "channel"])


def downgrade() -> None:
    for table in ("channel_events", "channels", "parents", "images", "artifacts", "versions"):
        op.drop_table(table)
    op.drop_table("builds")
