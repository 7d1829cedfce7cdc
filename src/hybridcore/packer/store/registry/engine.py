"""Engines for the registry: SQLite in WAL mode with a busy timeout, or PostgreSQL
through psycopg 3; and the schema check every command makes before it reads.

SQLite write transactions start with ``BEGIN IMMEDIATE``: the write lock is taken
at the start, so two writers queue on the busy timeout instead of one failing
when it upgrades a read lock. Reads start a plain (deferred) ``BEGIN``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from filelock import FileLock
from sqlalchemy import create_engine, event, insert, inspect, text
from sqlalchemy.engine import Connection, Engine

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.registry.db_errors import registry_errors
from hybridcore.packer.store.registry.schema import (
    KNOWN_REVISIONS,
    SCHEMA_REVISION,
    alembic_version,
    metadata,
)
from hybridcore.packer.store.registry.target import RegistryTarget

__all__ = [
    "BUSY_TIMEOUT_S",
    "READ_ONLY",
    "engine_for",
    "ensure_schema",
    "migrate",
    "schema_revision",
]

BUSY_TIMEOUT_S = 60.0
READ_ONLY = "hybridcore_read_only"  # execution option: a read transaction
_MIGRATION_LOCK_KEY = 0x68796272  # "hybr": PostgreSQL advisory lock while migrating

_engines: dict[str, Engine] = {}
_checked: set[str] = set()
_lock = threading.Lock()


def _forget_parent_connections() -> None:
    """A forked child must not use its parent's pooled connections."""
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_parent_connections)


def _wal(cursor: Any) -> None:
    """Switch to WAL. The switch needs the file to itself and SQLite reports "locked" at
    once, without its busy handler, while another process is creating the same new file:
    wait for that one as the busy timeout would."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _sqlite_engine(target: RegistryTarget) -> Engine:
    path = Path(str(target.url.database))
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(target.url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the "begin" listener below starts transactions
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        read = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine


def engine_for(target: RegistryTarget) -> Engine:
    """One engine per database and process (connections are pooled on PostgreSQL)."""
    with _lock:
        engine = _engines.get(target.key)
        if engine is None:
            if target.backend == "sqlite":
                engine = _sqlite_engine(target)
            else:
                engine = create_engine(target.url, pool_size=4, max_overflow=4)
            _engines[target.key] = engine
        return engine


def schema_revision(connection: Connection) -> str | None:
    """The Alembic revision the database is at; None for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return str(rows[0][0]) if rows else None


def _newer(target: RegistryTarget, revision: str) -> HybridcoreError:
    return HybridcoreError(
        f"registry {target.shown} has schema revision {revision!r}, newer than this "
        f"hybridcore-packer knows (up to {SCHEMA_REVISION!r}).",
        klass=ExitClass.CONFIG,
        rule="registry_schema_newer",
        remediation="Upgrade hybridcore-packer to the version that migrated the registry; an "
        "older tool does not write to a schema it does not know.",
    )


def _upgrade(connection: Connection) -> None:
    from importlib import resources

    from alembic import command
    from alembic.config import Config

    config = Config()
    location = resources.files("hybridcore.packer.store.registry").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def migrate(target: RegistryTarget, *, quick: bool = False) -> tuple[str | None, str]:
    """Upgrade the schema to this tool's head, once, whoever else is migrating.
    With `quick`, an empty database gets the head tables directly (and Alembic's stamp):
    the same schema, without loading Alembic. Returns (revision before, revision after)."""
    engine = engine_for(target)
    with registry_errors(target):
        if target.backend == "sqlite":
            lock = FileLock(f"{target.url.database}.migrate.lock", timeout=BUSY_TIMEOUT_S)
            with lock, engine.begin() as connection:
                return _migrate_on(target, connection, quick=quick)
        with engine.begin() as connection:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
            return _migrate_on(target, connection, quick=quick)


def _migrate_on(
    target: RegistryTarget, connection: Connection, *, quick: bool
) -> tuple[str | None, str]:
    before = schema_revision(connection)
    if before is not None and before not in KNOWN_REVISIONS:
        raise _newer(target, before)
    if before is None and quick:
        metadata.create_all(connection)
        alembic_version.create(connection)
        connection.execute(insert(alembic_version).values(version_num=SCHEMA_REVISION))
    elif before != SCHEMA_REVISION:
        _upgrade(connection)
    return before, SCHEMA_REVISION


def ensure_schema(target: RegistryTarget) -> Engine:
    """The engine, once the schema is known to be this tool's. An empty database is
    created; an embedded one is upgraded; a shared one behind asks for `registry migrate`."""
    engine = engine_for(target)
    if target.key in _checked:
        return engine
    with (
        registry_errors(target),
        engine.connect().execution_options(**{READ_ONLY: True}) as conn,
        conn.begin(),
    ):
        revision = schema_revision(conn)
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise _newer(target, revision)
    if revision != SCHEMA_REVISION:
        if revision is not None and target.backend == "postgresql":
            raise HybridcoreError(
                f"registry {target.shown} has schema revision {revision!r}; this tool needs "
                f"{SCHEMA_REVISION!r}.",
                klass=ExitClass.CONFIG,
                rule="registry_schema_old",
                remediation="Run `hybridcore-packer registry migrate` once with the registry "
                "owner's role; shared registries are never migrated behind your back.",
            )
        migrate(target, quick=True)
    _checked.add(target.key)
    return engine
