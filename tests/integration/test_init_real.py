"""`init` with the real Packer 1.9.5 and the qemu plugin, both built from their Go modules:
offline from a local mirror, idempotent, safe when two run at once, and the plugin example
builds with what it installed."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PLUGIN, REPO

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "hybridcore.cli"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(
        REPO / "examples" / "plugins", tmp_path / "plugins", ignore=shutil.ignore_patterns("out-*")
    )
    return tmp_path / "plugins"


def _cli(cwd: Path, packer: str, *args: str) -> tuple[int, dict[str, object], str]:
    done = subprocess.run(
        [*CLI, "--workdir", "wd", "--packer", packer, "--json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, result, done.stderr


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_init_installs_from_the_mirror_offline_and_a_second_init_does_nothing(
    project: Path, packer_195: str, mirror: Path
) -> None:
    code, result, err = _cli(
        project.parent, packer_195, "init", "--plugin-mirror", str(mirror), "plugins"
    )
    assert code == 0, err
    installed = project.parent / "wd" / "state" / "packer" / "plugins" / PLUGIN
    assert _sha256(installed) == _sha256(mirror / PLUGIN)
    assert Path(f"{installed}_SHA256SUM").read_text().strip() == _sha256(installed)
    before = installed.stat().st_mtime_ns
    code, result, err = _cli(
        project.parent, packer_195, "init", "--plugin-mirror", str(mirror), "plugins"
    )
    assert code == 0, err
    assert "already installed github.com/hashicorp/qemu 1.0.9" in err
    assert installed.stat().st_mtime_ns == before
    assert result["command"] == "init"


def test_two_inits_at_once_both_succeed_and_leave_one_intact_plugin(
    project: Path, packer_195: str, mirror: Path
) -> None:
    argv = [
        *CLI,
        "--workdir",
        "wd",
        "--packer",
        packer_195,
        "init",
        "--plugin-mirror",
        str(mirror),
        "plugins",
    ]
    procs = [
        subprocess.Popen(argv, cwd=project.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    codes = [proc.wait(timeout=600) for proc in procs]
    for proc in procs:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    assert codes == [0, 0]
    plugins = project.parent / "wd" / "state" / "packer" / "plugins"
    binaries = [p for p in plugins.rglob("packer-plugin-*") if not p.name.endswith("SUM")]
    assert [p.relative_to(plugins) for p in binaries] == [PLUGIN]
    assert _sha256(binaries[0]) == _sha256(mirror / PLUGIN)


def test_the_plugin_example_builds_on_packer_195_with_an_artifact_record(
    project: Path, packer_195: str, mirror: Path
) -> None:
    code, _, err = _cli(
        project.parent, packer_195, "init", "--plugin-mirror", str(mirror), "plugins"
    )
    assert code == 0, err
    code, result, err = _cli(project.parent, packer_195, "build", "plugins")
    assert code == 0, err
    assert result["packer_version"] == "1.9.5"
    records = result["records"]
    assert isinstance(records, list) and len(records) == 1
    assert records[0]["build"] == "qemu.appliance"
    assert records[0]["platform"] == "qemu"
    assert (project.parent / "wd" / "artifacts" / "qemu.appliance.json").is_file()


def test_build_before_init_says_to_run_init_and_starts_no_packer(
    project: Path, packer_195: str
) -> None:
    code, result, err = _cli(project.parent, packer_195, "build", "plugins")
    assert code == 1
    assert result["rule"] == "plugins_not_installed"
    assert result["runs"] == []
    assert "hybridcore-packer init" in err


def test_a_tampered_mirror_is_refused_and_nothing_is_installed(
    project: Path, packer_195: str, mirror: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad-mirror"
    shutil.copytree(mirror, bad)
    with (bad / PLUGIN).open("ab") as binary:
        binary.write(b"\0")
    code, result, _ = _cli(
        project.parent, packer_195, "init", "--plugin-mirror", str(bad), "plugins"
    )
    assert (code, result["rule"]) == (3, "plugin_checksum_mismatch")
    assert not (project.parent / "wd" / "state" / "packer" / "plugins" / PLUGIN).exists()


def test_a_constraint_no_mirror_entry_meets_is_a_config_error(
    project: Path, packer_195: str, mirror: Path
) -> None:
    template = project / "appliance.pkr.hcl"
    template.write_text(template.read_text().replace('"~> 1.0.9"', '">= 2.0.0"'))
    code, result, err = _cli(
        project.parent, packer_195, "init", "--plugin-mirror", str(mirror), "plugins"
    )
    assert (code, result["rule"]) == (1, "plugin_not_in_mirror")
    assert ">= 2.0.0" in err


def test_init_without_a_mirror_and_without_github_is_transient(
    project: Path, packer_195: str
) -> None:
    """This machine reaches no GitHub: `packer init` fails to download, which is class 2."""
    code, result, err = _cli(project.parent, packer_195, "init", "plugins")
    assert (code, result["classification"]) == (2, "transient"), err
    assert result["rule"] in {"plugin_download", "plugin_rate_limited"}
    assert "--plugin-mirror" in str(result["remediation"])


def test_init_on_packer_166_is_refused() -> None:
    done = subprocess.run(
        [
            *CLI,
            "--workdir",
            "wd",
            "--packer",
            "/usr/bin/packer",
            "init",
            str(REPO / "examples" / "plugins"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/tmp",
    )
    assert done.returncode == 1
    assert "has no `init`" in done.stderr
