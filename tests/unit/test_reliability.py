"""Faults: an unwritable raw log, huge and non-UTF-8 output, concurrent and killed writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hybridcore import packer
from hybridcore.packer.store.artifact_records import ArtifactRegistry
from tests.conftest import REPO, FakePacker, write_template

SIMPLE = (
    'source "null" "a" {\n  communicator = "none"\n}\nbuild {\n  sources = ["source.null.a"]\n}\n'
)


def test_a_raw_log_that_cannot_be_written_is_a_security_violation(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    fake.script([{"log": "debug line\n"}])
    write_template(tmp_path / "t", SIMPLE)
    command_id = "20260101T000000Z-0000dead"
    blocker = tmp_path / "wd" / "logs" / "packer" / command_id / "t" / "attempt-1.packer.log"
    blocker.mkdir(parents=True)  # a directory where the raw log file should go
    result = packer.build(
        "t", packer=str(fake.path), workdir=tmp_path / "wd", cwd=tmp_path, command_id=command_id
    )
    assert (result.exit_code, result.rule) == (3, "raw_log_unscrubbed")


def test_a_50_mb_line_and_invalid_utf8_are_logged_without_a_crash(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    big = "x" * (50 * 1024 * 1024)
    fake.script([{"stdout": "bad \udcff bytes\n" + big + "\nend\n"}])
    write_template(tmp_path / "t", SIMPLE)
    result = packer.build("t", packer=str(fake.path), workdir=tmp_path / "wd", cwd=tmp_path)
    assert result.exit_code == 0, result.message
    assert result.stdout.endswith("end\n") and result.runs[0].stdout_truncated


def test_two_processes_recording_the_same_build_lose_no_record(tmp_path: Path) -> None:
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from hybridcore.packer.store.artifact_records import import_manifest\n"
        "for _ in range(15):\n"
        "    import_manifest(Path(sys.argv[1]), workdir=Path(sys.argv[2]), write=True)\n"
    )
    manifest = REPO / "tests" / "golden" / "manifests" / "null.json"
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(manifest), str(tmp_path)])
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    per_import = len(json.loads(manifest.read_text())["builds"])
    registry = ArtifactRegistry(tmp_path)
    total = sum(len(registry.load(build)) for build in registry.builds())
    assert total == 2 * 15 * per_import


def test_kill_9_while_recording_leaves_only_whole_files(tmp_path: Path) -> None:
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from hybridcore.packer.store.artifact_records import import_manifest\n"
        "while True:\n"
        "    import_manifest(Path(sys.argv[1]), workdir=Path(sys.argv[2]), write=True)\n"
    )
    manifest = REPO / "tests" / "golden" / "manifests" / "amazon-ebs.json"
    proc = subprocess.Popen([sys.executable, "-c", script, str(manifest), str(tmp_path)])
    deadline = time.monotonic() + 30
    while not list((tmp_path / "artifacts").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for record_file in (tmp_path / "artifacts").glob("*.json"):
        data = json.loads(record_file.read_text())  # never torn
        assert data["records"]
    # a temp file a killed writer left behind is removed by the next run
    leftovers = list((tmp_path / "artifacts").glob(".*.tmp"))
    stale = tmp_path / "artifacts" / ".amazon-ebs.ubuntu.json.zzz.tmp"
    stale.write_text("{torn")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    ArtifactRegistry(tmp_path).append([])
    from hybridcore.packer.store.state_files import clean_stale_temp_files

    clean_stale_temp_files(tmp_path)
    assert not stale.exists()
    assert all(not p.exists() or p.stat().st_mtime > time.time() - 600 for p in leftovers)


def test_an_unwritable_workdir_is_a_clear_exit_1(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    write_template(tmp_path / "t", SIMPLE)
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = packer.build("t", packer=str(fake.path), workdir=not_a_dir, cwd=tmp_path)
    assert (result.exit_code, result.rule) == (1, "workdir_unwritable")
    assert str(not_a_dir) in result.message
    proc = subprocess.run(
        [sys.executable, "-m", "hybridcore.cli", "--workdir", str(not_a_dir), "build", "t"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "--workdir" in proc.stderr
