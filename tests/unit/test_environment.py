"""The child environment: a fresh dict built as data; the caller's environment untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcore.packer.run.environment import child_environment

LOG = Path("/tmp/hc-test/packer.log")
CACHE = Path("/tmp/hc-test/cache")


def _child(base: dict[str, str], secrets: dict[str, str] | None = None) -> dict[str, str]:
    return child_environment(
        base, log_path=LOG, hybridcore_env="staging", cache_dir=CACHE, secrets=secrets or {}
    )


def test_sets_what_the_tool_decides() -> None:
    env = _child({"HOME": "/home/me"})
    assert env["PACKER_LOG"] == "1"
    assert env["PACKER_LOG_PATH"] == str(LOG)
    assert env["HYBRIDCORE_ENV"] == "staging"
    assert env["CHECKPOINT_DISABLE"] == "1"
    assert env["PACKER_CACHE_DIR"] == str(CACHE)
    assert env["PACKER_NO_COLOR"] == "1"


def test_inherits_the_rest_of_the_base_environment() -> None:
    base = {"HOME": "/home/me", "AWS_REGION": "eu-west-1", "PATH": "/usr/bin"}
    env = _child(base)
    for key, value in base.items():
        assert env[key] == value


def test_callers_packer_log_settings_are_dropped() -> None:
    env = _child({"PACKER_LOG": "0", "PACKER_LOG_PATH": "/var/log/caller.log"})
    assert env["PACKER_LOG"] == "1"
    assert env["PACKER_LOG_PATH"] == str(LOG)
    assert "/var/log/caller.log" not in env.values()


def test_tool_values_override_the_callers() -> None:
    base = {"HYBRIDCORE_ENV": "prod", "CHECKPOINT_DISABLE": "", "PACKER_CACHE_DIR": "/shared"}
    env = _child(base)
    assert (env["HYBRIDCORE_ENV"], env["CHECKPOINT_DISABLE"], env["PACKER_CACHE_DIR"]) == (
        "staging",
        "1",
        str(CACHE),
    )


def test_secrets_are_present() -> None:
    env = _child({"HOME": "/h"}, secrets={"REGISTRY_TOKEN": "t0k3n", "DB_PASS": "pw"})
    assert env["REGISTRY_TOKEN"] == "t0k3n"
    assert env["DB_PASS"] == "pw"


def test_returns_a_fresh_dict_and_never_mutates_its_inputs() -> None:
    base = {"HOME": "/h", "PACKER_LOG": "1"}
    secrets = {"TOKEN": "x"}
    base_copy, secrets_copy = dict(base), dict(secrets)
    env = _child(base, secrets)
    assert env is not base
    assert base == base_copy
    assert secrets == secrets_copy
    env["NEW"] = "1"
    assert "NEW" not in base


def test_os_environ_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACKER_LOG", "0")
    monkeypatch.setenv("PACKER_LOG_PATH", "/caller.log")
    before = dict(os.environ)
    env = child_environment(
        os.environ,
        log_path=LOG,
        hybridcore_env="dev",
        cache_dir=CACHE,
        secrets={"SOME_SECRET": "value"},
    )
    assert dict(os.environ) == before
    assert env is not os.environ
    assert type(env) is dict
    assert "SOME_SECRET" not in os.environ


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Z_][A-Z0-9_]{0,10}", fullmatch=True), st.text(max_size=8), max_size=8
    )
)
def test_only_packer_log_settings_are_dropped_from_any_base(base: dict[str, str]) -> None:
    env = _child(base)
    decided = {
        "PACKER_LOG",
        "PACKER_LOG_PATH",
        "HYBRIDCORE_ENV",
        "CHECKPOINT_DISABLE",
        "PACKER_CACHE_DIR",
        "PACKER_NO_COLOR",
    }
    for key, value in base.items():
        if key not in decided:
            assert env[key] == value
    assert set(env) == (set(base) | decided)


def test_an_allow_list_passes_only_named_and_needed_variables() -> None:
    base = {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "LC_ALL": "C.UTF-8",
        "PACKER_PLUGIN_PATH": "/plugins",
        "PKR_VAR_region": "eu",
        "PKR_VAR_undeclared": "x",
        "GITHUB_TOKEN": "ghp_secret",
        "AWS_REGION": "eu-west-1",
        "CI_JOB_TOKEN": "job-token",
    }
    env = child_environment(
        base,
        log_path=LOG,
        hybridcore_env="dev",
        cache_dir=CACHE,
        secrets={"REGISTRY_TOKEN": "declared"},
        allowed=["AWS_REGION"],
        declared=["region"],
    )
    for name in ("PATH", "HOME", "LC_ALL", "PACKER_PLUGIN_PATH", "PKR_VAR_region", "AWS_REGION"):
        assert env[name] == base[name]
    for name in ("GITHUB_TOKEN", "CI_JOB_TOKEN", "PKR_VAR_undeclared"):
        assert name not in env
    assert env["REGISTRY_TOKEN"] == "declared"
    assert env["PACKER_LOG"] == "1"
