"""A private PostgreSQL server for the registry tests: Debian's server binaries,
initdb in a temporary directory, a Unix socket there plus a random loopback port
(password authentication on TCP, trust on the socket), stopped after the session.

PostgreSQL refuses to run as root: as root, the server runs as the `postgres`
user (runuser), in a directory it owns. Needs scripts/install-postgres.sh.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "postgres_server", "running_server"]


def _bin_dir() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    found = [p for p in found if (p / "initdb").is_file() and (p / "pg_ctl").is_file()]
    assert found, "the registry tests need PostgreSQL's server: run scripts/install-postgres.sh"
    return found[-1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A running private server; `url` builds libpq-style URLs for its databases."""

    SUPERUSER = "postgres"

    def __init__(self, root: Path, bin_dir: Path, as_user: str | None) -> None:
        self.root = root
        self.bin_dir = bin_dir
        self.as_user = as_user
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self.port = _free_port()
        self._names = itertools.count(1)

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", self.as_user, "--"] if self.as_user else []
        proc = subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, check=False, timeout=120
        )
        assert proc.returncode == 0, f"{argv[0]} failed: {proc.stdout}\n{proc.stderr}"

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.socket_dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str, user: str = SUPERUSER) -> str:
        """A libpq-style URL over the Unix socket."""
        return f"postgresql://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, database: str, user: str) -> str:
        """A URL over the loopback port (password authentication); no password in it."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def sql(self, *statements: str, database: str = "postgres") -> None:
        """Run statements as the superuser, each in autocommit."""
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=self.SUPERUSER,
            dbname=database,
            autocommit=True,
        ) as connection:
            for statement in statements:
                connection.execute(statement.encode())

    def create_database(self) -> str:
        name = f"registry_{os.getpid()}_{next(self._names)}"
        self.sql(f'CREATE DATABASE "{name}"')
        return name


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL server, stopped and removed when the block ends."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="hybridcore-pg-"))
    as_user = None
    if os.geteuid() == 0:
        as_user = "postgres"
        entry = pwd.getpwnam(as_user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    root.chmod(0o755)
    server = PostgresServer(root, bin_dir, as_user)
    if as_user:
        for directory in (server.socket_dir,):
            directory.mkdir()
            os.chown(directory, pwd.getpwnam(as_user).pw_uid, pwd.getpwnam(as_user).pw_gid)
    else:
        server.socket_dir.mkdir()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the whole test session."""
    with running_server() as server:
        yield server
