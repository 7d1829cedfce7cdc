"""Credentials written down in templates or var files are refused with exit 3."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hybridcore import packer
from tests.conftest import FakePacker, write_template

TEMPLATE = """
variable "db_password" {
  type      = string
  default   = env("DB_PASSWORD")
  sensitive = true
}
variable "region" {
  type    = string
  default = "eu"
}
source "null" "a" {
  communicator = "none"
}
build {
  sources = ["source.null.a"]
}
"""


@pytest.fixture
def fake(fake_packer: Callable[..., FakePacker]) -> FakePacker:
    return fake_packer()


def _build(tmp_path: Path, fake: FakePacker, *var_files: str) -> packer.Result:
    return packer.build(
        "t",
        var_files=list(var_files),
        packer=str(fake.path),
        workdir=tmp_path / "wd",
        cwd=tmp_path,
    )


def test_a_sensitive_default_in_plain_text_is_refused(tmp_path: Path, fake: FakePacker) -> None:
    write_template(tmp_path / "t", TEMPLATE.replace('env("DB_PASSWORD")', '"hunter2"'))
    result = _build(tmp_path, fake)
    assert (result.exit_code, result.rule) == (3, "plaintext_credential")
    assert "db_password" in result.message and "hunter2" not in result.to_json()
    assert fake.calls == []


@pytest.mark.parametrize(
    ("mode", "rule"), [(0o600, "plaintext_credential"), (0o644, "var_file_readable")]
)
def test_a_credential_in_a_var_file_is_refused(
    tmp_path: Path, fake: FakePacker, mode: int, rule: str
) -> None:
    write_template(tmp_path / "t", TEMPLATE)
    var_file = tmp_path / "prod.pkrvars.hcl"
    var_file.write_text('region = "us"\ndb_password = "hunter2"\n')
    var_file.chmod(mode)
    result = _build(tmp_path, fake, "prod.pkrvars.hcl")
    assert (result.exit_code, result.rule) == (3, rule)
    assert "prod.pkrvars.hcl" in result.message and "hunter2" not in result.to_json()
    assert fake.calls == []


def test_a_credential_named_value_in_an_auto_var_file_is_refused(
    tmp_path: Path, fake: FakePacker
) -> None:
    write_template(tmp_path / "t", TEMPLATE)
    auto = tmp_path / "t" / "local.auto.pkrvars.hcl"
    auto.write_text('api_token = "abc"\n')
    auto.chmod(0o600)
    result = _build(tmp_path, fake)
    assert (result.exit_code, result.rule) == (3, "plaintext_credential")


def test_ordinary_var_files_pass(tmp_path: Path, fake: FakePacker) -> None:
    write_template(tmp_path / "t", TEMPLATE)
    (tmp_path / "ok.pkrvars.hcl").write_text('region = "us"\nssh_private_key_file = "k"\n')
    assert _build(tmp_path, fake, "ok.pkrvars.hcl").exit_code == 0
