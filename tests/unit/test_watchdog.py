"""The watchdog of a packer process: nothing when the run ends normally; when the tool is
killed, Packer is killed after the grace period and what carries the run's token with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from hybridcore.packer.run.watchdog import process_identity, start

TOOL = """
import sys, time
from hybridcore.packer.run.watchdog import start
watchdog = start(int(sys.argv[1]), sys.argv[2], float(sys.argv[3]))
print("watching" if watchdog else "not started", flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    return process_identity(pid) is not None


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_alive(pid) for pid in pids)


def _packer_and_leftover(marker: str) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    name, value = marker.split("=")
    env = {**os.environ, name: value}
    # a Packer that does not stop on SIGTERM, and a process it detached (another session)
    packer = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; sleep 30"], env=env, start_new_session=True
    )
    leftover = subprocess.Popen(["sleep", "30"], env=env, start_new_session=True)
    return packer, leftover


def test_a_run_that_ends_normally_leaves_everything_alone() -> None:
    marker = f"HC_WATCHDOG_TEST={uuid.uuid4().hex}"
    packer, leftover = _packer_and_leftover(marker)
    try:
        watchdog = start(packer.pid, marker, 0.2)
        assert watchdog is not None
        watchdog.release()
        time.sleep(0.5)
        assert _alive(packer.pid) and _alive(leftover.pid)
    finally:
        for process in (packer, leftover):
            process.kill()
            process.wait()


def test_after_a_kill_of_the_tool_packer_and_its_leftovers_are_killed(tmp_path: Path) -> None:
    marker = f"HC_WATCHDOG_TEST={uuid.uuid4().hex}"
    packer, leftover = _packer_and_leftover(marker)
    tool = subprocess.Popen(
        [sys.executable, "-c", TOOL, str(packer.pid), marker, "1"], stdout=subprocess.PIPE
    )
    assert tool.stdout is not None
    try:
        with tool.stdout:
            assert tool.stdout.readline().strip() == b"watching"
        tool.send_signal(signal.SIGKILL)
        tool.wait()
        time.sleep(0.5)
        assert _alive(packer.pid), "killed before its grace period (kill_after) ran out"
        assert packer.wait(timeout=5) == -signal.SIGKILL
        leftover.wait(timeout=5)
        assert _gone_within([packer.pid, leftover.pid], 1)
    finally:
        for process in (packer, leftover):
            process.kill()
            process.wait()
