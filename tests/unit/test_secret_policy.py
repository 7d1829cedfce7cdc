"""Secret policy: secrets reach Packer as environment variables only."""

from __future__ import annotations

import pytest

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.template.facts import TemplateInfo, Variable
from hybridcore.packer.template.secret_policy import (
    check_command_line_vars,
    check_weak_secrets,
    collect_secrets,
)
from hybridcore.redaction.engine import PLACEHOLDER


def _template(*variables: Variable, fallback: tuple[str, ...] = ()) -> TemplateInfo:
    return TemplateInfo(
        files=(), variables={v.name: v for v in variables}, fallback_secret_env=fallback
    )


TEMPLATE = _template(
    Variable("registry_token", sensitive=True, env_reads=("REG_TOKEN",)),
    Variable("ssh_user", sensitive=True),
    Variable("image_name", sensitive=False),
    Variable("region", sensitive=False, env_reads=("CLOUD_REGION",)),
)


@pytest.mark.parametrize(
    "name",
    [
        "db_password",
        "DB_PASSWD",
        "vsphere_password",
        "ssh_passphrase",
        "client_secret",
        "api_key",
        "apikey",
        "aws_access_key",
        "AWS_SECRET_ACCESS_KEY",
        "private_key",
        "github_token",
        "azure_credentials",
        "storage_sas_key",
        "connection_string",
    ],
)
def test_credential_like_names_are_refused(name: str) -> None:
    with pytest.raises(HybridcoreError) as caught:
        check_command_line_vars([name], None)
    error = caught.value
    assert (error.exit_code, error.rule) == (3, "secret_on_command_line")
    assert name in error.message
    assert "env" in error.remediation


def test_declared_sensitive_variables_are_refused_whatever_their_name() -> None:
    with pytest.raises(HybridcoreError) as caught:
        check_command_line_vars(["image_name", "ssh_user"], TEMPLATE)
    assert caught.value.exit_code == 3
    assert "ssh_user" in caught.value.message
    assert "sensitive" in caught.value.message


@pytest.mark.parametrize("name", ["image_name", "region", "vsphere_cluster", "enable_ansible"])
def test_ordinary_names_pass(name: str) -> None:
    check_command_line_vars([name], TEMPLATE)


def test_explicit_secret_env_must_be_set() -> None:
    with pytest.raises(HybridcoreError) as caught:
        collect_secrets(["MISSING_TOKEN"], [TEMPLATE], {"OTHER": "x"})
    error = caught.value
    assert (error.exit_code, error.rule) == (1, "secret_env_missing")
    assert "MISSING_TOKEN" in error.message


def test_explicit_secret_env_value_is_collected_and_redacted() -> None:
    found = collect_secrets(["DEPLOY_KEY"], [], {"DEPLOY_KEY": "k3y-value", "HOME": "/h"})
    assert found.env == {"DEPLOY_KEY": "k3y-value"}
    assert found.names == ["DEPLOY_KEY"]
    assert found.redactor("key=k3y-value") == f"key={PLACEHOLDER}"


def test_env_read_by_a_sensitive_template_variable_is_a_secret_when_set() -> None:
    environ = {"REG_TOKEN": "t0k3n", "CLOUD_REGION": "eu-west", "PKR_VAR_ssh_user": "root-ish"}
    found = collect_secrets([], [TEMPLATE], environ)
    assert found.env == {"REG_TOKEN": "t0k3n", "PKR_VAR_ssh_user": "root-ish"}
    assert found.redactor("t0k3n eu-west") == f"{PLACEHOLDER} eu-west"


def test_unset_template_secret_is_silently_absent() -> None:
    found = collect_secrets([], [TEMPLATE], {})
    assert found.env == {}
    assert not found.redactor.active


def test_fallback_env_names_of_an_unparsable_template_are_secrets() -> None:
    broken = _template(fallback=("DEPLOY_TOKEN",))
    found = collect_secrets([], [broken], {"DEPLOY_TOKEN": "d3ploy"})
    assert found.env == {"DEPLOY_TOKEN": "d3ploy"}
    assert found.redactor.contains_secret("x d3ploy y")


def test_names_are_sorted_and_never_values() -> None:
    found = collect_secrets(["ZED", "ALPHA"], [], {"ZED": "z-value", "ALPHA": "a-value"})
    assert found.names == ["ALPHA", "ZED"]
    assert "z-value" not in found.names


@pytest.mark.parametrize(
    "name", ["ssh_private_key_file", "token_ttl", "secret_name", "api_key_path", "password_length"]
)
def test_names_about_a_secret_are_not_refused(name: str) -> None:
    check_command_line_vars([name], None)  # a path, a name or a setting: no exception


def test_inherited_credential_variables_are_redacted_and_named_never_valued() -> None:
    environ = {
        "GITHUB_TOKEN": "ghp_inherited0123456789",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
        "ARM_CLIENT_SECRET": "arm~secret.value",
        "MY_SERVICE_PASSWORD": "svc-pass-1234",
        "PKR_VAR_db_password": "pkr-var-pass-9",
        "SSH_KEY_FILE": "/home/me/.ssh/id",  # a path about a secret, not one
        "HOME": "/home/me",
    }
    found = collect_secrets([], [TEMPLATE], environ)
    assert found.inherited_names == [
        "ARM_CLIENT_SECRET",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "MY_SERVICE_PASSWORD",
        "PKR_VAR_db_password",
    ]
    assert found.env == {}  # declared secrets only: inherited ones are not forced on Packer
    for name in found.inherited_names:
        assert found.redactor(f"x {environ[name]} y") == f"x {PLACEHOLDER} y"
    assert found.masked_names == set(found.inherited_names)
    assert "/home/me" in found.redactor("/home/me/.ssh/id")


@pytest.mark.parametrize(
    "value", ["0", "ab", "null", " true ", "Packer", "123456", "bench", "null.bench", "ench"]
)
def test_a_declared_secret_too_weak_to_mask_is_refused_by_name(value: str) -> None:
    template = _template(Variable("tok", sensitive=True, env_reads=("TOK",)))
    template = TemplateInfo(
        files=(), variables=template.variables, builds=("null.bench",), fallback_secret_env=()
    )
    found = collect_secrets(["DEPLOY"], [template], {"DEPLOY": value, "TOK": "strong-token-1"})
    assert found.refused == ("DEPLOY",) and found.weak == ("DEPLOY",)
    with pytest.raises(HybridcoreError) as caught:
        check_weak_secrets(found, [template])
    error = caught.value
    assert (error.exit_code, error.rule) == (3, "weak_secret")
    assert "DEPLOY" in error.message
    assert found.redactor("x strong-token-1 y") == f"x {PLACEHOLDER} y"


@pytest.mark.parametrize("value", ["sensitive", "build", "Packer"])
def test_the_refusal_of_a_weak_secret_stays_readable(value: str) -> None:
    found = collect_secrets(["DEPLOY"], [], {"DEPLOY": value})
    with pytest.raises(HybridcoreError) as caught:
        check_weak_secrets(found, [])
    error = caught.value
    assert found.redactor(error.message) == error.message
    assert found.redactor(error.remediation) == error.remediation
    assert "`sensitive = true`" in error.remediation


def test_a_weak_inherited_credential_is_not_registered_but_named() -> None:
    found = collect_secrets([], [], {"TOKENIZERS_PARALLELISM": "false", "GH_TOKEN": "ghp_x0123"})
    assert found.weak == ("TOKENIZERS_PARALLELISM",) and found.refused == ()
    assert found.inherited_names == ["GH_TOKEN"]
    assert found.redactor("false") == "false"
    check_weak_secrets(found, [])  # inherited ones are never refused
