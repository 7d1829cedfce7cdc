"""Which registry a command uses, from --registry, the environment or the workdir."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.store.registry.target import resolve_target


def test_the_default_is_the_workdirs_embedded_sqlite_file(tmp_path: Path) -> None:
    target = resolve_target(None, workdir=tmp_path, environ={})
    assert target.backend == "sqlite"
    assert target.url.database == str(tmp_path / "state" / "registry.db")


@pytest.mark.parametrize(
    ("text", "host", "query"),
    [
        ("postgresql://ci@db.internal:5432/registry", "db.internal", {}),
        ("postgres://ci@db.internal/registry", "db.internal", {}),
        ("postgresql://ci@/registry?host=/run/postgresql", None, {"host": "/run/postgresql"}),
    ],
)
def test_libpq_urls_map_to_psycopg_3(text: str, host: str | None, query: dict[str, str]) -> None:
    target = resolve_target(text, workdir=Path(), environ={})
    assert target.backend == "postgresql"
    assert target.url.drivername == "postgresql+psycopg"
    assert (target.url.host, dict(target.url.query), target.url.database) == (
        host,
        query,
        "registry",
    )


def test_the_environment_url_is_used_and_the_flag_wins(tmp_path: Path) -> None:
    environ = {"HYBRIDCORE_REGISTRY_URL": "postgresql://a@h/one"}
    assert resolve_target(None, workdir=tmp_path, environ=environ).url.database == "one"
    flag = resolve_target("postgresql://a@h/two", workdir=tmp_path, environ=environ)
    assert flag.url.database == "two"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("mysql://a@h/db", "registry_url_invalid"),
        ("postgresql://a@h", "registry_url_invalid"),
        ("sqlite://", "registry_url_invalid"),
        ("not a url", "registry_url_invalid"),
    ],
)
def test_unusable_urls_are_config_errors(text: str, rule: str) -> None:
    with pytest.raises(HybridcoreError) as caught:
        resolve_target(text, workdir=Path(), environ={})
    assert (caught.value.exit_code, caught.value.rule) == (1, rule)


def test_a_password_is_taken_from_the_environment_never_the_flag(tmp_path: Path) -> None:
    with pytest.raises(HybridcoreError) as caught:
        resolve_target("postgresql://a:s3cret-pw@h/db", workdir=tmp_path, environ={})
    assert (caught.value.exit_code, caught.value.rule) == (3, "secret_on_command_line")
    assert "s3cret-pw" not in caught.value.message + caught.value.remediation

    target = resolve_target(
        "postgresql://a@h/db", workdir=tmp_path, environ={"HYBRIDCORE_REGISTRY_PASSWORD": "pw-1"}
    )
    assert (target.url.password, target.secrets) == ("pw-1", ("pw-1",))
    assert "pw-1" not in target.shown and "***" in target.shown
    missing = {"HYBRIDCORE_REGISTRY_PASSWORD_FILE": str(tmp_path / "absent")}
    with pytest.raises(HybridcoreError) as caught:
        resolve_target("postgresql://a@h/db", workdir=tmp_path, environ=missing)
    assert caught.value.rule == "registry_password_file"


def test_a_question_to_a_missing_embedded_registry_creates_nothing(tmp_path: Path) -> None:
    from hybridcore import packer

    report = packer.registry_lookup({"build": "b"}, workdir=tmp_path, environ={})
    assert (report.exit_code, report.rule) == (1, "registry_missing")
    assert not (tmp_path / "state").exists()
