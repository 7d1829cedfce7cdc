"""Integration tests: the real `packer` binary on the bundled example and on
small templates that fail in known ways."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from hybridcore import packer
from tests.conftest import EXAMPLE, REPO, write_template

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "hybridcore.cli"]
SECRET = "hunter2,Sup3r-Secret/Value"  # the comma exercises -machine-readable escaping


@pytest.fixture(autouse=True)
def _require_packer() -> None:
    assert shutil.which("packer"), "integration tests need packer on PATH (scripts/bootstrap.sh)"


def _schema() -> dict[str, object]:
    path = REPO / "src" / "hybridcore" / "packer" / "schemas" / "result.schema.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def _sleeping_template(directory: Path, seconds: int) -> Path:
    return write_template(
        directory,
        f"""
        source "null" "slow" {{
          communicator = "none"
        }}
        build {{
          sources = ["source.null.slow"]
          provisioner "shell-local" {{
            inline = ["echo $$ > {directory}/child.pid", "echo started", "sleep {seconds}"]
          }}
        }}
        """,
    )


def test_fmt_check_passes_on_the_example(tmp_path: Path) -> None:
    result = packer.fmt([str(EXAMPLE)], check=True, workdir=tmp_path)
    assert result.exit_code == 0, result.message
    assert result.packer_exit_code == 0


def test_fmt_check_on_unformatted_template_is_a_config_error(tmp_path: Path) -> None:
    write_template(tmp_path / "t", 'source "null" "a" {\ncommunicator="none"\n}\n')
    result = packer.fmt([str(tmp_path / "t")], check=True, workdir=tmp_path / "wd")
    assert (result.exit_code, result.rule, result.packer_exit_code) == (1, "fmt_check", 3)
    assert "fmt" in (result.remediation or "")


def test_fmt_recursive_reaches_nested_directories(tmp_path: Path) -> None:
    write_template(tmp_path / "root" / "a" / "b", 'source "null" "x" {\ncommunicator="none"\n}\n')
    result = packer.fmt([str(tmp_path / "root")], recursive=True, workdir=tmp_path / "wd")
    assert result.exit_code == 0, result.message
    fixed = (tmp_path / "root" / "a" / "b" / "main.pkr.hcl").read_text()
    assert 'communicator = "none"' in fixed


def test_validate_the_example_with_its_var_file(tmp_path: Path) -> None:
    result = packer.validate(
        [str(EXAMPLE)], var_files=[str(EXAMPLE / "ci.pkrvars.hcl")], workdir=tmp_path
    )
    assert result.exit_code == 0, result.message


def test_build_the_example(example: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "wd"
    result = packer.build(
        [str(example)],
        var_files=[str(example / "ci.pkrvars.hcl")],
        provisioners=["hardening"],
        workdir=workdir,
        cwd=tmp_path,
    )
    assert result.exit_code == 0, result.message + result.stderr
    jsonschema.validate(result.model_dump(mode="json"), _schema())
    builds = {artifact.build for artifact in result.artifacts}
    assert builds == {"null.vsphere", "null.azure", "file.seed"}
    seed = next(a for a in result.artifacts if a.build == "file.seed")
    assert seed.builder_id == "packer.file"
    assert seed.files == [str(example / "out" / "seed-1.4.0.txt")]
    assert "enable_hardening=true" in result.argv and "enable_ansible=false" in result.argv

    assert result.manifest_path is not None
    manifest = json.loads(Path(result.manifest_path).read_text())
    assert {entry["name"] for entry in manifest["builds"]} == {"vsphere", "azure", "seed"}
    assert {entry["packer_run_uuid"] for entry in manifest["builds"]} == {manifest["last_run_uuid"]}
    raw_log = Path(result.log_paths[0])
    assert "Packer version: 1.6" in raw_log.read_text() or "Packer version" in raw_log.read_text()
    stored = json.loads(Path(str(result.result_path)).read_text())
    assert stored["command_id"] == result.command_id


def test_manifest_capture_keeps_only_this_runs_entries(example: Path, tmp_path: Path) -> None:
    first = packer.build([str(example)], workdir=tmp_path / "wd", cwd=tmp_path)
    second = packer.build([str(example)], workdir=tmp_path / "wd", cwd=tmp_path)
    assert first.exit_code == second.exit_code == 0
    appended = json.loads((tmp_path / "packer-manifest.json").read_text())
    assert len(appended["builds"]) == 6  # Packer appends across runs
    captured = json.loads(Path(str(second.manifest_path)).read_text())
    assert len(captured["builds"]) == 3


def test_broken_template_is_a_config_error(tmp_path: Path) -> None:
    write_template(tmp_path / "broken", 'source "null" "a" {\n  communicator = \n')
    validated = packer.validate([str(tmp_path / "broken")], workdir=tmp_path / "wd")
    built = packer.build([str(tmp_path / "broken")], workdir=tmp_path / "wd")
    for result in (validated, built):
        assert (result.exit_code, result.classification) == (1, "config"), result.message
        assert result.attempts == 1
        assert result.remediation


def test_unset_variable_is_a_config_error(tmp_path: Path) -> None:
    write_template(
        tmp_path / "t",
        """
        variable "region" {
          type = string
        }
        source "null" "a" {
          communicator = "none"
        }
        build {
          sources = ["source.null.a"]
        }
        """,
    )
    result = packer.validate([str(tmp_path / "t")], workdir=tmp_path / "wd")
    assert (result.exit_code, result.rule) == (1, "unset_variable"), result.stderr


def test_transient_failure_is_retried_once_then_escalated(tmp_path: Path) -> None:
    write_template(
        tmp_path / "t",
        """
        source "null" "flaky" {
          communicator = "none"
        }
        build {
          sources = ["source.null.flaky"]
          provisioner "shell-local" {
            inline = [
              "echo 'Post \\"https://api.test/v1/img\\": dial tcp 10.0.0.1:443: i/o timeout' >&2",
              "exit 1",
            ]
          }
        }
        """,
    )
    result = packer.build([str(tmp_path / "t")], workdir=tmp_path / "wd")
    assert (result.exit_code, result.classification, result.rule) == (2, "transient", "io_timeout")
    assert result.attempts == 2 and result.retryable
    assert len(result.log_paths) == 2
    assert "escalate" in (result.remediation or "")


def test_secret_echoed_by_provisioners_appears_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_template(
        tmp_path / "t",
        """
        variable "api_token" {
          type      = string
          default   = env("HC_TEST_API_TOKEN")
          sensitive = true
        }
        source "null" "leaky" {
          communicator = "none"
        }
        build {
          sources = ["source.null.leaky"]
          provisioner "shell-local" {
            environment_vars = ["TOKEN=${var.api_token}"]
            inline = [
              "echo plain: $TOKEN",
              "echo stderr: $TOKEN >&2",
              "echo explicit: $HC_TEST_OTHER",
              "printf '{\\"token\\": \\"%s\\"}\\n' \\"$TOKEN\\"",
            ]
          }
          post-processor "manifest" {
            output      = "leaky-manifest.json"
            custom_data = { token = var.api_token }
          }
        }
        """,
    )
    other = "another-secret-4711"
    monkeypatch.setenv("HC_TEST_API_TOKEN", SECRET)
    monkeypatch.setenv("HC_TEST_OTHER", other)
    workdir = tmp_path / "wd"
    proc = subprocess.run(
        [
            *CLI,
            "--workdir",
            str(workdir),
            "--json",
            "build",
            "--secret-env",
            "HC_TEST_OTHER",
            str(tmp_path / "t"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert sorted(result["secrets"]) == ["HC_TEST_API_TOKEN", "HC_TEST_OTHER"]
    assert "<sensitive>" in result["stdout"]
    assert "explicit: <sensitive>" in proc.stderr
    files = _files_under(workdir)
    assert any(path.name.endswith(".packer.log") for path in files)
    assert any(path.name == "manifest.json" for path in files)
    for value in (SECRET, other, *SECRET.split(","), "hunter2"):
        for text in (proc.stdout, proc.stderr, *(p.read_text(errors="replace") for p in files)):
            assert value not in text


def test_secret_on_the_command_line_is_refused_before_packer_runs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            *CLI,
            "--workdir",
            str(tmp_path),
            "--json",
            "build",
            "--var",
            "admin_password=x",
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 3
    result = json.loads(proc.stdout)
    assert (result["rule"], result["attempts"], result["packer_exit_code"]) == (
        "secret_on_command_line",
        0,
        None,
    )
    assert result["runs"] == [] and "env(" in result["remediation"]
    assert "admin_password=x" not in proc.stdout


def test_cli_json_build_prints_a_schema_valid_result(example: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [*CLI, "--workdir", str(tmp_path / "wd"), "--json", "build", str(example)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    jsonschema.validate(json.loads(proc.stdout), _schema())
    printed = subprocess.run([*CLI, "schema", "result"], capture_output=True, text=True, check=True)
    assert json.loads(printed.stdout) == _schema()


def test_relative_paths_keep_working_from_the_template_directory(
    example: Path, tmp_path: Path
) -> None:
    result = packer.build(".", var_files=["ci.pkrvars.hcl"], workdir=tmp_path / "wd", cwd=example)
    assert result.exit_code == 0, result.message
    assert (example / "packer-manifest.json").exists()
    assert (example / "out" / "seed-1.4.0.txt").exists()


def test_non_utf8_and_long_lines_are_logged_without_a_crash(tmp_path: Path) -> None:
    write_template(
        tmp_path / "t",
        """
        source "null" "noisy" {
          communicator = "none"
        }
        build {
          sources = ["source.null.noisy"]
          provisioner "shell-local" {
            inline = [
              "printf 'bad bytes: \\\\377\\\\376 end\\\\n'",
              "head -c 1000000 /dev/zero | tr '\\\\0' x; echo",
            ]
          }
        }
        """,
    )
    result = packer.build([str(tmp_path / "t")], workdir=tmp_path / "wd")
    assert result.exit_code == 0, result.message
    assert result.runs[0].stdout_truncated  # the tail is bounded; the raw log keeps it all
    raw_log = Path(result.log_paths[0]).read_text(encoding="utf-8")
    assert "bad bytes: \\xff\\xfe end" in raw_log
    assert "x" * 1_000_000 in raw_log


def _wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def _gone(pid: int, timeout: float = 5.0) -> bool:
    """True once `pid` has exited (a zombie waiting for its reaper counts as exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_packer_gracefully_and_leaves_no_process(
    tmp_path: Path, signum: int
) -> None:
    template_dir = tmp_path / "t"
    _sleeping_template(template_dir, 60)
    tool = subprocess.Popen(
        [*CLI, "--workdir", str(tmp_path / "wd"), "--json", "build", str(template_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(template_dir / "child.pid")
    child = int((template_dir / "child.pid").read_text())
    started = time.monotonic()
    tool.send_signal(signum)
    out, err = tool.communicate(timeout=60)
    assert time.monotonic() - started < 30
    assert tool.returncode == 2, err
    result = json.loads(out)
    assert (result["rule"], result["attempts"], result["retryable"]) == ("interrupted", 1, True)
    raw_log = Path(result["log_paths"][0]).read_text()
    assert "Cancelling build" in raw_log or "cancel" in raw_log.lower()
    assert _gone(child), "the provisioner's shell outlived the tool"


def test_timeout_stops_packer_and_is_transient(tmp_path: Path) -> None:
    template_dir = tmp_path / "t"
    _sleeping_template(template_dir, 60)
    started = time.monotonic()
    result = packer.build([str(template_dir)], workdir=tmp_path / "wd", timeout=2, kill_after=10)
    assert time.monotonic() - started < 40
    assert (result.exit_code, result.rule, result.attempts) == (
        2,
        "timeout",
        1,
    )  # one bound for the command: no retry after it
    assert _gone(int((template_dir / "child.pid").read_text()))


def test_two_runs_at_once_keep_separate_records(example: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "wd"
    procs = [
        subprocess.Popen(
            [*CLI, "--workdir", str(workdir), "--json", "build", "--only", build, str(example)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path / run,
        )
        for run, build in (("a", "null.vsphere"), ("b", "null.azure"))
        if (tmp_path / run).mkdir() is None
    ]
    results = [json.loads(proc.communicate(timeout=120)[0]) for proc in procs]
    assert [r["exit_code"] for r in results] == [0, 0], [(r["rule"], r["message"]) for r in results]
    assert results[0]["command_id"] != results[1]["command_id"]
    for result in results:
        assert Path(result["result_path"]).exists()


def test_packer_temp_files_live_in_a_private_directory_that_is_removed(tmp_path: Path) -> None:
    write_template(
        tmp_path / "t",
        f"""
        source "null" "tmp" {{
          communicator = "none"
        }}
        build {{
          sources = ["source.null.tmp"]
          provisioner "shell-local" {{
            inline = ["echo $TMPDIR > {tmp_path}/tmpdir.txt", "ls $TMPDIR > {tmp_path}/ls.txt"]
          }}
        }}
        """,
    )
    result = packer.build([str(tmp_path / "t")], workdir=tmp_path / "wd")
    assert result.exit_code == 0, result.message
    child_tmp = Path((tmp_path / "tmpdir.txt").read_text().strip())
    assert child_tmp.parent.name.startswith("hybridcore-run-")
    assert "packer-shell" in (tmp_path / "ls.txt").read_text()  # Packer really used it
    assert not child_tmp.parent.exists()
