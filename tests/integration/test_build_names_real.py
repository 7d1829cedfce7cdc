"""Builds named `a b`, `a_b`, `a/b` and `semi,comma` (real packer): each gets its own
record and inputs manifest, serially and with --parallel, and verify passes on all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_template

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "hybridcore.cli"]
NAMES = ["null.a b", "null.a/b", "null.a_b", "null.semi,comma"]
TEMPLATE = """
source "null" "base" {
  communicator = "none"
}
build {
  source "source.null.base" {
    name = "a b"
  }
  source "source.null.base" {
    name = "a_b"
  }
  source "source.null.base" {
    name = "a/b"
  }
  source "source.null.base" {
    name = "semi,comma"
  }
}
"""


def _cli(cwd: Path, *args: str) -> tuple[int, dict[str, object], str]:
    done = subprocess.run(
        [*CLI, "--workdir", "wd", "--json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, json.loads(done.stdout or "{}"), done.stderr


@pytest.mark.parametrize("parallel", [[], ["--parallel", "2"]], ids=["serial", "parallel"])
def test_every_build_gets_its_own_record_and_verify_passes(
    tmp_path: Path, parallel: list[str]
) -> None:
    write_template(tmp_path / "t", TEMPLATE)
    code, result, err = _cli(tmp_path, "build", *parallel, "t")
    assert code == 0, err
    assert sorted(r["build"] for r in result["records"]) == NAMES  # type: ignore[union-attr]
    artifacts = tmp_path / "wd" / "artifacts"
    records = sorted(p for p in artifacts.glob("*.json") if not p.name.endswith(".hash.json"))
    assert len(records) == 4
    assert sorted(json.loads(p.read_text())["build"] for p in records) == NAMES
    assert len(list(artifacts.glob("*.hash.json"))) == 4
    code, _, err = _cli(tmp_path, "verify", "t")
    assert code == 0, err
