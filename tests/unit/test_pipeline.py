"""The public API through a fake packer: argv, child environment, secrets, retry, results."""

from __future__ import annotations

import _thread
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hybridcore import packer
from hybridcore.logs import LOGGER_NAME, init_logging
from hybridcore.packer import Result
from hybridcore.redaction.engine import PLACEHOLDER
from tests.conftest import FakePacker, write_template

Fake = Callable[..., FakePacker]

SCHEMA_FILE = Path(packer.__file__).resolve().parent / "schemas" / "result.schema.json"
TRANSIENT = "Build 'null.a' errored after 1 second: dial tcp 10.0.0.1:443: i/o timeout\n"
CONFIG_ERROR = 'Error: Unsupported argument\n\n  on main.pkr.hcl line 3:\n  3:   bogus = "x"\n'
DEPLOY_SECRET = "hunter2,Sup3r-Secret/Value"  # the comma exercises -machine-readable escaping
REGISTRY_TOKEN = "reg-t0ken-31337"
MACHINE = DEPLOY_SECRET.replace(",", "%!(PACKER_COMMA)")
SIMPLE = (
    'source "null" "a" {\n  communicator = "none"\n}\n\nbuild {\n  sources = ["source.null.a"]\n}\n'
)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path / "work"


def _calls(fake: FakePacker) -> list[dict[str, Any]]:
    return fake.calls  # type: ignore[return-value]


def _pairs(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, token in enumerate(argv) if token == "-var"]


def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _assert_valid(result: Result) -> None:
    jsonschema.Draft202012Validator(_schema()).validate(json.loads(result.to_json()))


def _files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


# --- the child environment -----------------------------------------------------------------


def test_child_receives_the_tool_environment(
    tmp_path: Path, work: Path, fake_packer: Fake, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller_log = tmp_path / "caller.log"
    monkeypatch.setenv("PACKER_LOG", "0")
    monkeypatch.setenv("PACKER_LOG_PATH", str(caller_log))
    monkeypatch.setenv("CLOUD_SDK_SETTING", "inherited")
    before = dict(os.environ)
    fake = fake_packer()
    fake.script([{"log": "2025/01/01 [DEBUG] raw log line\n"}])
    result = packer.build(
        str(example), packer=str(fake.path), workdir=work, cwd=tmp_path, env="staging"
    )
    assert result.exit_code == 0, result.message
    (call,) = _calls(fake)
    env = call["env"]
    assert env["PACKER_LOG"] == "1"
    assert env["PACKER_LOG_PATH"] != str(caller_log)
    assert env["HYBRIDCORE_ENV"] == "staging"
    assert env["CHECKPOINT_DISABLE"] == "1"
    # Packer gets a writable view of the shared cache in <workdir>/packer_cache
    assert env["PACKER_CACHE_DIR"] == str(work / "logs" / "packer" / result.command_id / "cache")
    assert (work / "packer_cache").is_dir()
    assert env["CLOUD_SDK_SETTING"] == "inherited"
    assert Path(call["cwd"]).resolve() == tmp_path.resolve()
    # Packer's debug log went to our scrubbed raw log, not to the caller's file.
    assert not caller_log.exists()
    assert Path(result.log_paths[0]).read_text() == "2025/01/01 [DEBUG] raw log line\n"
    assert Path(result.log_paths[0]).is_relative_to(work)
    assert dict(os.environ) == before


def test_default_env_name_is_dev(tmp_path: Path, work: Path, fake_packer: Fake) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    packer.validate(str(template), packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert _calls(fake)[0]["env"]["HYBRIDCORE_ENV"] == "dev"


def test_cache_dir_option_and_no_cache(tmp_path: Path, work: Path, fake_packer: Fake) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    common: dict[str, Any] = {"packer": str(fake.path), "workdir": work, "cwd": tmp_path}
    shared = packer.build(str(template), cache_dir="shared-cache", **common)
    packer.build(str(template), use_cache=False, **common)
    given, private = (Path(call["env"]["PACKER_CACHE_DIR"]) for call in _calls(fake))
    # a writable view (under the command's log directory) onto the shared cache directory
    assert given == work / "logs" / "packer" / shared.command_id / "cache"
    assert (tmp_path / "shared-cache").is_dir()
    assert shared.cache is not None and shared.cache["purged"] == []
    assert private != given and not private.is_relative_to(work)
    assert not private.exists()  # a private cache lives only as long as the command


# --- secrets -------------------------------------------------------------------------------


def _secret_script() -> list[dict[str, object]]:
    manifest = {
        "last_run_uuid": "run-1",
        "builds": [
            {
                "name": "vsphere",
                "packer_run_uuid": "run-1",
                "artifact_id": "vm-1",
                "custom_data": {"token": DEPLOY_SECRET, "registry": REGISTRY_TOKEN},
            }
        ],
    }
    return [
        {
            "stdout": (
                f"1700000000,,ui,say,==> null.vsphere: deploy secret is {MACHINE}\n"
                f"1700000000,,ui,say,==> null.vsphere: registry {REGISTRY_TOKEN}\n"
                f"plain stdout {DEPLOY_SECRET}\n"
                "1700000000,null.vsphere,artifact-count,1\n"
                "1700000000,null.vsphere,artifact,0,builder-id,packer.null\n"
                "1700000000,null.vsphere,artifact,0,id,Null\n"
                "1700000000,null.vsphere,artifact,0,end\n"
            ),
            "stderr": f"stderr {DEPLOY_SECRET} {json.dumps(DEPLOY_SECRET)}\n",
            "log": (
                f"2025/01/01 [DEBUG] env DEPLOY_SECRET={DEPLOY_SECRET}\n"
                f"2025/01/01 [DEBUG] registry={REGISTRY_TOKEN} mr={MACHINE}\n"
            ),
            "write_cwd": {"packer-manifest.json": json.dumps(manifest)},
        }
    ]


def test_secrets_reach_the_child_environment_only_and_are_scrubbed_everywhere(
    tmp_path: Path, work: Path, fake_packer: Fake, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_SECRET", DEPLOY_SECRET)
    monkeypatch.setenv("HYBRIDCORE_REGISTRY_TOKEN", REGISTRY_TOKEN)  # read by a sensitive var
    console = io.StringIO()
    log_dir = work / "logs" / "hybridcore"
    init_logging("ci", "packer", log_dir, json_lines=log_dir / "log.jsonl", console=console)
    fake = fake_packer()
    fake.script(_secret_script())

    result = packer.build(
        str(example),
        {"image_version": "1.4.0"},
        secrets=["DEPLOY_SECRET"],
        packer=str(fake.path),
        workdir=work,
        cwd=tmp_path,
    )

    assert result.exit_code == 0, result.message
    (call,) = _calls(fake)
    # The child got both secrets, as environment variables ...
    assert call["env"]["DEPLOY_SECRET"] == DEPLOY_SECRET
    assert call["env"]["HYBRIDCORE_REGISTRY_TOKEN"] == REGISTRY_TOKEN
    # ... and never on a command line.
    argvs = [call["argv"], result.argv, *(run.argv for run in result.runs)]
    for argv in argvs:
        for token in argv:
            for value in (DEPLOY_SECRET, REGISTRY_TOKEN, "hunter2"):
                assert value not in token
    assert result.secrets == ["DEPLOY_SECRET", "HYBRIDCORE_REGISTRY_TOKEN"]

    forbidden = [DEPLOY_SECRET, MACHINE, json.dumps(DEPLOY_SECRET)[1:-1], REGISTRY_TOKEN, "hunter2"]
    text = result.to_json()
    for value in forbidden:
        assert value not in text
    files = _files_under(work)
    assert files
    for path in files:
        content = path.read_text(encoding="utf-8", errors="replace")
        for value in forbidden:
            assert value not in content, path
    logged = console.getvalue() + "".join(p.read_text() for p in log_dir.iterdir() if p.is_file())
    for value in forbidden:
        assert value not in logged

    # Everything was really captured, with the placeholder in place of the secrets.
    assert f"deploy secret is {PLACEHOLDER}" in logged
    assert f"plain stdout {PLACEHOLDER}" in result.stdout
    assert f"stderr {PLACEHOLDER}" in result.stderr
    raw_log = Path(result.log_paths[0]).read_text()
    assert f"DEPLOY_SECRET={PLACEHOLDER}" in raw_log
    assert f"registry={PLACEHOLDER} mr={PLACEHOLDER}" in raw_log
    assert result.manifest_path is not None
    captured = json.loads(Path(result.manifest_path).read_text())
    assert captured["builds"][0]["custom_data"] == {
        "token": PLACEHOLDER,
        "registry": PLACEHOLDER,
    }


def test_secrets_never_reach_log_records(
    tmp_path: Path,
    work: Path,
    fake_packer: Fake,
    example: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("DEPLOY_SECRET", DEPLOY_SECRET)
    monkeypatch.setenv("HYBRIDCORE_REGISTRY_TOKEN", REGISTRY_TOKEN)
    fake = fake_packer()
    script = _secret_script()
    script[0]["exit"] = 1
    script[0]["stderr"] = f"{TRANSIENT}{DEPLOY_SECRET}\n"
    fake.script(script)
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        result = packer.build(
            str(example),
            secrets=["DEPLOY_SECRET"],
            packer=str(fake.path),
            workdir=work,
            cwd=tmp_path,
        )
    assert result.attempts == 2  # two attempts' worth of output went through the log
    messages = [record.getMessage() for record in caplog.records]
    assert any(PLACEHOLDER in message for message in messages)
    for message in messages:
        for value in (DEPLOY_SECRET, MACHINE, REGISTRY_TOKEN, "hunter2"):
            assert value not in message


def test_secret_in_result_json_file_is_scrubbed(
    tmp_path: Path, work: Path, fake_packer: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_SECRET", DEPLOY_SECRET)
    fake = fake_packer()
    fake.script([{"stderr": f"Error: bad value {DEPLOY_SECRET}\n", "exit": 1}])
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.validate(
        str(template), secrets=["DEPLOY_SECRET"], packer=str(fake.path), workdir=work, cwd=tmp_path
    )
    assert result.exit_code == 1
    assert result.result_path is not None
    stored = Path(result.result_path).read_text()
    assert DEPLOY_SECRET not in stored
    assert PLACEHOLDER in stored
    assert DEPLOY_SECRET not in result.message


SENSITIVE = """
variable "ssh_user" {
  type      = string
  default   = "admin"
  sensitive = true
}

source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]
}
"""


@pytest.mark.parametrize("command", ["build", "validate"])
@pytest.mark.parametrize("name", ["db_password", "client_secret", "ssh_user"])
def test_secret_like_var_on_the_command_line_is_refused_before_packer_runs(
    tmp_path: Path, work: Path, fake_packer: Fake, command: str, name: str
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SENSITIVE)
    run = getattr(packer, command)
    result = run(str(template), {name: "value"}, packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert (result.exit_code, result.classification, result.rule) == (
        3,
        "security",
        "secret_on_command_line",
    )
    assert not result.retryable
    assert _calls(fake) == []
    assert result.runs == []
    _assert_valid(result)


def test_sensitive_var_of_the_example_is_refused(
    tmp_path: Path, work: Path, fake_packer: Fake, example: Path
) -> None:
    fake = fake_packer()
    result = packer.build(
        str(example), {"registry_token": "x"}, packer=str(fake.path), workdir=work, cwd=tmp_path
    )
    assert (result.exit_code, result.rule) == (3, "secret_on_command_line")
    assert _calls(fake) == []


def test_refusal_happens_before_packer_is_even_looked_up(
    tmp_path: Path, work: Path, example: Path
) -> None:
    """With a packer path that does not exist, a refusal still says security, not
    packer_not_found: no packer process (not even `packer version`) was started."""
    result = packer.build(
        str(example),
        {"db_password": "x"},
        packer=str(tmp_path / "no" / "packer"),
        workdir=work,
        cwd=tmp_path,
    )
    assert (result.exit_code, result.rule) == (3, "secret_on_command_line")
    assert result.packer_version is None
    assert result.runs == []


@pytest.mark.parametrize("command", ["build", "validate"])
def test_var_whose_value_is_a_secret_is_refused(
    tmp_path: Path,
    work: Path,
    fake_packer: Fake,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    monkeypatch.setenv("DEPLOY_SECRET", DEPLOY_SECRET)
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    result = getattr(packer, command)(
        str(template),
        {"image_name": DEPLOY_SECRET},
        secrets=["DEPLOY_SECRET"],
        packer=str(fake.path),
        workdir=work,
        cwd=tmp_path,
    )
    assert (result.exit_code, result.classification, result.rule) == (
        3,
        "security",
        "secret_on_command_line",
    )
    assert _calls(fake) == []
    assert DEPLOY_SECRET not in result.to_json()


def test_var_whose_value_is_a_template_read_secret_is_refused(
    tmp_path: Path, work: Path, fake_packer: Fake, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYBRIDCORE_REGISTRY_TOKEN", REGISTRY_TOKEN)
    fake = fake_packer()
    result = packer.build(
        str(example),
        {"image_name": f"prefix-{REGISTRY_TOKEN}"},
        packer=str(fake.path),
        workdir=work,
        cwd=tmp_path,
    )
    assert result.exit_code == 3
    assert _calls(fake) == []


def test_secret_env_naming_an_unset_variable_is_a_config_error(
    tmp_path: Path, work: Path, fake_packer: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_EXPORTED_SECRET", raising=False)
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(
        str(template),
        secrets=["NOT_EXPORTED_SECRET"],
        packer=str(fake.path),
        workdir=work,
        cwd=tmp_path,
    )
    assert (result.exit_code, result.rule) == (1, "secret_env_missing")
    assert "NOT_EXPORTED_SECRET" in result.message
    assert _calls(fake) == []


# --- provisioner toggles -------------------------------------------------------------------


def test_provisioner_toggles_become_boolean_vars(
    tmp_path: Path, work: Path, fake_packer: Fake, example: Path
) -> None:
    fake = fake_packer()
    result = packer.build(
        str(example), provisioners=["hardening"], packer=str(fake.path), workdir=work, cwd=tmp_path
    )
    assert result.exit_code == 0, result.message
    pairs = _pairs(_calls(fake)[0]["argv"])
    assert "enable_hardening=true" in pairs
    assert "enable_ansible=false" in pairs


def test_no_provisioners_means_no_toggle_vars(
    tmp_path: Path, work: Path, fake_packer: Fake, example: Path
) -> None:
    fake = fake_packer()
    packer.build(str(example), packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert not any(p.startswith("enable_") for p in _pairs(_calls(fake)[0]["argv"]))


def test_an_explicit_var_wins_over_a_toggle(
    tmp_path: Path, work: Path, fake_packer: Fake, example: Path
) -> None:
    fake = fake_packer()
    packer.build(
        str(example),
        {"enable_ansible": True},
        ["hardening"],
        packer=str(fake.path),
        workdir=work,
        cwd=tmp_path,
    )
    pairs = _pairs(_calls(fake)[0]["argv"])
    assert pairs.count("enable_ansible=true") == 1
    assert "enable_ansible=false" not in pairs
    assert "enable_hardening=true" in pairs


def test_unknown_toggle_is_refused_before_packer_runs(
    tmp_path: Path, work: Path, fake_packer: Fake, example: Path
) -> None:
    fake = fake_packer()
    result = packer.build(
        str(example), provisioners=["puppet"], packer=str(fake.path), workdir=work, cwd=tmp_path
    )
    assert (result.exit_code, result.rule) == (1, "unknown_provisioner_toggle")
    assert "puppet" in result.message
    assert "hardening" in (result.remediation or "")
    assert _calls(fake) == []


# --- retry and classification --------------------------------------------------------------


def test_transient_failure_is_retried_once_then_escalated(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": TRANSIENT, "exit": 1}])
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(str(template), packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert len(_calls(fake)) == 2
    assert (result.exit_code, result.classification, result.attempts) == (2, "transient", 2)
    assert result.retryable
    assert result.packer_exit_code == 1
    assert len(result.log_paths) == 2
    _assert_valid(result)


def test_transient_failure_then_success(tmp_path: Path, work: Path, fake_packer: Fake) -> None:
    fake = fake_packer()
    fake.script([{"stderr": TRANSIENT, "exit": 1}, {"stdout": "Build 'null.a' finished.\n"}])
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(str(template), packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert len(_calls(fake)) == 2
    assert (result.exit_code, result.classification, result.attempts) == (0, "ok", 2)
    assert not result.retryable
    assert result.packer_exit_code == 0


def test_config_failure_is_not_retried(tmp_path: Path, work: Path, fake_packer: Fake) -> None:
    fake = fake_packer()
    fake.script([{"stderr": CONFIG_ERROR, "exit": 1}, {}])
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.validate(str(template), packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert len(_calls(fake)) == 1
    assert (result.exit_code, result.classification, result.attempts) == (1, "config", 1)
    assert not result.retryable
    assert result.remediation


def test_fmt_check_unformatted_is_a_config_error(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": "main.pkr.hcl\n", "exit": 3}])
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.fmt(
        str(template), check=True, packer=str(fake.path), workdir=work, cwd=tmp_path
    )
    assert (result.exit_code, result.rule, result.packer_exit_code) == (1, "fmt_check", 3)
    assert len(_calls(fake)) == 1
    assert "-check" in _calls(fake)[0]["argv"]


# --- refused before packer: paths, names, the packer itself ---------------------------------


@pytest.mark.parametrize("command", ["fmt", "validate", "build"])
def test_missing_template_path(tmp_path: Path, work: Path, fake_packer: Fake, command: str) -> None:
    fake = fake_packer()
    result = getattr(packer, command)(
        "no/such/template.pkr.hcl", packer=str(fake.path), workdir=work, cwd=tmp_path
    )
    assert (result.exit_code, result.classification) == (1, "config")
    assert "no/such/template.pkr.hcl" in result.message
    assert _calls(fake) == []
    _assert_valid(result)


@pytest.mark.parametrize("command", ["validate", "build"])
def test_missing_var_file(tmp_path: Path, work: Path, fake_packer: Fake, command: str) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    result = getattr(packer, command)(
        str(template),
        var_files=["missing.pkrvars.hcl"],
        packer=str(fake.path),
        workdir=work,
        cwd=tmp_path,
    )
    assert result.exit_code == 1
    assert "missing.pkrvars.hcl" in result.message
    assert _calls(fake) == []


@pytest.mark.parametrize("command", ["fmt", "validate", "build"])
def test_packer_that_does_not_exist(tmp_path: Path, work: Path, command: str) -> None:
    template = write_template(tmp_path / "t", SIMPLE)
    result = getattr(packer, command)(
        str(template), packer=str(tmp_path / "nowhere" / "packer"), workdir=work, cwd=tmp_path
    )
    assert (result.exit_code, result.rule) == (1, "packer_not_found")
    assert result.remediation
    _assert_valid(result)


@pytest.mark.parametrize("bad", ["null.a,null.b", "", "null.a\n"])
@pytest.mark.parametrize("flag", ["only", "except_"])
def test_invalid_build_names_are_refused(
    tmp_path: Path, work: Path, fake_packer: Fake, bad: str, flag: str
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    for command in (packer.build, packer.validate):
        result = command(
            str(template), packer=str(fake.path), workdir=work, cwd=tmp_path, **{flag: [bad]}
        )
        assert (result.exit_code, result.classification) == (1, "config")
    assert _calls(fake) == []


def test_ask_on_error_is_refused(tmp_path: Path, work: Path, fake_packer: Fake) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(
        str(template), on_error="ask", packer=str(fake.path), workdir=work, cwd=tmp_path
    )
    assert result.exit_code == 1
    assert _calls(fake) == []


# --- argv through the API ------------------------------------------------------------------


def test_equal_options_give_byte_identical_argv(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    for files in (tmp_path / "a.pkrvars.hcl", tmp_path / "b.pkrvars.hcl"):
        files.write_text("")
    common: dict[str, Any] = {
        "var_files": ["b.pkrvars.hcl", "a.pkrvars.hcl"],
        "packer": str(fake.path),
        "workdir": work,
        "cwd": tmp_path,
        "force": True,
        "parallel_builds": 2,
    }
    packer.build(str(template), {"zeta": "1", "alpha": "2"}, only=["null.b", "null.a"], **common)
    packer.build(
        str(template), {"alpha": "2", "zeta": "1"}, only=["null.a", "null.b", "null.a"], **common
    )
    first, second = (call["argv"] for call in _calls(fake))
    assert json.dumps(first).encode() == json.dumps(second).encode()
    assert _pairs(first) == ["alpha=2", "zeta=1"]
    assert [t for t in first if t.startswith("-var-file=")] == [
        "-var-file=b.pkrvars.hcl",
        "-var-file=a.pkrvars.hcl",
    ]
    assert "-only=null.a,null.b" in first
    assert {"-force", "-parallel-builds=2", "-machine-readable"} <= set(first)


def test_validate_flags(tmp_path: Path, work: Path, fake_packer: Fake) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    packer.validate(
        str(template),
        syntax_only=True,
        except_=["null.z", "null.y"],
        packer=str(fake.path),
        workdir=work,
        cwd=tmp_path,
    )
    argv = _calls(fake)[0]["argv"]
    assert argv[1] == "validate"
    assert "-syntax-only" in argv
    assert "-except=null.y,null.z" in argv
    assert argv[-1] == str(template)


# --- fmt -recursive across Packer versions -------------------------------------------------


def _hcl_tree(root: Path) -> None:
    write_template(root, SIMPLE, name="a.pkr.hcl")
    write_template(root / "sub", "x = 1\n", name="x.pkrvars.hcl")
    write_template(root / "sub" / "deeper", SIMPLE, name="d.pkr.hcl")
    write_template(root / "docs", "not hcl\n", name="readme.txt")
    write_template(root / ".hidden", SIMPLE, name="h.pkr.hcl")
    write_template(root / "sub" / ".git", SIMPLE, name="g.pkr.hcl")
    write_template(root / "packer_cache", SIMPLE, name="c.pkr.hcl")


def test_fmt_recursive_on_packer_1_6_runs_once_per_hcl_directory(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer("1.6.6")
    _hcl_tree(tmp_path / "root")
    result = packer.fmt("root", recursive=True, packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert result.exit_code == 0, result.message
    calls = _calls(fake)
    targets = sorted(call["argv"][-1] for call in calls)
    assert targets == sorted(["root", "root/sub", "root/sub/deeper"])
    for call in calls:
        assert "-recursive" not in call["argv"]
        assert call["argv"][1] == "fmt"
    assert len(result.runs) == 3


def test_fmt_recursive_on_packer_1_7_passes_the_flag_once(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer("1.7.4")
    _hcl_tree(tmp_path / "root")
    result = packer.fmt(
        "root", recursive=True, check=True, packer=str(fake.path), workdir=work, cwd=tmp_path
    )
    assert result.exit_code == 0
    (call,) = _calls(fake)
    assert call["argv"][1:] == ["fmt", "-check", "-recursive", "root"]


def test_fmt_of_a_file_on_packer_1_6_is_one_call(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer("1.6.6")
    template = write_template(tmp_path / "t", SIMPLE)
    packer.fmt(
        str(template),
        recursive=True,
        diff=True,
        packer=str(fake.path),
        workdir=work,
        cwd=tmp_path,
    )
    (call,) = _calls(fake)
    assert call["argv"][1:] == ["fmt", "-diff", str(template)]


# --- results -------------------------------------------------------------------------------


ARTIFACTS = (
    "1700000000,,ui,say,==> null.a: done\n"
    "1700000000,null.a,artifact-count,1\n"
    "1700000000,null.a,artifact,0,builder-id,packer.null\n"
    "1700000000,null.a,artifact,0,id,vm-1%!(PACKER_COMMA)vm-2\n"
    "1700000000,null.a,artifact,0,string,two VMs\n"
    "1700000000,null.a,artifact,0,files-count,1\n"
    "1700000000,null.a,artifact,0,file,0,out/disk.vmdk\n"
    "1700000000,null.a,artifact,0,end\n"
    "1700000000,null.b,artifact,0,builder-id,packer.file\n"
    "1700000000,null.b,artifact,0,end\n"
)


def test_machine_readable_artifacts_are_parsed_into_the_result(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": ARTIFACTS}])
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(str(template), packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert [(a.build, a.index, a.builder_id, a.id) for a in result.artifacts] == [
        ("null.a", 0, "packer.null", "vm-1,vm-2"),
        ("null.b", 0, "packer.file", None),
    ]
    assert result.artifacts[0].files == ["out/disk.vmdk"]
    assert result.artifacts[0].description == "two VMs"
    assert "2 artifact(s)" in result.message
    _assert_valid(result)


def test_result_is_stored_under_the_command_log_dir(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(
        str(template), packer=str(fake.path), workdir=work, cwd=tmp_path, command_id="cmd-42"
    )
    expected = work / "logs" / "packer" / "cmd-42" / "result.json"
    assert result.command_id == "cmd-42"
    assert result.result_path == str(expected)
    assert json.loads(expected.read_text()) == json.loads(result.to_json())
    for path in result.log_paths:
        assert Path(path).is_relative_to(expected.parent)


def test_a_refused_command_stores_its_result_too(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    result = packer.build(
        "missing", packer=str(fake_packer().path), workdir=work, cwd=tmp_path, command_id="c-1"
    )
    stored = json.loads((work / "logs" / "packer" / "c-1" / "result.json").read_text())
    assert stored["exit_code"] == 1
    assert stored == json.loads(result.to_json())


def test_results_validate_against_the_shipped_schema(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": ARTIFACTS}, {"stderr": CONFIG_ERROR, "exit": 1}])
    template = write_template(tmp_path / "t", SIMPLE)
    common: dict[str, Any] = {"packer": str(fake.path), "workdir": work, "cwd": tmp_path}
    results = [
        packer.build(str(template), **common),
        packer.validate(str(template), **common),
        packer.fmt(str(template), **common),
        packer.build(str(template), {"api_key": "x"}, **common),
    ]
    assert [r.exit_code for r in results] == [0, 1, 1, 3]
    for result in results:
        _assert_valid(result)
        assert result.started_at.endswith("Z") and result.finished_at.endswith("Z")
        assert result.started_at <= result.finished_at
        assert result.schema_version == "1.0"


def test_the_shipped_schema_is_what_the_api_publishes() -> None:
    assert _schema() == packer.result_schema()


def test_public_api_surface() -> None:
    assert set(packer.__all__) >= {"build", "fmt", "validate", "Result", "result_schema"}
    for name in packer.__all__:
        assert hasattr(packer, name)


def test_several_targets_with_the_same_file_name_keep_separate_logs(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    """Two templates named main.pkr.hcl in different directories: each run's raw log
    must hold its own output only."""
    fake = fake_packer()
    fake.script([{"log": "log of the first run\n"}, {"log": "log of the second run\n"}])
    first = write_template(tmp_path / "vsphere", SIMPLE)
    second = write_template(tmp_path / "azure", SIMPLE)
    result = packer.build(
        [str(first), str(second)], packer=str(fake.path), workdir=work, cwd=tmp_path
    )
    assert result.exit_code == 0, result.message
    assert len(result.runs) == 2
    one, two = (Path(run.log_paths[0]) for run in result.runs)
    assert one != two
    assert one.read_text() == "log of the first run\n"
    assert two.read_text() == "log of the second run\n"


# --- several targets, interrupts, timeouts ---------------------------------------------------


def test_the_most_severe_run_decides_the_exit_code(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    fake.script(
        [
            {"stderr": CONFIG_ERROR, "exit": 1},
            {"stderr": TRANSIENT, "exit": 1},
            {"stderr": TRANSIENT, "exit": 1},
            {"stdout": ARTIFACTS},
        ]
    )
    targets = [
        str(write_template(tmp_path / name, SIMPLE, name=f"{name}.pkr.hcl"))
        for name in ("one", "two", "three")
    ]
    result = packer.build(targets, packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert [run.exit_code for run in result.runs] == [1, 2, 0]
    assert (result.exit_code, result.classification) == (1, "config")
    assert not result.retryable  # retrying cannot fix a configuration error
    assert result.argv == result.runs[0].argv
    assert len(result.artifacts) == 2  # artifacts of every run
    assert result.targets == targets


def test_a_security_failure_outranks_a_configuration_error(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    fake.script(
        [
            {"stderr": CONFIG_ERROR, "exit": 1},
            {"stderr": "Error: UnauthorizedOperation: You are not authorized\n", "exit": 1},
        ]
    )
    targets = [
        str(write_template(tmp_path / name, SIMPLE, name=f"{name}.pkr.hcl"))
        for name in ("one", "two")
    ]
    result = packer.validate(targets, packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert [run.exit_code for run in result.runs] == [1, 3]
    assert (result.exit_code, result.classification) == (3, "security")
    assert len(_calls(fake)) == 2  # a security failure is never retried


def test_ctrl_c_stops_the_command_and_skips_the_remaining_targets(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": "building\n", "sleep": 15}])
    targets = [
        str(write_template(tmp_path / name, SIMPLE, name=f"{name}.pkr.hcl"))
        for name in ("one", "two")
    ]

    def interrupt_once_packer_runs() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            thread.name == "one.pkr.hcl:stdout" for thread in threading.enumerate()
        ):
            time.sleep(0.01)
        time.sleep(0.3)  # let build() settle into waiting for packer
        _thread.interrupt_main()

    interrupter = threading.Thread(target=interrupt_once_packer_runs, daemon=True)
    interrupter.start()
    try:
        result = packer.build(targets, packer=str(fake.path), workdir=work, cwd=tmp_path)
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped build()")
    finally:
        interrupter.join()
    assert len(_calls(fake)) == 1  # not retried, and the second target never started
    assert (result.exit_code, result.rule, result.attempts) == (2, "interrupted", 1)
    assert result.runs[0].interrupted
    _assert_valid(result)


def test_timeout_is_transient_and_bounds_the_whole_command(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    """--timeout is one bound for the command: a timed-out attempt leaves no time to retry."""
    fake = fake_packer()
    fake.script([{"sleep": 30}])
    template = write_template(tmp_path / "t", SIMPLE)
    started = time.monotonic()
    result = packer.build(
        str(template), packer=str(fake.path), workdir=work, cwd=tmp_path, timeout=0.3
    )
    assert time.monotonic() - started < 15
    assert (result.exit_code, result.rule, result.attempts) == (2, "timeout", 1)
    assert result.runs[0].timed_out
    assert "whole command" in (result.remediation or "")


def test_pkr_var_of_a_sensitive_variable_is_scrubbed(
    tmp_path: Path, work: Path, fake_packer: Fake, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PKR_VAR_registry_token", "pkr-var-secret-123")
    fake = fake_packer()
    fake.script([{"stdout": "token pkr-var-secret-123\n", "log": "pkr-var-secret-123\n"}])
    result = packer.build(str(example), packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert _calls(fake)[0]["env"]["PKR_VAR_registry_token"] == "pkr-var-secret-123"
    assert "PKR_VAR_registry_token" in result.secrets
    assert f"token {PLACEHOLDER}" in result.stdout
    for path in _files_under(work):  # the registry database is binary: compare bytes
        assert b"pkr-var-secret-123" not in path.read_bytes(), path


def test_a_result_that_cannot_be_stored_is_still_returned(
    tmp_path: Path, fake_packer: Fake
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = packer.build(
        "missing", packer=str(fake_packer().path), workdir=blocker / "work", cwd=tmp_path
    )
    assert result.exit_code == 1
    assert result.result_path is None


def test_fmt_write_false(tmp_path: Path, work: Path, fake_packer: Fake) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    packer.fmt(str(template), write=False, packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert _calls(fake)[0]["argv"][1:] == ["fmt", "-write=false", str(template)]


def test_a_single_selected_build_names_the_log_directory(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(
        str(template),
        only=["null.a"],
        packer=str(fake.path),
        workdir=work,
        cwd=tmp_path,
        command_id="cid",
    )
    assert result.runs[0].label == "null.a"
    assert Path(result.log_paths[0]).parent == work / "logs" / "packer" / "cid" / "null.a"


def test_fmt_walk_keeps_separate_logs_for_directories_with_look_alike_names(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    """`root/a/b` and `root/a_b` are different directories; their runs' raw logs must be
    different files even though a file name cannot hold the '/'."""
    fake = fake_packer("1.6.6")
    write_template(tmp_path / "root" / "a" / "b", SIMPLE)
    write_template(tmp_path / "root" / "a_b", SIMPLE)
    fake.script([{"log": "log of the first run\n"}, {"log": "log of the second run\n"}])
    result = packer.fmt("root", recursive=True, packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert len(result.runs) == 2
    one, two = (Path(run.log_paths[0]) for run in result.runs)
    assert one != two
    assert one.read_text() == "log of the first run\n"
    assert two.read_text() == "log of the second run\n"


@pytest.mark.parametrize("limit", [0, -3])
def test_parallel_below_one_is_refused_before_packer_runs(
    tmp_path: Path, work: Path, fake_packer: Fake, limit: int
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(
        str(template), parallel=limit, packer=str(fake.path), workdir=work, cwd=tmp_path
    )
    assert (result.exit_code, result.rule) == (1, "invalid_option")
    assert f"--parallel {limit}" in result.message
    assert _calls(fake) == []


# --- what people read ----------------------------------------------------------------------

REREPORTED = (  # a `manifest` post-processor passes the builder's artifact on: index 1
    "1700000000,null.a,artifact,0,builder-id,packer.null\n"
    "1700000000,null.a,artifact,0,id,Null\n"
    "1700000000,null.a,artifact,0,end\n"
    "1700000000,null.a,artifact,1,builder-id,packer.null\n"
    "1700000000,null.a,artifact,1,id,Null\n"
    "1700000000,null.a,artifact,1,end\n"
    "1700000000,null.b,artifact,0,builder-id,packer.file\n"
    "1700000000,null.b,artifact,0,id,File\n"
    "1700000000,null.b,artifact,0,end\n"
)


def test_an_artifact_a_post_processor_passes_on_is_counted_once(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": REREPORTED}])
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(str(template), packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert [(a.build, a.index) for a in result.artifacts] == [
        ("null.a", 0),
        ("null.a", 1),
        ("null.b", 0),
    ]  # the result keeps what Packer reported
    assert result.message.endswith(", 2 artifact(s).")


def test_packers_error_is_quoted_as_the_line_it_printed(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    fake.script(
        [
            {
                "stdout": "1700000000,,ui,error,Error: Unsupported argument\\n\\n"
                "  on main.pkr.hcl line 3:\\n  3:   bogus = 1\n",
                "exit": 1,
            }
        ]
    )
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(str(template), packer=str(fake.path), workdir=work, cwd=tmp_path)
    assert (result.exit_code, result.rule) == (1, "unsupported_argument")
    assert result.runs[0].evidence == "Error: Unsupported argument"
    assert "\\n" not in result.message
    assert 'Packer said: "Error: Unsupported argument". ' in result.message


def test_a_template_python_hcl2_cannot_read_is_warned_about_once(
    tmp_path: Path, work: Path, fake_packer: Fake
) -> None:
    console = io.StringIO()
    init_logging("ci", "packer", tmp_path / "logs", console=console)
    template = write_template(tmp_path / "t", SIMPLE.replace("build {", "build {{"))
    packer.build(str(template), packer=str(fake_packer().path), workdir=work, cwd=tmp_path)
    warnings = [line for line in console.getvalue().splitlines() if " WARNING " in line]
    assert len(warnings) == 1, warnings
    assert f"{template} line " in warnings[0]
    assert "Token(" not in warnings[0] and "$END" not in warnings[0]


def test_a_bug_is_an_internal_result_with_the_traceback_in_the_log_file(
    tmp_path: Path, work: Path, fake_packer: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unexpected state 42")

    monkeypatch.setattr("hybridcore.packer.commands._command.locate_packer", broken)
    console = io.StringIO()
    log_dir = work / "logs" / "packer" / "cmd-bug"
    log_file = init_logging("ci", "packer", log_dir, console=console)
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.validate(
        str(template),
        packer=str(fake_packer().path),
        workdir=work,
        cwd=tmp_path,
        command_id="cmd-bug",
    )
    assert (result.exit_code, result.classification, result.rule) == (
        3,
        "internal",
        "internal_error",
    )
    assert result.retryable is False
    assert result.message == (
        "validate: internal error: RuntimeError: unexpected state 42; "
        f"the traceback is in {log_file}; please report it."
    )
    assert "Traceback (most recent call last)" in log_file.read_text()
    assert "Traceback" not in console.getvalue()
    assert json.loads((log_dir / "result.json").read_text())["classification"] == "internal"
    _assert_valid(result)


def test_without_logging_set_up_the_traceback_goes_to_the_command_log_dir(
    tmp_path: Path, work: Path, fake_packer: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "hybridcore.packer.commands._command.locate_packer",
        lambda *a, **k: {}["no such key"],
    )
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.build(
        str(template), packer="packer", workdir=work, cwd=tmp_path, command_id="cmd-k"
    )
    log_file = work / "logs" / "packer" / "cmd-k" / "hybridcore.log"
    assert result.classification == "internal"
    assert f"the traceback is in {log_file};" in result.message
    assert "KeyError: 'no such key'" in log_file.read_text()
