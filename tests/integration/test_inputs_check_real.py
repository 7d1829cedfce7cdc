"""Integration: hash manifests, `drift`, `verify` and `build --skip-unchanged` with the
real packer, through the CLI, on a private copy of the bundled example."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import packer_on_path_version

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "hybridcore.cli"]
BUILDS = ["file.seed", "null.azure", "null.vsphere"]
OPEN_ISSUES = (
    "assessments/2025-11-14-remediation-migration/remediations/hybridcore-packer-remediations.md"
)
SCRIPT = "../hybrid/scripts/provision.sh"  # as the hash manifests show it (relative to wd)
VSPHERE_SCRIPT = "../hybrid/scripts/vsphere.sh"


@pytest.fixture(autouse=True)
def _require_packer() -> None:
    assert shutil.which("packer"), "integration tests need packer on PATH (scripts/bootstrap.sh)"


def _environ() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PKR_VAR_", "HYBRIDCORE_", "PACKER_"))
    }
    env["CHECKPOINT_DISABLE"] = "1"
    return env


def _cli(cwd: Path, *args: str, packer: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--packer", str(packer)] if packer else []
    return subprocess.run(
        [*CLI, "--workdir", "wd", *extra, *args],
        cwd=cwd,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _json(cwd: Path, *args: str, packer: Path | None = None) -> tuple[int, dict[str, Any]]:
    proc = _cli(cwd, "--json", *args, packer=packer)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _build(cwd: Path, *args: str, packer: Path | None = None) -> dict[str, Any]:
    code, result = _json(cwd, "build", *args, "hybrid", packer=packer)
    assert code == 0, result["message"]
    return result


def _by_build(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["build"]: item for item in report["builds"]}


def _hash_manifest(root: Path, build: str) -> dict[str, Any]:
    return json.loads((root / "wd" / "artifacts" / f"{build}.hash.json").read_text())  # type: ignore[no-any-return]


def _records(root: Path, build: str) -> dict[str, Any]:
    return json.loads((root / "wd" / "artifacts" / f"{build}.json").read_text())  # type: ignore[no-any-return]


def _add_vsphere_only_script(example: Path) -> Path:
    """A provisioner script only null.vsphere runs."""
    script = example / "scripts" / "vsphere.sh"
    script.write_text("#!/bin/sh\necho vsphere only\n")
    script.chmod(0o755)
    template = example / "hybrid.pkr.hcl"
    text = template.read_text()
    block = (
        '  provisioner "shell-local" {\n'
        '    only   = ["null.vsphere"]\n'
        '    script = "${path.root}/scripts/vsphere.sh"\n'
        "  }\n\n"
    )
    template.write_text(
        text.replace('  post-processor "manifest" {', block + '  post-processor "manifest" {')
    )
    return script


def _logging_packer(directory: Path) -> tuple[Path, Path]:
    """A packer wrapper that logs each invocation's argv (one line) and execs the real one."""
    real = shutil.which("packer")
    assert real
    log = directory / "packer-calls.log"
    wrapper = directory / "packer-wrapper"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return wrapper, log


def _subcommands(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [line.split()[0] for line in log.read_text().splitlines() if line.strip()]


# --- the hash manifest a build writes --------------------------------------------------


def test_build_writes_hash_manifests_and_drift_is_clean(example: Path) -> None:
    root = example.parent
    result = _build(root)
    assert sorted(d["build"] for d in result["drift"]) == BUILDS
    assert {d["status"] for d in result["drift"]} == {"no-baseline"}
    for build in BUILDS:
        manifest = _hash_manifest(root, build)
        assert manifest["schema_version"] == "1.0"
        assert manifest["build"] == build
        assert manifest["command_id"] == result["command_id"]
        assert manifest["packer_version"] == result["packer_version"] == packer_on_path_version()
        assert manifest["created_at"]
        assert "git_sha" in manifest
        assert manifest["previous"] is None
        assert {(e["path"], e["kind"]) for e in manifest["inputs"]} == {
            ("../hybrid/hybrid.pkr.hcl", "template"),
            ("../hybrid/variables.pkr.hcl", "template"),
            (SCRIPT, "script"),
        }
        for entry in manifest["inputs"]:
            assert entry["size"] == (root / "wd" / entry["path"]).stat().st_size
        records = _records(root, build)["records"]
        assert manifest["artifact_ids"] == [r["artifact_id"] for r in records]
        assert {r["provenance"]["inputs_digest"] for r in records} == {manifest["digest"]}
        assert manifest["variables"]["registry_token"] == "<secret: unset>"

    code, report = _json(root, "drift", "hybrid")
    assert code == 0, report["message"]
    assert {b: item["status"] for b, item in _by_build(report).items()} == dict.fromkeys(
        BUILDS, "clean"
    )


# --- drift --------------------------------------------------------------------------------


def test_changing_one_provisioner_script_drifts_exactly_that_build_and_file(
    example: Path,
) -> None:
    root = example.parent
    script = _add_vsphere_only_script(example)
    _build(root)
    before = {build: _hash_manifest(root, build)["digest"] for build in BUILDS}

    script.write_text("#!/bin/sh\necho vsphere only, changed\n")
    proc = _cli(root, "--json", "drift", "hybrid")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["exit_code"], report["classification"], report["rule"]) == (
        1,
        "drift",
        "inputs_drifted",
    )
    builds = _by_build(report)
    assert builds["null.azure"]["status"] == builds["file.seed"]["status"] == "clean"
    vsphere = builds["null.vsphere"]
    assert vsphere["status"] == "drifted"
    assert (vsphere["changed"], vsphere["added"], vsphere["removed"]) == (
        [VSPHERE_SCRIPT],
        [],
        [],
    )
    assert vsphere["areas"] == ["provisioners"]
    assert vsphere["open_issues"] == [f"{OPEN_ISSUES}#provisioners"]
    assert vsphere["baseline_digest"] == before["null.vsphere"]
    assert vsphere["digest"] != before["null.vsphere"]
    assert builds["null.azure"]["digest"] == before["null.azure"]
    assert VSPHERE_SCRIPT in proc.stderr
    assert OPEN_ISSUES in proc.stderr

    # the rebuild's hash manifest has the new digest and keeps the old one as previous
    _build(root)
    after = _hash_manifest(root, "null.vsphere")
    assert after["digest"] == vsphere["digest"]
    assert after["previous"]["digest"] == before["null.vsphere"]
    assert after["previous"]["previous"] is None
    code, clean = _json(root, "drift", "hybrid")
    assert code == 0, clean["message"]


def test_a_shared_script_change_names_only_that_file_in_every_build(example: Path) -> None:
    root = example.parent
    _build(root)
    with (example / "scripts" / "provision.sh").open("a") as handle:
        handle.write("# changed\n")
    code, report = _json(root, "drift", "hybrid")
    assert code == 1
    for build, item in _by_build(report).items():
        assert (item["changed"], item["added"], item["removed"]) == ([SCRIPT], [], []), build
        assert item["areas"] == ["provisioners"]
        assert item["open_issues"] == [f"{OPEN_ISSUES}#provisioners"]
    # --full re-hashes and finds the same
    code, full = _json(root, "drift", "--full", "hybrid")
    assert code == 1
    assert _by_build(full) == _by_build(report)


def test_a_variable_changed_in_a_var_file_is_state_drift(example: Path) -> None:
    root = example.parent
    _build(root, "--var-file", "hybrid/ci.pkrvars.hcl")
    code, clean = _json(root, "drift", "--var-file", "hybrid/ci.pkrvars.hcl", "hybrid")
    assert code == 0, clean["message"]

    var_file = example / "ci.pkrvars.hcl"
    var_file.write_text(var_file.read_text().replace("dc1-cluster-a", "dc2-cluster-b"))
    code, report = _json(root, "drift", "--var-file", "hybrid/ci.pkrvars.hcl", "hybrid")
    assert code == 1
    for item in report["builds"]:
        assert item["changed"] == ["../hybrid/ci.pkrvars.hcl", "var.vsphere_cluster"]
        assert item["areas"] == ["state", "templates"]
        assert f"{OPEN_ISSUES}#state" in item["open_issues"]

    # the same value change from another var file: the variable, and which file, changed
    other = example / "other.pkrvars.hcl"
    other.write_text('vsphere_cluster = "dc3"\nimage_version = "1.4.0"\n')
    other_args = ("--var-file", "hybrid/other.pkrvars.hcl", "hybrid")
    var_file.write_text(var_file.read_text().replace("dc2-cluster-b", "dc1-cluster-a"))
    code, report = _json(root, "drift", *other_args)
    assert code == 1
    for item in report["builds"]:
        assert "var.vsphere_cluster" in item["changed"]
        assert item["added"] == ["../hybrid/other.pkrvars.hcl"]
        assert item["removed"] == ["../hybrid/ci.pkrvars.hcl"]
        assert "state" in item["areas"]


# --- verify ------------------------------------------------------------------------------


def test_verify_fails_after_an_input_change_until_a_rebuild(example: Path) -> None:
    root = example.parent
    proc = _cli(root, "verify", "hybrid")
    assert proc.returncode == 1, proc.stderr  # never built: nothing to publish
    _build(root)
    code, report = _json(root, "verify", "hybrid")
    assert code == 0, report["message"]
    assert {item["status"] for item in report["builds"]} == {"verified"}

    with (example / "scripts" / "provision.sh").open("a") as handle:
        handle.write("echo one more step\n")
    for _ in range(2):  # and stays failed
        code, report = _json(root, "verify", "hybrid")
        assert code == 1
        assert report["classification"] == "drift"
        assert {item["status"] for item in report["builds"]} == {"failed"}
        assert all(item["changed"] == [SCRIPT] for item in report["builds"])

    _build(root)
    code, report = _json(root, "verify", "hybrid")
    assert code == 0, report["message"]


def _edit_input_sha(data: dict[str, Any]) -> None:
    data["inputs"][0]["sha256"] = "0" * 64


EDITS = {
    "input-sha256": _edit_input_sha,
    "variable": lambda d: d["variables"].update(vsphere_cluster='"elsewhere"'),
    "digest": lambda d: d.update(digest="a" * 64),
    "artifact-ids": lambda d: d.update(artifact_ids=["ami-0123456789"]),
    "command-id": lambda d: d.update(command_id="20990101T000000Z-00000000"),
    "created-at": lambda d: d.update(created_at="2099-01-01T00:00:00.000Z"),
    "not-json": None,
}


@pytest.mark.parametrize("edit", list(EDITS.values()), ids=list(EDITS))
def test_verify_exits_3_on_an_edited_hash_manifest(example: Path, edit: Any) -> None:
    root = example.parent
    _build(root)
    assert _cli(root, "verify", "hybrid").returncode == 0
    path = root / "wd" / "artifacts" / "null.vsphere.hash.json"
    if edit is None:
        path.write_text(path.read_text()[:-20])
    else:
        data = json.loads(path.read_text())
        edit(data)
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    code, report = _json(root, "verify", "hybrid")
    assert code == 3, report["message"]
    assert report["classification"] == "security"


@pytest.mark.parametrize("damage", ["artifact-id", "inputs-digest", "not-json"])
def test_verify_exits_3_on_an_edited_artifact_record(example: Path, damage: str) -> None:
    root = example.parent
    _build(root)
    path = root / "wd" / "artifacts" / "null.azure.json"
    if damage == "not-json":
        path.write_text("{ truncated")
    else:
        data = json.loads(path.read_text())
        record = data["records"][-1]
        if damage == "artifact-id":
            record["artifact_id"] = "/subscriptions/x/images/tampered"
        else:
            record["provenance"]["inputs_digest"] = "b" * 64
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    proc = _cli(root, "--json", "verify", "hybrid")
    assert proc.returncode == 3, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["exit_code"], report["classification"]) == (3, "security")


def test_verify_fails_when_the_template_no_longer_parses(example: Path) -> None:
    """An input change that makes the template unreadable must not pass the publish gate
    with "0 build(s) checked"."""
    root = example.parent
    _build(root)
    with (example / "hybrid.pkr.hcl").open("a") as handle:
        handle.write("build { this is not HCL\n")
    code, report = _json(root, "verify", "hybrid")
    assert code == 1, report["message"]
    code, report = _json(root, "drift", "hybrid")
    assert code == 1, report["message"]


def test_a_partly_failed_build_is_not_a_tampering_signal(example: Path) -> None:
    """One build of a serial run fails: the others still record artifacts. Nobody edited
    a file, so `verify` must say "not verified" (1), not "security violation" (3)."""
    root = example.parent
    _build(root)
    template = example / "hybrid.pkr.hcl"
    template.write_text(
        template.read_text().replace(
            'inline = ["echo azure location: ${var.azure_location}"]',
            'inline = ["echo azure location: ${var.azure_location}", "exit 1"]',
        )
    )
    code, result = _json(root, "build", "hybrid")
    assert code == 1, result["message"]
    code, report = _json(root, "verify", "hybrid")
    assert code == 1, report["message"]
    assert report["classification"] == "drift"


def test_importing_a_packer_manifest_is_not_a_tampering_signal(example: Path) -> None:
    """`manifest import --write` is the tool's own way to add records; afterwards `verify`
    may refuse to pass, but must not report a security violation."""
    root = example.parent
    _build(root)
    assert (root / "packer-manifest.json").is_file()
    proc = _cli(root, "manifest", "import", "--write", "packer-manifest.json")
    assert proc.returncode == 0, proc.stderr
    code, report = _json(root, "verify", "hybrid")
    assert report["classification"] != "security", report["message"]
    assert code != 3


def test_builds_with_provisioner_toggles_can_be_verified(example: Path) -> None:
    """`build --provisioner ansible` passes enable_* variables; drift and verify must be
    able to check the same inputs."""
    root = example.parent
    _build(root, "--provisioner", "ansible")
    proc = _cli(root, "verify", "--provisioner", "ansible", "hybrid")
    assert proc.returncode == 0, proc.stderr
    proc = _cli(root, "drift", "--provisioner", "ansible", "hybrid")
    assert proc.returncode == 0, proc.stderr


# --- build --skip-unchanged --------------------------------------------------------------


def test_skip_unchanged_starts_no_packer_build(example: Path, tmp_path: Path) -> None:
    root = example.parent
    wrapper, log = _logging_packer(tmp_path)
    _build(root, packer=wrapper)
    assert "build" in _subcommands(log)
    log.unlink()

    code, result = _json(root, "build", "--skip-unchanged", "hybrid", packer=wrapper)
    assert code == 0, result["message"]
    assert "build" not in _subcommands(log)  # only `packer version` ran
    assert [(s["build"], s["status"]) for s in result["skipped"]] == [
        (build, "skipped") for build in BUILDS
    ]
    for item in result["skipped"]:
        assert "unchanged" in item["message"]
        assert item["digest"] == _hash_manifest(root, item["build"])["digest"]
    assert result["rule"] == "up_to_date"
    assert result["runs"] == []
    assert result["artifacts"] == []
    assert len(_records(root, "null.vsphere")["records"]) == 1  # nothing new recorded
    assert _cli(root, "verify", "hybrid").returncode == 0


def test_skip_unchanged_rebuilds_only_what_changed(example: Path, tmp_path: Path) -> None:
    root = example.parent
    script = _add_vsphere_only_script(example)
    wrapper, log = _logging_packer(tmp_path)
    _build(root, packer=wrapper)
    log.unlink()

    script.write_text("#!/bin/sh\necho vsphere, changed\n")
    code, result = _json(root, "build", "--skip-unchanged", "hybrid", packer=wrapper)
    assert code == 0, result["message"]
    assert sorted(s["build"] for s in result["skipped"]) == ["file.seed", "null.azure"]
    builds = [line for line in log.read_text().splitlines() if line.startswith("build ")]
    assert len(builds) == 1
    assert "-only=null.vsphere" in builds[0].split()
    assert len(_records(root, "null.vsphere")["records"]) == 2
    assert len(_records(root, "null.azure")["records"]) == 1
    assert _cli(root, "verify", "hybrid").returncode == 0


def test_skip_unchanged_rebuilds_a_revoked_version(example: Path, tmp_path: Path) -> None:
    """The registry is the baseline: a revoked version is rebuilt, the rest skipped."""
    root = example.parent
    wrapper, log = _logging_packer(tmp_path)
    _build(root, packer=wrapper)
    revoked = _cli(root, "registry", "revoke", "file.seed@1", "--reason", "seed leaked")
    assert revoked.returncode == 0, revoked.stderr
    log.unlink()
    code, result = _json(root, "build", "--skip-unchanged", "hybrid", packer=wrapper)
    assert code == 0, result["message"]
    assert sorted(s["build"] for s in result["skipped"]) == ["null.azure", "null.vsphere"]
    builds = [line for line in log.read_text().splitlines() if line.startswith("build ")]
    assert len(builds) == 1
    assert "-only=file.seed" in builds[0].split()


def test_a_workdir_from_before_the_registry_keeps_its_baseline(example: Path) -> None:
    """The embedded registry, created in a workdir that already has records and hash
    manifests, imports them: drift stays clean, verify passes, nothing is rebuilt."""
    root = example.parent
    _build(root)
    (root / "wd" / "state" / "registry.db").unlink()
    for leftover in (root / "wd" / "state").glob("registry.db-*"):
        leftover.unlink()
    code, report = _json(root, "drift", "hybrid")
    assert code == 0, report["message"]
    assert {item["status"] for item in report["builds"]} == {"clean"}
    assert _cli(root, "verify", "hybrid").returncode == 0
    code, result = _json(root, "build", "--skip-unchanged", "hybrid")
    assert code == 0 and sorted(s["build"] for s in result["skipped"]) == BUILDS
