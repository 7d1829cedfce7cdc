"""A full disk, with the real packer: one class (disk_full, exit 2) in the run's entry, the
result and the exit code, and no flood of logging tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_template

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "hybridcore.cli"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs: the build's output fills it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_full_disk_is_one_transient_class_everywhere(tmp_path: Path, small_disk: Path) -> None:
    template = write_template(
        tmp_path / "t",
        """
        source "null" "a" {
          communicator = "none"
        }
        build {
          sources = ["source.null.a"]
          provisioner "shell-local" {
            inline = ["yes 'a line of build output' | head -c 600000"]
          }
        }
        """,
    )
    done = subprocess.run(
        [*CLI, "--workdir", str(small_disk / "wd"), "--json", "build", str(template)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(done.stdout)
    assert done.returncode == 2, done.stderr[-2000:]
    assert (result["exit_code"], result["rule"]) == (2, "disk_full")
    assert {run["rule"] for run in result["runs"]} == {"disk_full"}
    assert "Logging error" not in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("No space left on device; the rest of that log is missing") <= 1
