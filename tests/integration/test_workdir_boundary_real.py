"""The workdir is a boundary (real packer): a tool directory that is a symlink out of the
workdir is refused with exit 3 and its target untouched; --cache-dir DIR keeps DIR as it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_template

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "hybridcore.cli"]
TEMPLATE = """
source "null" "a" {
  communicator = "none"
}
build {
  sources = ["source.null.a"]
}
"""


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--workdir", "wd", "--json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("linked", ["artifacts", "logs", "state/packer"])
@pytest.mark.parametrize("command", ["build", "verify"])
def test_a_tool_directory_linked_out_of_the_workdir_is_refused(
    tmp_path: Path, linked: str, command: str
) -> None:
    write_template(tmp_path / "t", TEMPLATE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    link = tmp_path / "wd" / linked
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere)
    before = _snapshot(elsewhere)
    done = _cli(tmp_path, command, "t")
    assert done.returncode == 3, done.stderr
    assert "workdir_symlink_escape" in done.stdout or "symbolic link" in done.stderr
    assert f"{linked} is a symbolic link to {elsewhere}" in done.stderr
    assert _snapshot(elsewhere) == before


def test_a_link_that_stays_inside_the_workdir_is_fine(tmp_path: Path) -> None:
    write_template(tmp_path / "t", TEMPLATE)
    (tmp_path / "wd" / "real-artifacts").mkdir(parents=True)
    (tmp_path / "wd" / "artifacts").symlink_to(tmp_path / "wd" / "real-artifacts")
    done = _cli(tmp_path, "build", "t")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "wd" / "real-artifacts" / "null.a.json").is_file()


def test_cache_dir_of_the_user_keeps_its_mode_and_gets_a_subdirectory(tmp_path: Path) -> None:
    write_template(tmp_path / "t", TEMPLATE)
    mine = tmp_path / "mine"
    mine.mkdir()
    mine.chmod(0o750)
    done = _cli(tmp_path, "build", "--cache-dir", "mine", "t")
    assert done.returncode == 0, done.stderr
    assert mine.stat().st_mode & 0o777 == 0o750
    assert not (mine / "index.json").exists()
    assert (mine / "hybridcore-iso-cache").is_dir()
    assert json.loads(done.stdout)["cache"] is not None
