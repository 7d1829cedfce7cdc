"""Attempts: every build a runner started, and how it ended, for the gate to name.

Revision ID: 0002_attempts
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_attempts"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("build", sa.String(255), nullable=False),
        sa.Column("command_id", sa.String(64), nullable=False),
        sa.Column("runner", sa.Text, nullable=False),
        sa.Column("inputs_digest", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("classification", sa.String(16)),
        sa.Column("rule", sa.String(64)),
        sa.Column("version_id", sa.String(32), sa.ForeignKey("versions.id")),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("finished_at", sa.String(32)),
    )
    op.create_index("ix_attempts_build_started", "attempts", ["build", "started_at"])


def downgrade() -> None:
    op.drop_table("attempts")
