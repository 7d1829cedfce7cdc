"""The registry URL's password is a secret, and roles: CI writes, consumers only read.

Against the private PostgreSQL server, over TCP with password authentication."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hybridcore.packer.store.registry.target import resolve_target
from tests.conftest import PostgresServer

WRITER_PASSWORD = "wr1ter-Pa55-7f3c9e"
READER_PASSWORD = "rEader-Pa55-1b8d2a"
ROLES = """
CREATE ROLE {writer} LOGIN PASSWORD '{writer_password}';
CREATE ROLE {reader} LOGIN PASSWORD '{reader_password}';
GRANT CONNECT ON DATABASE "{database}" TO {writer}, {reader};
GRANT USAGE ON SCHEMA public TO {writer}, {reader};
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {writer};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {writer};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader};
"""
GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "manifests" / "azure-arm.json"


def _cli(
    tmp_path: Path, *argv: str, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HYBRIDCORE_", "PG"))}
    return subprocess.run(
        [sys.executable, "-m", "hybridcore.cli", "--workdir", str(tmp_path), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**clean, **env},
    )


@pytest.fixture
def roles(postgres_server: PostgresServer, tmp_path: Path) -> tuple[str, str, str]:
    """A migrated registry with one imported version on `production`; the writer and
    reader roles of docs/registry.md. Returns (database, writer, reader)."""
    database = postgres_server.create_database()
    owner = {"HYBRIDCORE_REGISTRY_URL": postgres_server.url(database)}
    assert _cli(tmp_path, "registry", "migrate", env=owner).returncode == 0
    imported = _cli(tmp_path, "manifest", "import", "--write", str(GOLDEN), env=owner)
    assert imported.returncode == 0, imported.stderr
    assigned = _cli(
        tmp_path,
        "registry",
        "channel",
        "set",
        "azure-arm.ubuntu-2204",
        "production",
        "2",
        env=owner,
    )
    assert assigned.returncode == 0, assigned.stderr
    writer, reader = f"ci_{database}", f"reader_{database}"
    postgres_server.sql(
        *ROLES.format(
            writer=writer,
            reader=reader,
            writer_password=WRITER_PASSWORD,
            reader_password=READER_PASSWORD,
            database=database,
        )
        .strip()
        .split(";\n"),
        database=database,
    )
    return database, writer, reader


def test_a_password_on_the_command_line_is_refused_with_exit_3(tmp_path: Path) -> None:
    url = f"postgresql://ci:{WRITER_PASSWORD}@127.0.0.1:5432/registry"
    for argv in (["registry", "versions", "b"], ["build", "nothing-here"], ["fmt", "x"]):
        proc = _cli(tmp_path, "--registry", url, *argv, env={})
        assert proc.returncode == 3, proc.stderr
        assert "refusing --registry with a password" in proc.stderr
        assert WRITER_PASSWORD not in proc.stderr + proc.stdout
        assert "Traceback" not in proc.stderr


def test_the_password_comes_from_the_environment_or_a_file_and_is_never_shown(
    postgres_server: PostgresServer, roles: tuple[str, str, str], tmp_path: Path
) -> None:
    database, writer, _ = roles
    url = postgres_server.tcp_url(database, writer)
    with_password = url.replace(f"{writer}@", f"{writer}:{WRITER_PASSWORD}@")
    secret_file = tmp_path / "registry-password"
    secret_file.write_text(WRITER_PASSWORD + "\n")
    for env in (
        {"HYBRIDCORE_REGISTRY_URL": with_password},
        {"HYBRIDCORE_REGISTRY_URL": url, "HYBRIDCORE_REGISTRY_PASSWORD": WRITER_PASSWORD},
        {"HYBRIDCORE_REGISTRY_URL": url, "HYBRIDCORE_REGISTRY_PASSWORD_FILE": str(secret_file)},
        {"HYBRIDCORE_REGISTRY_URL": url, "PGPASSWORD": WRITER_PASSWORD},
    ):
        proc = _cli(tmp_path, "--json", "registry", "versions", "azure-arm.ubuntu-2204", env=env)
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        shown = f"postgresql+psycopg://{writer}{{}}@127.0.0.1:{postgres_server.port}/{database}"
        masked = ":***" if "PGPASSWORD" not in env else ""  # libpq reads PGPASSWORD itself
        assert report["registry"] == shown.format(masked)
        assert WRITER_PASSWORD not in proc.stdout + proc.stderr

    wrong = _cli(
        tmp_path,
        "--json",
        "registry",
        "versions",
        "azure-arm.ubuntu-2204",
        env={
            "HYBRIDCORE_REGISTRY_URL": url.replace(f"{writer}@", f"{writer}:not-{WRITER_PASSWORD}@")
        },
    )
    assert wrong.returncode == 3
    report = json.loads(wrong.stdout)
    assert (report["rule"], report["classification"]) == ("registry_auth_failed", "security")
    assert WRITER_PASSWORD not in wrong.stdout + wrong.stderr
    target = resolve_target(
        None, workdir=tmp_path, environ={"HYBRIDCORE_REGISTRY_URL": with_password}
    )
    assert target.secrets == (WRITER_PASSWORD,) and WRITER_PASSWORD not in target.shown


def test_the_reader_role_looks_up_but_cannot_register_assign_or_revoke(
    postgres_server: PostgresServer, roles: tuple[str, str, str], tmp_path: Path
) -> None:
    database, writer, reader = roles
    as_reader = {
        "HYBRIDCORE_REGISTRY_URL": postgres_server.tcp_url(database, reader),
        "HYBRIDCORE_REGISTRY_PASSWORD": READER_PASSWORD,
    }
    query = json.dumps({"build": "azure-arm.ubuntu-2204", "channel": "production"})
    looked = _cli(tmp_path, "registry", "lookup", env=as_reader, stdin=query)
    assert looked.returncode == 0, looked.stderr
    assert json.loads(looked.stdout)["image_id"].endswith("golden-ubuntu-2204-20240502")

    refused = {
        "register": ["manifest", "import", "--write", str(GOLDEN.with_name("amazon-ebs.json"))],
        "assign": ["registry", "channel", "set", "azure-arm.ubuntu-2204", "production", "1"],
        "revoke": ["registry", "revoke", "azure-arm.ubuntu-2204@2", "--reason", "test"],
    }
    for what, argv in refused.items():
        proc = _cli(tmp_path, *argv, env=as_reader)
        assert proc.returncode == 3, (what, proc.stderr)
        assert "denied this change" in proc.stderr and "writer role" in proc.stderr, what
        assert "Traceback" not in proc.stderr
        assert READER_PASSWORD not in proc.stderr

    # a build is refused before Packer starts, not after it built the image
    template = tmp_path / "t" / "main.pkr.hcl"
    template.parent.mkdir()
    template.write_text(
        'source "null" "a" {\n  communicator = "none"\n}\n'
        'build {\n  sources = ["source.null.a"]\n}\n'
    )
    built = _cli(tmp_path, "--json", "build", str(template.parent), env=as_reader)
    assert built.returncode == 3, built.stderr
    result = json.loads(built.stdout)
    assert (result["rule"], result["runs"]) == ("registry_permission_denied", [])

    as_writer = {
        "HYBRIDCORE_REGISTRY_URL": postgres_server.tcp_url(database, writer),
        "HYBRIDCORE_REGISTRY_PASSWORD": WRITER_PASSWORD,
    }
    assigned = _cli(tmp_path, *refused["assign"], env=as_writer)
    assert assigned.returncode == 0, assigned.stderr
    migrate = _cli(tmp_path, "registry", "migrate", env=as_writer)
    assert migrate.returncode == 0, migrate.stderr  # nothing to do: no DDL needed
