"""Alembic environment: always run programmatically, on the connection the tool passes
in ``config.attributes["connection"]`` (inside its transaction and lock)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `hybridcore-packer registry migrate`")
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
