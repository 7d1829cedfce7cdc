"""The CLI: parse, call the API, print (JSON on stdout, people's text on stderr), exit."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import hybridcore
from hybridcore.cli.main import main
from hybridcore.packer import result_schema
from tests.conftest import FakePacker, write_template

Fake = Callable[..., FakePacker]
SIMPLE = (
    'source "null" "a" {\n  communicator = "none"\n}\n\nbuild {\n  sources = ["source.null.a"]\n}\n'
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """main() sets up process-wide logging; put it back. Run from a scratch directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYBRIDCORE_PACKER_BIN", raising=False)
    monkeypatch.delenv("HYBRIDCORE_ENV", raising=False)
    yield


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    return int(caught.value.code or 0)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["build"],
        ["fmt"],
        ["validate", "--var", "novalue", "t"],
        ["validate", "--var", "=value", "t"],
        ["build", "--on-error", "ask", "t"],
        ["build", "--parallel-builds", "many", "t"],
        ["--timeout", "0", "build", "t"],
        ["--kill-after", "-1", "build", "t"],
        ["schema", "nonsense"],
        ["build", "--no-such-flag", "t"],
    ],
)
def test_usage_errors_exit_1(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "usage:" in captured.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hybridcore-packer {hybridcore.__version__}"


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("fmt", "validate", "build"):
        assert command in out


def test_schema_result_prints_the_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "result"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == result_schema()
    jsonschema.Draft202012Validator.check_schema(schema)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_prints_the_result_on_stdout_and_human_text_on_stderr(
    tmp_path: Path, fake_packer: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": "Build 'null.a' finished.\n"}])
    template = write_template(tmp_path / "t", SIMPLE)
    code, out, err = _run(
        [
            "--json",
            "--packer",
            str(fake.path),
            "--workdir",
            str(tmp_path / "wd"),
            "build",
            str(template),
        ],
        capsys,
    )
    assert code == 0
    result = json.loads(out)  # stdout holds the JSON document and nothing else
    jsonschema.Draft202012Validator(result_schema()).validate(result)
    assert (result["command"], result["exit_code"]) == ("build", 0)
    assert "hybridcore-packer: ok:" in err
    assert "{" not in err.splitlines()[-1]
    stored = Path(result["result_path"])
    assert stored.is_relative_to(tmp_path / "wd" / "logs" / "packer" / result["command_id"])
    assert (stored.parent / "hybridcore.log").exists()


def test_without_json_stdout_stays_empty(
    tmp_path: Path, fake_packer: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    code, out, err = _run(
        ["--packer", str(fake.path), "--workdir", str(tmp_path), "validate", str(template)],
        capsys,
    )
    assert code == 0
    assert out == ""
    assert "hybridcore-packer: ok:" in err


def test_exit_code_and_hint_of_a_failure(
    tmp_path: Path, fake_packer: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    code, out, err = _run(
        [
            "--json",
            "--packer",
            str(fake.path),
            "--workdir",
            str(tmp_path),
            "build",
            "--var",
            "db_password=hunter2",
            str(template),
        ],
        capsys,
    )
    assert code == 3
    assert json.loads(out)["rule"] == "secret_on_command_line"
    assert "exit 3 (security)" in err
    assert "hint:" in err
    assert fake.calls == []


def test_options_reach_packer(
    tmp_path: Path,
    fake_packer: Fake,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    example: Path,
) -> None:
    monkeypatch.setenv("MY_DEPLOY_SECRET", "cli-secret-value")
    fake = fake_packer()
    (tmp_path / "extra.pkrvars.hcl").write_text('image_version = "2.0.0"\n')
    code, _, err = _run(
        [
            "--packer",
            str(fake.path),
            "--workdir",
            str(tmp_path / "wd"),
            "--env",
            "prod",
            "build",
            "--var",
            "image_name=golden",
            "--var-file",
            "extra.pkrvars.hcl",
            "--only",
            "null.vsphere",
            "--force",
            "--parallel-builds",
            "2",
            "--on-error",
            "abort",
            "--provisioner",
            "ansible",
            "--secret-env",
            "MY_DEPLOY_SECRET",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(example),
        ],
        capsys,
    )
    assert code == 0, err
    (call,) = fake.calls
    argv: list[str] = call["argv"]  # type: ignore[assignment]
    env: dict[str, Any] = call["env"]  # type: ignore[assignment]
    assert {"-force", "-parallel-builds=2", "-on-error=abort", "-only=null.vsphere"} <= set(argv)
    assert "-var-file=extra.pkrvars.hcl" in argv
    pairs = [argv[i + 1] for i, token in enumerate(argv) if token == "-var"]
    assert pairs == ["enable_ansible=true", "enable_hardening=false", "image_name=golden"]
    assert env["HYBRIDCORE_ENV"] == "prod"
    assert env["MY_DEPLOY_SECRET"] == "cli-secret-value"
    assert Path(env["PACKER_CACHE_DIR"]).name == "cache"  # a view onto --cache-dir
    assert (tmp_path / "cache").is_dir()
    assert "cli-secret-value" not in " ".join(argv)


def test_env_name_defaults_to_hybridcore_env(
    tmp_path: Path,
    fake_packer: Fake,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HYBRIDCORE_ENV", "qa")
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    code, _, _ = _run(
        ["--packer", str(fake.path), "--workdir", str(tmp_path), "validate", str(template)],
        capsys,
    )
    assert code == 0
    assert fake.calls[0]["env"]["HYBRIDCORE_ENV"] == "qa"  # type: ignore[index]


def test_packer_from_hybridcore_packer_bin(
    tmp_path: Path,
    fake_packer: Fake,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_packer("1.7.0")
    monkeypatch.setenv("HYBRIDCORE_PACKER_BIN", str(fake.path))
    template = write_template(tmp_path / "t", SIMPLE)
    code, out, _ = _run(
        [
            "--json",
            "--workdir",
            str(tmp_path),
            "fmt",
            "--check",
            "--recursive",
            str(template.parent),
        ],
        capsys,
    )
    assert code == 0
    assert json.loads(out)["packer_version"] == "1.7.0"
    assert fake.calls[0]["argv"][1:] == ["fmt", "-check", "-recursive", str(template.parent)]  # type: ignore[index]


def test_missing_secret_env_exits_1(
    tmp_path: Path,
    fake_packer: Fake,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("UNSET_SECRET_NAME", raising=False)
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    code, _, err = _run(
        [
            "--packer",
            str(fake.path),
            "--workdir",
            str(tmp_path),
            "validate",
            "--secret-env",
            "UNSET_SECRET_NAME",
            str(template),
        ],
        capsys,
    )
    assert code == 1
    assert "UNSET_SECRET_NAME" in err
    assert fake.calls == []


def test_unknown_packer_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = write_template(tmp_path / "t", SIMPLE)
    code, out, err = _run(
        [
            "--json",
            "--packer",
            str(tmp_path / "nope"),
            "--workdir",
            str(tmp_path),
            "validate",
            str(template),
        ],
        capsys,
    )
    assert code == 1
    assert json.loads(out)["rule"] == "packer_not_found"
    assert "exit 1 (config)" in err


def test_log_json_writes_json_lines(
    tmp_path: Path, fake_packer: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": "hello from packer\n"}])
    template = write_template(tmp_path / "t", SIMPLE)
    sink = tmp_path / "logs" / "run.jsonl"
    code, _, _ = _run(
        [
            "--packer",
            str(fake.path),
            "--workdir",
            str(tmp_path),
            "--log-json",
            str(sink),
            "validate",
            str(template),
        ],
        capsys,
    )
    assert code == 0
    records = [json.loads(line) for line in sink.read_text().splitlines()]
    assert any(r["message"] == "hello from packer" for r in records)
    assert {r["component"] for r in records} == {"packer"}


def test_log_json_on_a_directory_names_log_json_not_the_workdir(
    tmp_path: Path, fake_packer: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", SIMPLE)
    argv = ["--packer", str(fake.path), "--workdir", str(tmp_path / "wd")]
    code, _, err = _run([*argv, "--log-json", str(tmp_path), "validate", str(template)], capsys)
    assert code == 1
    assert f"cannot write --log-json {tmp_path}: Is a directory" in err
    assert "--workdir" not in err.split("hint:")[0]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_short_log_lines_and_the_log_file_the_full_ones(
    tmp_path: Path, fake_packer: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": "hello from packer\n"}])
    template = write_template(tmp_path / "t", SIMPLE)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("NO_COLOR", "1")
    wd = tmp_path / "wd"
    assert main(["--packer", str(fake.path), "--workdir", str(wd), "validate", str(template)]) == 0
    shown = [line for line in terminal.getvalue().splitlines() if "hello from packer" in line]
    assert len(shown) == 1
    assert re.fullmatch(r"\d\d:\d\d:\d\d \S+ hello from packer", shown[0]), shown[0]
    (log_file,) = wd.glob("logs/packer/*/hybridcore.log")
    (logged,) = [line for line in log_file.read_text().splitlines() if "hello from packer" in line]
    assert re.fullmatch(r"\[\S+Z\] INFO packer \S+ \S+ \| hello from packer", logged), logged
    assert "\033[" not in terminal.getvalue()  # NO_COLOR
