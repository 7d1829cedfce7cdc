"""Running one packer process: streaming, capture, scrubbing, timeout, process group."""

from __future__ import annotations

import _thread
import contextlib
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hybridcore.logs import LOGGER_NAME
from hybridcore.packer.run.process import ProcessOutcome, run_process
from hybridcore.redaction.engine import PLACEHOLDER, Redactor
from tests.conftest import FakePacker

SECRET = "hunter2,Sup3r-Secret"


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _run(argv: list[str], tmp_path: Path, **kwargs: object) -> ProcessOutcome:
    options: dict[str, object] = {
        "env": {"PATH": os.environ.get("PATH", "")},
        "cwd": tmp_path,
        "redactor": Redactor([SECRET]),
        "label": "null.test",
        "command_id": "cmd-1",
    }
    options.update(kwargs)
    return run_process(argv, **options)  # type: ignore[arg-type]


def _gone(pid: int) -> bool:
    """The process no longer runs. A killed orphan may linger as a zombie until
    init reaps it (some container inits never do); a zombie runs nothing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in {"Z", "X"}


def _wait_gone(pid: int, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.02)
    return _gone(pid)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[_Records]:
    handler = _Records()
    logger = logging.getLogger(LOGGER_NAME)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_captures_exit_status_stdout_and_stderr(tmp_path: Path) -> None:
    outcome = _run(
        _python("import sys; print('out line'); print('err line', file=sys.stderr); sys.exit(7)"),
        tmp_path,
    )
    assert outcome.returncode == 7
    assert outcome.stdout == "out line\n"
    assert outcome.stderr == "err line\n"
    assert not (outcome.timed_out or outcome.interrupted or outcome.killed)
    assert outcome.started_at <= outcome.finished_at


def test_output_is_scrubbed_in_the_outcome_and_in_log_records(
    tmp_path: Path, records: _Records
) -> None:
    code = (
        "import sys\n"
        f"print('token {SECRET}')\n"
        f"print('escaped {SECRET.replace(',', '%!(PACKER_COMMA)')}')\n"
        f"print('stderr {SECRET}', file=sys.stderr)\n"
    )
    outcome = _run(_python(code), tmp_path)
    assert SECRET not in outcome.stdout + outcome.stderr
    assert "hunter2" not in outcome.stdout + outcome.stderr
    assert f"token {PLACEHOLDER}" in outcome.stdout
    assert f"stderr {PLACEHOLDER}" in outcome.stderr
    messages = [record.getMessage() for record in records.records]
    assert any(PLACEHOLDER in message for message in messages)
    assert not any("hunter2" in message for message in messages)


def test_log_records_carry_label_and_command_id(tmp_path: Path, records: _Records) -> None:
    _run(_python("import sys; print('hello'); print('oops', file=sys.stderr)"), tmp_path)
    by_message = {record.getMessage(): record for record in records.records}
    assert by_message["hello"].levelno == logging.INFO
    assert by_message["oops"].levelno == logging.WARNING
    for record in (by_message["hello"], by_message["oops"]):
        assert record.__dict__["prefix"] == "null.test"
        assert record.__dict__["command_id"] == "cmd-1"


def test_output_is_logged_while_the_process_still_runs(tmp_path: Path, records: _Records) -> None:
    """The child waits for a file that only the logging of its first line creates."""
    marker = tmp_path / "seen"

    class CreateMarker(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "first line" in record.getMessage():
                marker.touch()

    handler = CreateMarker()
    logging.getLogger(LOGGER_NAME).addHandler(handler)
    code = (
        "import os, sys, time\n"
        "print('first line', flush=True)\n"
        "deadline = time.time() + 10\n"
        f"while not os.path.exists({str(marker)!r}) and time.time() < deadline:\n"
        "    time.sleep(0.01)\n"
        f"sys.exit(0 if os.path.exists({str(marker)!r}) else 9)\n"
    )
    try:
        outcome = _run(_python(code), tmp_path, timeout=15)
    finally:
        logging.getLogger(LOGGER_NAME).removeHandler(handler)
    assert outcome.returncode == 0
    assert not outcome.timed_out


def test_environment_cwd_and_stdin(tmp_path: Path) -> None:
    code = (
        "import json, os, sys\n"
        "print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd(),"
        " 'stdin': sys.stdin.read()}))\n"
    )
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    outcome = _run(_python(code), tmp_path, env={"ONLY_THIS": "1"}, cwd=workdir)
    seen = json.loads(outcome.stdout)
    assert seen["env"].get("ONLY_THIS") == "1"
    assert "HOME" not in seen["env"]
    assert Path(seen["cwd"]).resolve() == workdir.resolve()
    assert seen["stdin"] == ""  # stdin is closed: nothing ever waits for a keypress


def test_child_runs_in_its_own_process_group_and_session(tmp_path: Path) -> None:
    started: list[int] = []
    code = "import os; print(os.getpid(), os.getpgrp(), os.getsid(0))"
    outcome = _run(_python(code), tmp_path, on_start=started.append)
    pid, pgrp, sid = map(int, outcome.stdout.split())
    assert started == [pid]
    assert pgrp == pid
    assert sid == pid
    assert pgrp != os.getpgrp()


def test_no_process_of_the_group_survives(tmp_path: Path) -> None:
    """A fake packer starts a background child and exits at once."""
    fake = tmp_path / "packer"
    fake.write_text("#!/bin/sh\nsleep 300 &\necho $!\nexit 0\n")
    fake.chmod(0o755)
    started = time.monotonic()
    outcome = _run([str(fake), "build"], tmp_path)
    assert outcome.returncode == 0
    orphan = int(outcome.stdout.split()[0])
    assert _wait_gone(orphan)
    assert time.monotonic() - started < 10


def test_timeout_stops_a_sleeping_fake_packer(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": "starting\n", "sleep": 60}])
    pids: list[int] = []
    started = time.monotonic()
    outcome = _run([str(fake.path), "build", "t"], tmp_path, timeout=0.5, on_start=pids.append)
    elapsed = time.monotonic() - started
    assert outcome.timed_out
    assert not outcome.killed
    assert outcome.returncode != 0
    assert elapsed < 10
    assert "starting" in outcome.stdout
    assert _wait_gone(pids[0])


def test_a_process_that_ignores_sigterm_is_killed_after_kill_after(tmp_path: Path) -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ignoring SIGTERM', flush=True)\n"
        "time.sleep(60)\n"
    )
    pids: list[int] = []
    started = time.monotonic()
    outcome = _run(_python(code), tmp_path, timeout=0.3, kill_after=0.5, on_start=pids.append)
    assert outcome.timed_out
    assert outcome.killed
    assert outcome.returncode == -9
    assert time.monotonic() - started < 10
    assert _wait_gone(pids[0])


def test_machine_readable_errors_and_artifacts_are_picked_out(tmp_path: Path) -> None:
    lines = [
        "1700000000,,ui,say,==> null.a: Running",
        "1700000000,,ui,error,Build 'null.a' errored: boom",
        "1700000000,null.a,artifact-count,1",
        "1700000000,null.a,artifact,0,builder-id,packer.null",
        "1700000000,null.a,artifact,0,id,Null",
        "1700000000,null.a,artifact,0,end",
    ]
    code = "print(" + repr("\n".join(lines)) + ")"
    outcome = _run(_python(code), tmp_path, machine_readable=True)
    assert outcome.error_text.strip() == "Build 'null.a' errored: boom"
    assert outcome.artifact_lines == [
        ("null.a", "0,builder-id,packer.null"),
        ("null.a", "0,id,Null"),
        ("null.a", "0,end"),
    ]
    assert "Build 'null.a' errored: boom" in outcome.failure_text


def test_machine_readable_errors_keep_packers_line_breaks_and_commas(tmp_path: Path) -> None:
    """Packer escapes a UI message's newlines and commas; the error text is what it printed."""
    line = (
        "1700000000,,ui,error,Error: Unsupported argument\\n\\n"
        "  on main.pkr.hcl line 3%!(PACKER_COMMA) in source:\\n  3:   bogus = 1"
    )
    outcome = _run(_python(f"print({line!r})"), tmp_path, machine_readable=True)
    assert outcome.error_text.strip().splitlines() == [
        "Error: Unsupported argument",
        "",
        "  on main.pkr.hcl line 3, in source:",
        "  3:   bogus = 1",
    ]


def test_machine_readable_is_rendered_for_people_in_the_log(
    tmp_path: Path, records: _Records
) -> None:
    code = "print('1700000000,,ui,say,==> null.a: one%!(PACKER_COMMA) two')"
    _run(_python(code), tmp_path, machine_readable=True)
    assert "==> null.a: one, two" in [record.getMessage() for record in records.records]


def test_large_output_keeps_a_bounded_tail(tmp_path: Path) -> None:
    code = (
        "import sys\nfor i in range(40000): sys.stdout.write(f'line {i:06d} ' + 'x' * 20 + '\\n')"
    )
    outcome = _run(_python(code), tmp_path)
    assert outcome.returncode == 0
    assert outcome.stdout_truncated
    assert outcome.stdout.endswith(f"line {39999:06d} {'x' * 20}\n")
    assert len(outcome.stdout) < 40000 * 32


def test_a_missing_executable_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        _run([str(tmp_path / "nope")], tmp_path)


def _reading(label: str) -> bool:
    """The output readers of run `label` are running: run_process is past its start-up."""
    return any(thread.name == f"{label}:stdout" for thread in threading.enumerate())


def _interrupt_when(condition: Callable[[], bool]) -> threading.Thread:
    """Ctrl-C for the main thread once `condition` holds (checked every 10 ms), and a
    moment later, so that it lands while run_process waits for packer."""

    def wait_then_interrupt() -> None:
        deadline = time.monotonic() + 20
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        _thread.interrupt_main()

    thread = threading.Thread(target=wait_then_interrupt, daemon=True)
    thread.start()
    return thread


def test_ctrl_c_asks_the_group_to_stop_and_returns_an_outcome(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": "building\n", "sleep": 15}])
    pids: list[int] = []
    started = time.monotonic()
    interrupter = _interrupt_when(lambda: _reading("null.test"))
    try:
        outcome = _run([str(fake.path), "build"], tmp_path, on_start=pids.append)
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped run_process")
    finally:
        interrupter.join()
    assert outcome.interrupted
    assert not outcome.timed_out
    assert not outcome.killed  # SIGTERM was enough; no SIGKILL needed
    assert outcome.returncode == -signal.SIGTERM
    assert time.monotonic() - started < 10
    assert _wait_gone(pids[0])


def _reap_leftover(pid: int) -> None:
    """After a failure of the test below: kill and reap the child run_process left
    behind, and close its pipes, so no other test sees its ResourceWarnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        if not _gone(pid):
            os.killpg(pid, signal.SIGKILL)
        active = getattr(subprocess, "_active", None) or []
        for proc in list(active):
            if proc.pid == pid:
                proc.wait(timeout=10)
                for stream in (proc.stdin, proc.stdout, proc.stderr):
                    if stream is not None:
                        stream.close()
                active.remove(proc)
        gc.collect()


def test_ctrl_c_right_after_packer_started_does_not_leave_it_running(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    """Packer runs in its own session, so a terminal's Ctrl-C never reaches it: only
    run_process can stop it. A Ctrl-C that arrives just after the process started
    (here: while the on_start hook runs) must still stop it."""
    fake = fake_packer()
    fake.script([{"sleep": 30}])
    pids: list[int] = []

    def ctrl_c_now(pid: int) -> None:
        pids.append(pid)
        raise KeyboardInterrupt

    outcome = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            # Passing the interrupt on is fine; leaving packer behind is not.
            with contextlib.suppress(KeyboardInterrupt):
                outcome = _run([str(fake.path), "build"], tmp_path, on_start=ctrl_c_now)
            assert pids
            stopped = _wait_gone(pids[0], seconds=2)
    finally:
        if pids:
            _reap_leftover(pids[0])
    assert stopped, "packer still runs after Ctrl-C"
    if outcome is not None:
        assert outcome.interrupted
