"""kill -9 of the tool mid-build: Packer does not outlive it, and after one more
command no file under the workdir or the run's TMPDIR holds the secret.

Runs HYBRIDCORE_KILL_RUNS times (default 5, to bound CI time; 20 by hand)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import write_template

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "hybridcore.cli"]
SECRET = "kill-nine-s3cret,value"
RUNS = int(os.environ.get("HYBRIDCORE_KILL_RUNS", "5"))


def _marked(marker: str, *, packer_only: bool = False) -> list[int]:
    """Live processes whose environment carries `marker` (zombies have none); with
    `packer_only`, only Packer and its plugins."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() not in (entry / "environ").read_bytes():
                continue
            if packer_only and b"packer" not in (entry / "cmdline").read_bytes().split(b"\0")[0]:
                continue
            found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait_for(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for log in path.rglob("hybridcore.log"):
            if text in log.read_text(errors="replace"):
                return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared under {path}")


def _holding(root: Path, secret: bytes) -> list[str]:
    return [
        str(path)
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and secret in path.read_bytes()
    ]


@pytest.mark.parametrize("run", range(RUNS))
def test_kill_nine_leaves_no_packer_and_no_secret(tmp_path: Path, run: int) -> None:
    write_template(
        tmp_path / "t",
        """
        source "null" "slow" {
          communicator = "none"
        }
        build {
          sources = ["source.null.slow"]
          provisioner "shell-local" {
            inline = ["echo started $KILL_SECRET", "sleep 60"]
          }
        }
        """,
    )
    short_tmp = Path(tempfile.mkdtemp(prefix="hck-", dir="/tmp"))  # plugin sockets: short
    marker = f"HC_KILL_TEST={uuid.uuid4().hex}"
    env = {**os.environ, "KILL_SECRET": SECRET, "TMPDIR": str(short_tmp)}
    env[marker.split("=")[0]] = marker.split("=")[1]
    try:
        tool = subprocess.Popen(
            [
                *CLI,
                "--workdir",
                "wd",
                "--kill-after",
                "3",
                "build",
                "--secret-env",
                "KILL_SECRET",
                "t",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(tmp_path / "wd", "started <sensitive>", timeout=60)
            assert _marked(marker, packer_only=True), "packer is not running"
        finally:
            tool.send_signal(signal.SIGKILL)
            tool.wait()
        # Packer gets SIGTERM from the kernel and cleans up; its watchdog kills it (and what
        # it leaves, e.g. a shell-local plugin waiting on `sleep 60`) after --kill-after 3 s
        deadline = time.monotonic() + 10
        while _marked(marker, packer_only=True) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert _marked(marker, packer_only=True) == [], "packer outlived the tool"
        # Packer's shell-local leaves the command it started running when it is cancelled
        # (`sleep 60` here): it holds the run's TMPDIR lock. With the tool and Packer gone,
        # the next command (any) stops it and removes the directory.
        after = subprocess.run(
            [*CLI, "--workdir", "wd", "artifacts"], cwd=tmp_path, env=env, capture_output=True
        )
        assert after.returncode in (0, 1), after.stderr
        time.sleep(0.2)  # a killed process is gone from /proc once its parent reaps it
        assert _marked(marker) == [], "a process of the killed build is still running"
        secret = SECRET.encode()
        assert _holding(tmp_path / "wd", secret) == []
        assert _holding(short_tmp, secret) == []
        assert list(short_tmp.glob("hybridcore-run-*")) == []
    finally:
        shutil.rmtree(short_tmp, ignore_errors=True)
