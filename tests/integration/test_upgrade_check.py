"""upgrade-check with the real packer: against itself, and against a wrapper that
reports another version and changes its machine-readable output."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from hybridcore import packer
from hybridcore.packer.commands.upgrade_check import upgrade_check
from tests.conftest import REPO

pytestmark = pytest.mark.integration

REAL = shutil.which("packer") or "/usr/bin/packer"
ONLY = ["null.vsphere", "file.seed"]

WRAPPER = """#!/usr/bin/env bash
set -o pipefail
if [ "$1" = "version" ]; then
  echo "Packer v1.15.0"
  exit 0
fi
if [ "$1" = "build" ]; then
  {real} "$@" | sed -e 's/,ui,message,/,ui,say,/' -e 's/fnoeding.null/hashicorp.null/'
  exit $?
fi
exec {real} "$@"
"""


def _wrapper(directory: Path) -> Path:
    path = directory / "packer-next"
    path.write_text(WRAPPER.format(real=REAL))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_same_binary_has_no_differences(example: Path, tmp_path: Path) -> None:
    report = upgrade_check(
        example, old_packer=REAL, new_packer=REAL, only=ONLY, workdir=tmp_path / "wd"
    )
    assert report.differences == [], report.to_markdown()
    assert report.exit_code == 0
    assert report.required_signoffs == []
    assert report.from_version == report.to_version
    assert "No differences: no sign-off needed" in report.to_markdown()


def test_changed_binary_needs_signoffs(example: Path, tmp_path: Path) -> None:
    new = _wrapper(tmp_path)
    report = upgrade_check(
        example, old_packer=REAL, new_packer=str(new), only=ONLY, workdir=tmp_path / "wd"
    )
    markdown = report.to_markdown()
    kinds = {d.kind: d for d in report.differences}
    assert report.to_version == "1.15.0" and report.from_version != "1.15.0"
    assert kinds["packer version"].signoff is None
    lines = kinds["machine-readable line types"]
    assert "ui,message" in lines.before and "ui,message" not in lines.after, markdown
    builder = next(d for d in report.differences if d.detail == "null.vsphere")
    assert builder.kind == "builder ID", markdown
    assert (builder.before, builder.after) == ("fnoeding.null", "hashicorp.null")
    assert "exit code" not in kinds and "builds" not in kinds, markdown
    assert "hybridcore-packer maintainers" in report.required_signoffs
    assert "owners of downstream publish automation" in report.required_signoffs
    assert report.exit_code == 1

    md_path, json_path = report.write(tmp_path / "report")
    assert "hashicorp.null" in md_path.read_text()
    assert "hybridcore-packer maintainers" in md_path.read_text()
    data = json.loads(json_path.read_text())
    assert data["exit_code"] == 1
    assert data["required_signoffs"] == report.required_signoffs
    assert data["to"]["version"] == "1.15.0"


def test_cli_upgrade_check_writes_both_reports(example: Path, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    packer_path = shutil.which("packer") or "packer"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hybridcore.cli",
            "--workdir",
            str(tmp_path / "wd"),
            "upgrade-check",
            "--from",
            packer_path,
            "--to",
            packer_path,
            "--only",
            "null.vsphere",
            "--report-dir",
            str(tmp_path / "reports"),
            str(example),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "reports" / "upgrade-check.md").read_text().strip()
    assert json.loads((tmp_path / "reports" / "upgrade-check.json").read_text())["exit_code"] == 0


def _kinds(report: object) -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (d.kind, d.detail): (d.before, d.after)
        for d in report.differences  # type: ignore[attr-defined]
    }


def test_real_166_to_195_on_the_hybrid_example_changes_only_the_version(
    tmp_path: Path, packer_195: str
) -> None:
    """docs/upgrades/1.6.6-to-1.9.5.md: nothing automation depends on changes here."""
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    report = upgrade_check(
        "examples/hybrid",
        old_packer="/usr/bin/packer",
        new_packer=packer_195,
        var_files=["examples/hybrid/ci.pkrvars.hcl"],
        workdir=tmp_path / "wd",
        cwd=tmp_path,
    )
    assert (report.from_version, report.to_version) == ("1.6.6", "1.9.5")
    assert _kinds(report) == {("packer version", "packer"): ("1.6.6", "1.9.5")}
    assert report.exit_code == 0


def test_real_166_to_195_on_the_plugin_example_finds_what_needs_sign_off(
    tmp_path: Path, packer_195: str, mirror: Path
) -> None:
    shutil.copytree(
        REPO / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("out-*")
    )
    plugins = tmp_path / "plugins"
    installed = packer.init(
        ["examples/plugins"],
        plugin_mirror=mirror,
        packer=packer_195,
        workdir=tmp_path / "wd-init",
        cwd=tmp_path,
        plugin_dir=plugins,
    )
    assert installed.exit_code == 0, installed.message
    report = upgrade_check(
        "examples/plugins",
        old_packer="/usr/bin/packer",
        new_packer=packer_195,
        workdir=tmp_path / "wd",
        cwd=tmp_path,
        plugin_dir=plugins,
    )
    kinds = _kinds(report)
    assert kinds[("exit code", "validate")] == ("1 (config)", "0 (ok)")
    assert kinds[("exit code", "build")] == ("1 (config)", "0 (ok)")
    assert kinds[("builds", "builds")] == ("(none)", "qemu.appliance")
    assert kinds[("builder ID", "qemu.appliance")] == ("(absent)", "transcend.qemu")
    assert report.exit_code == 1
    assert set(report.required_signoffs) >= {"platform team lead", "template owners"}
