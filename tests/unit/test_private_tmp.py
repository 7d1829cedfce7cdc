"""Private TMPDIRs: removed at the end of a run, and by the next run once their owner is gone."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hybridcore.packer.run.private_tmp import PREFIX, private_dir, remove_orphans

HOLDER = """
import subprocess, sys, time
from pathlib import Path
from hybridcore.packer.run.private_tmp import private_dir
with private_dir(Path(sys.argv[1])) as owned:
    (owned.path / "packer-log123").write_text("unscrubbed")
    if len(sys.argv) > 2:  # a child (Packer) that inherits the lock
        child = subprocess.Popen(["sleep", "30"], pass_fds=(owned.lock_fd,))
        print(child.pid, flush=True)
    print(owned.path, flush=True)
    time.sleep(60)
"""


def _killed_holder(root: Path, *, with_child: bool) -> tuple[Path, int | None]:
    argv = [sys.executable, "-c", HOLDER, str(root)] + (["child"] if with_child else [])
    holder = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    with holder.stdout:
        child = int(holder.stdout.readline()) if with_child else None
        left = Path(holder.stdout.readline().strip())
        assert remove_orphans(root) == []  # in use
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    return left, child


def test_a_run_removes_its_directory_and_the_lock_keeps_others_off(tmp_path: Path) -> None:
    with private_dir(tmp_path) as owned:
        assert owned.path.name.startswith(PREFIX)
        assert owned.path.stat().st_mode & 0o077 == 0
        assert remove_orphans(tmp_path) == []  # in use: the lock is held
        assert owned.path.is_dir()
    assert not owned.path.exists()


def test_the_directory_of_a_killed_run_is_removed_by_the_next_one(tmp_path: Path) -> None:
    left, _ = _killed_holder(tmp_path, with_child=False)
    assert (left / "packer-log123").exists()  # kill -9: nothing cleaned up
    assert remove_orphans(tmp_path) == [left]
    assert not left.exists()


def test_a_directory_stays_while_a_child_of_the_killed_run_holds_the_lock(
    tmp_path: Path,
) -> None:
    left, child = _killed_holder(tmp_path, with_child=True)
    assert child is not None
    try:
        assert remove_orphans(tmp_path) == []  # Packer still cleaning up: not pulled away
        assert left.is_dir()
    finally:
        os.kill(child, signal.SIGKILL)
    for _ in range(100):  # the child is not ours to reap: wait until it is gone
        if remove_orphans(tmp_path):
            break
        time.sleep(0.05)
    assert not left.exists()


OWNED = """
import os, subprocess, sys, time
from pathlib import Path
from hybridcore.packer.run.private_tmp import TEMP, private_dir
with private_dir(Path(sys.argv[1])) as owned:
    (owned.path / TEMP).mkdir()
    (owned.path / "packer-log123").write_text("unscrubbed")
    env = {**os.environ, "TMPDIR": str(owned.path / TEMP)}
    packer = subprocess.Popen(["sleep", sys.argv[2]], pass_fds=(owned.lock_fd,), env=env)
    owned.note_child(packer.pid)
    # what a provisioner leaves running: it inherits the lock and the TMPDIR
    leftover = subprocess.Popen(["sleep", "30"], pass_fds=(owned.lock_fd,), env=env)
    print(packer.pid, leftover.pid, owned.path, flush=True)
    if sys.argv[2] == "0":
        packer.wait()
    time.sleep(60)
"""


def _killed_owner(root: Path, packer_seconds: str) -> tuple[Path, int, int]:
    holder = subprocess.Popen(
        [sys.executable, "-c", OWNED, str(root), packer_seconds], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    with holder.stdout:
        packer, leftover, left = holder.stdout.readline().split()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    return Path(left), int(packer), int(leftover)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_leftovers_of_a_killed_run_whose_packer_is_gone_are_stopped_and_removed(
    tmp_path: Path,
) -> None:
    left, _packer, leftover = _killed_owner(tmp_path, "0")
    try:
        assert remove_orphans(tmp_path) == [left]
        assert not left.exists()  # with Packer's unscrubbed log
        assert not _alive(leftover)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(leftover, signal.SIGKILL)


def test_a_killed_run_whose_packer_still_cleans_up_is_left_alone(tmp_path: Path) -> None:
    left, packer, leftover = _killed_owner(tmp_path, "30")
    try:
        assert remove_orphans(tmp_path) == []
        assert left.is_dir()
        assert _alive(packer) and _alive(leftover)
    finally:
        for pid in (packer, leftover):
            os.kill(pid, signal.SIGKILL)
