"""Faults with the real packer: a killed Packer, a detached provisioner process and
--timeout each end with the documented class, and nothing outlives the build."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from hybridcore import packer
from tests.conftest import write_template

pytestmark = pytest.mark.integration

# Walks up from the provisioner's shell to the outermost `packer` process and kills it.
KILL_PACKER = (
    'p=$PPID; top=; while [ "$p" -gt 1 ]; do '
    '[ "$(cat /proc/$p/comm)" = packer ] && top=$p; '
    "p=$(awk '{print $4}' /proc/$p/stat); done; kill -9 $top"
)


@pytest.fixture(autouse=True)
def _require_packer() -> None:
    assert shutil.which("packer"), "integration tests need packer on PATH (scripts/bootstrap.sh)"


def _template(directory: Path, inline: list[str]) -> Path:
    lines = ", ".join(f'"{line}"' for line in (s.replace('"', '\\"') for s in inline))
    return write_template(
        directory,
        f"""
        source "null" "a" {{
          communicator = "none"
        }}
        build {{
          sources = ["source.null.a"]
          provisioner "shell-local" {{
            inline = [{lines}]
          }}
        }}
        """,
    )


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_packer_killed_by_sigkill_is_transient_after_two_attempts(tmp_path: Path) -> None:
    template = _template(tmp_path / "t", [KILL_PACKER])
    result = packer.build(str(template), workdir=tmp_path / "wd", cwd=tmp_path)
    assert (result.exit_code, result.classification, result.rule) == (
        2,
        "transient",
        "packer_killed",
    )
    assert result.attempts == 2
    assert result.evidence == "packer ended by signal 9"


def test_a_detached_process_is_gone_when_the_build_returns(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    template = _template(
        tmp_path / "t",
        [
            f"setsid sh -c 'echo $$ >> {pids}; exec sleep 60' >/dev/null 2>&1 </dev/null &",
            f"(sh -c 'echo $$ >> {pids}; exec sleep 61' >/dev/null 2>&1 &)",
            f"while [ $(wc -l < {pids} 2>/dev/null || echo 0) -lt 2 ]; do sleep 0.05; done",
        ],
    )
    started = time.monotonic()
    result = packer.build(str(template), workdir=tmp_path / "wd", cwd=tmp_path)
    assert result.exit_code == 0, result.message
    assert time.monotonic() - started < 30
    escaped = [int(line) for line in pids.read_text().split()]
    assert len(escaped) == 2
    assert not [pid for pid in escaped if _alive(pid)]


def test_timeout_bounds_the_whole_command(tmp_path: Path) -> None:
    template = _template(tmp_path / "t", ["sleep 10"])
    started = time.monotonic()
    result = packer.build(
        str(template), workdir=tmp_path / "wd", cwd=tmp_path, timeout=2, kill_after=2
    )
    took = time.monotonic() - started
    assert (result.exit_code, result.rule, result.attempts) == (2, "timeout", 1)
    assert took < 2 + 2 + 3  # the bound, the grace to stop, start-up
    assert Path(result.runs[0].log_paths[0]).exists()
