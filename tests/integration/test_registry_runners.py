"""Integration: the registry as the runners' shared memory, with the real packer and a
private PostgreSQL. Two fresh "runners" (each its own checkout and workdir) share one
registry; a build from a registered image is found to be its child."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE, REPO, PostgresServer, packer_on_path_version

pytestmark = pytest.mark.integration

BUILDS = ["file.seed", "null.azure", "null.vsphere"]
SCRIPT = "../hybrid/scripts/provision.sh"
PARENT_MANIFEST = REPO / "tests" / "golden" / "manifests" / "vsphere-clone.json"
PARENT_IMAGE = "tpl-windows-2022-std-20240606"


def _runner(root: Path) -> Path:
    """A fresh runner: its own checkout of the example, an empty workdir beside it."""
    root.mkdir()
    shutil.copytree(EXAMPLE, root / "hybrid", ignore=shutil.ignore_patterns("out", "*.json"))
    return root


def _cli(runner: Path, url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PKR_VAR_", "HYBRIDCORE_", "PACKER_"))
    }
    env.update({"CHECKPOINT_DISABLE": "1", "HYBRIDCORE_REGISTRY_URL": url})
    return subprocess.run(
        [sys.executable, "-m", "hybridcore.cli", "--workdir", "wd", *args],
        cwd=runner,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _json(runner: Path, url: str, *args: str) -> tuple[int, dict[str, Any]]:
    proc = _cli(runner, url, "--json", *args)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture
def registry_url(postgres_server: PostgresServer) -> str:
    return postgres_server.url(postgres_server.create_database())


def test_two_fresh_runners_share_one_postgresql_registry(tmp_path: Path, registry_url: str) -> None:
    runner_a, runner_b = _runner(tmp_path / "a"), _runner(tmp_path / "b")
    code, built = _json(runner_a, registry_url, "build", "--label", "release=2024.06", "hybrid")
    assert code == 0, built["message"]
    assert sorted((v["build"], v["number"]) for v in built["versions"]) == [
        (build, 1) for build in BUILDS
    ]

    code, skipped = _json(runner_b, registry_url, "build", "--skip-unchanged", "hybrid")
    assert code == 0, skipped["message"]
    assert sorted(s["build"] for s in skipped["skipped"]) == BUILDS
    assert (skipped["rule"], skipped["runs"], skipped["versions"]) == ("up_to_date", [], [])
    code, verified = _json(runner_b, registry_url, "verify", "hybrid")
    assert code == 0, verified["message"]
    assert {b["status"] for b in verified["builds"]} == {"verified"}
    assert not (runner_b / "wd" / "artifacts").exists()  # nothing of A's was copied to B

    with (runner_b / "hybrid" / "scripts" / "provision.sh").open("a") as handle:
        handle.write("echo one more step\n")
    proc = _cli(runner_b, registry_url, "--json", "drift", "hybrid")
    assert proc.returncode == 1, proc.stderr
    for item in json.loads(proc.stdout)["builds"]:
        assert (item["status"], item["changed"]) == ("drifted", [SCRIPT])
    assert SCRIPT in proc.stderr
    code, gate = _json(runner_b, registry_url, "verify", "hybrid")
    assert code == 1 and gate["classification"] == "drift"

    code, versions = _json(runner_b, registry_url, "registry", "versions", "null.azure")
    assert code == 0
    (version,) = versions["versions"]
    assert version["labels"] == {"release": "2024.06"}
    assert version["packer_version"] == packer_on_path_version()
    assert version["command_id"] == built["command_id"]
    assert [e["path"] for e in version["inputs"]["inputs"]].count(SCRIPT) == 1


def test_a_build_from_a_registered_image_is_its_child(tmp_path: Path, registry_url: str) -> None:
    runner = _runner(tmp_path / "r")
    imported = _cli(runner, registry_url, "manifest", "import", "--write", str(PARENT_MANIFEST))
    assert imported.returncode == 0, imported.stderr

    code, built = _json(
        runner, registry_url, "build", "--var", f"image_name={PARENT_IMAGE}", "hybrid"
    )
    assert code == 0, built["message"]
    assert {v["build"]: v["parents"] for v in built["versions"]} == {
        build: ["vsphere-clone.windows-2022@1"] for build in BUILDS
    }
    set_ = _cli(
        runner, registry_url, "registry", "channel", "set", "null.vsphere", "production", "1"
    )
    assert set_.returncode == 0, set_.stderr
    query = json.dumps({"build": "null.vsphere", "channel": "production"})
    looked = _cli(runner, registry_url, "registry", "lookup", stdin=query)
    assert looked.returncode == 0, looked.stderr
    assert json.loads(looked.stdout)["version"] == "1"

    revoke = ["registry", "revoke", "vsphere-clone.windows-2022@1"]
    reason = ["--reason", "CVE-2024-6387 in the base template"]
    assert _cli(runner, registry_url, *revoke, *reason).returncode == 0
    verify = ["verify", "--var", f"image_name={PARENT_IMAGE}", "hybrid"]
    code, gate = _json(runner, registry_url, *verify)
    assert code == 1
    for item in gate["builds"]:
        assert "built from vsphere-clone.windows-2022@1" in item["message"]
        assert "CVE-2024-6387" in item["message"]
    code, outdated = _json(runner, registry_url, "registry", "outdated")
    assert code == 0
    assert {(o["child"], o["parent"]) for o in outdated["outdated"]} == {
        (f"{build}@1", "vsphere-clone.windows-2022@1") for build in BUILDS
    }
    assert _cli(runner, registry_url, "registry", "lookup", stdin=query).returncode == 0

    # --cascade: the children themselves are revoked, and lookups refuse them
    cascaded = _cli(runner, registry_url, "--json", *revoke, *reason, "--cascade")
    assert cascaded.returncode == 0, cascaded.stderr
    assert sorted(v["build"] for v in json.loads(cascaded.stdout)["versions"]) == BUILDS
    refused = _cli(runner, registry_url, "registry", "lookup", stdin=query)
    assert refused.returncode == 3 and refused.stdout == ""
    assert "CVE-2024-6387" in refused.stderr

    restored = _cli(runner, registry_url, "registry", "restore", "vsphere-clone.windows-2022@1")
    assert restored.returncode == 0, restored.stderr
    code, gate = _json(
        runner, registry_url, "verify", "--var", f"image_name={PARENT_IMAGE}", "hybrid"
    )
    assert code == 0, gate["message"]
