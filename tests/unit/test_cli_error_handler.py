"""The one error handler: every way a command can end, through `main` and a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybridcore.cli.main import main
from tests.conftest import write_template

CLI = [sys.executable, "-m", "hybridcore.cli"]
SIMPLE = (
    'source "null" "a" {\n  communicator = "none"\n}\n\nbuild {\n  sources = ["source.null.a"]\n}\n'
)
CHECK = "hybridcore.packer.commands.inputs_check.drift"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """main() may set up process-wide logging; put it back. Run from a scratch directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYBRIDCORE_PACKER_BIN", raising=False)
    yield


def _raise(exc: BaseException) -> object:
    def command(*args: object, **kwargs: object) -> object:
        raise exc

    return command


def test_a_usage_error_exits_1_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["drift"])
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err


def test_a_refusal_exits_with_its_class_and_says_error_and_hint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["manifest", "import", "missing.json"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "hybridcore-packer: error: manifest file 'missing.json' does not exist."
    assert err[1].startswith("hybridcore-packer: hint: ")


@pytest.mark.parametrize("command", [["drift", "t"], ["verify", "t"], ["schema", "result"]])
def test_ctrl_c_in_any_command_is_transient(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(CHECK, _raise(KeyboardInterrupt()))
    monkeypatch.setattr(
        "hybridcore.packer.commands.inputs_check.verify", _raise(KeyboardInterrupt())
    )
    # `hybridcore.cli.main` names the function too, hence the module from sys.modules
    monkeypatch.setattr(sys.modules["hybridcore.cli.main"], "out", _raise(KeyboardInterrupt()))
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("hybridcore-packer: interrupted (exit 2, transient)")
    assert "Traceback" not in err


def test_sigterm_stops_a_command_like_ctrl_c_and_the_old_handler_comes_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def slow(*args: object, **kwargs: object) -> object:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
        raise AssertionError("SIGTERM did not stop the command")

    monkeypatch.setattr(CHECK, slow)
    before = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    assert main(["drift", "t"]) == 2
    assert time.monotonic() - started < 5
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_bug_is_internal_exit_3_one_paragraph_and_the_traceback_in_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(CHECK, _raise(RuntimeError("boom")))
    assert main(["--workdir", str(tmp_path / "wd"), "drift", "t"]) == 3
    err = capsys.readouterr().err
    (line,) = err.splitlines()  # one paragraph, no traceback
    (log_file,) = (tmp_path / "wd" / "logs" / "hybridcore").glob("*/hybridcore.log")
    assert line == (
        f"hybridcore-packer: internal error: RuntimeError: boom; the traceback is in "
        f"{log_file}; please report it."
    )
    text = log_file.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom" in text


def test_a_bug_inside_build_is_an_internal_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "hybridcore.packer.commands._command.locate_packer", _raise(ValueError("odd"))
    )
    template = write_template(tmp_path / "t", SIMPLE)
    code = main(["--json", "--workdir", str(tmp_path / "wd"), "build", str(template)])
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert (code, result["classification"], result["exit_code"]) == (3, "internal", 3)
    log_file = tmp_path / "wd" / "logs" / "packer" / result["command_id"] / "hybridcore.log"
    assert f"the traceback is in {log_file}" in result["message"]
    assert "Traceback" in log_file.read_text()
    assert "Traceback" not in captured.err
    assert "exit 3 (internal)" in captured.err


def test_a_broken_pipe_that_is_not_stdout_is_a_bug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(CHECK, _raise(BrokenPipeError(32, "Broken pipe")))
    assert main(["drift", "t"]) == 3
    assert "internal error: BrokenPipeError" in capsys.readouterr().err


# --- through a real process ----------------------------------------------------------------


def test_a_closed_stdout_ends_quietly_with_the_commands_exit_code() -> None:
    tool = subprocess.Popen(
        [*CLI, "schema", "result"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert tool.stdout is not None
    tool.stdout.close()  # the reader is gone before the tool writes, as with `| head -0`
    _, err = tool.communicate(timeout=60)
    assert (tool.returncode, err) == (0, b"")


def _with_fault(tmp_path: Path, fault: str) -> dict[str, str]:
    """An environment whose interpreter replaces `drift` with `fault` at start-up."""
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(
        textwrap.dedent(
            f"""
            import time
            import hybridcore.packer.commands.inputs_check as checks

            def drift(*args, **kwargs):
                {fault}

            checks.drift = drift
            """
        )
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(inject), *sys.path])}


def test_a_bug_in_a_real_process_prints_one_paragraph_and_exits_3(tmp_path: Path) -> None:
    env = _with_fault(tmp_path, "raise LookupError('no such build state')")
    proc = subprocess.run(
        [*CLI, "--workdir", str(tmp_path / "wd"), "drift", "t"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("hybridcore-packer: internal error: LookupError: no such build")
    (log_file,) = (tmp_path / "wd" / "logs" / "hybridcore").glob("*/hybridcore.log")
    assert f"the traceback is in {log_file}; please report it." in line
    assert "LookupError: no such build state" in log_file.read_text()


def test_sigterm_to_a_real_process_is_interrupted_exit_2(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    env = _with_fault(tmp_path, f"open({str(marker)!r}, 'w').close(); time.sleep(60)")
    tool = subprocess.Popen(
        [*CLI, "drift", "t"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    tool.send_signal(signal.SIGTERM)
    out, err = tool.communicate(timeout=30)
    assert (tool.returncode, out) == (2, "")
    assert err.startswith("hybridcore-packer: interrupted (exit 2, transient)")
