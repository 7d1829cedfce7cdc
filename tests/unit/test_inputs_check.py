"""drift: added / removed / changed inputs, their areas and Open Issues pointers; the
`drift`, `verify` and `--skip-unchanged` plumbing with a fake packer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hybridcore import packer
from hybridcore.packer.commands import inputs_check as checks
from hybridcore.packer.store.drift import OPEN_ISSUES, compare
from hybridcore.packer.store.inputs_manifest import (
    HashManifest,
    InputEntry,
    combined_digest,
    load_hash_manifest,
)
from tests.conftest import FakePacker, write_template

SPEC_OPEN_ISSUES = (
    "assessments/2025-11-14-remediation-migration/remediations/hybridcore-packer-remediations.md"
)
BASE_INPUTS = {
    "tpl/main.pkr.hcl": "template",
    "tpl/prod.pkrvars.hcl": "var-file",
    "tpl/scripts/setup.sh": "script",
    "tpl/http/preseed.cfg": "config",
    "tpl/iso/ubuntu.iso": "iso",
}
BASE_VARIABLES = {"image_name": '"golden"', "cluster": '"a"', "token": "<secret: unset>"}


def _manifest(
    inputs: dict[str, tuple[str, bytes]],
    variables: dict[str, str] | None = None,
    version: str = "1.6.6",
    build: str = "null.a",
) -> HashManifest:
    entries = [
        InputEntry(path=path, kind=kind, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        for path, (kind, data) in sorted(inputs.items())
    ]
    values = dict(BASE_VARIABLES if variables is None else variables)
    return HashManifest(
        build=build,
        digest=combined_digest(entries, values, version),
        inputs=entries,
        variables=values,
        packer_version=version,
    )


def _base() -> dict[str, tuple[str, bytes]]:
    return {path: (kind, path.encode()) for path, kind in BASE_INPUTS.items()}


def test_open_issues_pointer_is_the_specs() -> None:
    assert OPEN_ISSUES == SPEC_OPEN_ISSUES


def test_no_baseline() -> None:
    found = compare(_manifest(_base()), None)
    assert found.status == "no-baseline"
    assert (found.baseline_digest, found.added, found.removed, found.changed) == (None, [], [], [])
    assert found.areas == found.open_issues == []


def test_unchanged_inputs_are_clean() -> None:
    found = compare(_manifest(_base()), _manifest(_base()))
    assert found.status == "clean"
    assert found.digest == found.baseline_digest
    assert found.added == found.removed == found.changed == found.areas == found.open_issues == []


@pytest.mark.parametrize(
    ("path", "area"),
    [
        ("tpl/main.pkr.hcl", "templates"),
        ("tpl/prod.pkrvars.hcl", "templates"),
        ("tpl/scripts/setup.sh", "provisioners"),
        ("tpl/http/preseed.cfg", "provisioners"),
        ("tpl/iso/ubuntu.iso", "state"),
    ],
)
def test_a_changed_file_names_its_area_and_open_issues(path: str, area: str) -> None:
    changed = _base()
    changed[path] = (changed[path][0], b"new content")
    found = compare(_manifest(changed), _manifest(_base()))
    assert found.status == "drifted"
    assert (found.added, found.removed, found.changed) == ([], [], [path])
    assert found.areas == [area]
    assert found.open_issues == [f"{SPEC_OPEN_ISSUES}#{area}"]
    assert found.digest != found.baseline_digest
    assert path in found.message
    assert area in found.message
    assert SPEC_OPEN_ISSUES in found.message


@pytest.mark.parametrize(("kind", "area"), [("script", "provisioners"), ("template", "templates")])
def test_added_and_removed_files(kind: str, area: str) -> None:
    before = _base()
    after = _base()
    after[f"tpl/new.{kind}"] = (kind, b"new")
    del after["tpl/iso/ubuntu.iso"]
    found = compare(_manifest(after), _manifest(before))
    assert found.added == [f"tpl/new.{kind}"]
    assert found.removed == ["tpl/iso/ubuntu.iso"]
    assert found.changed == []
    assert found.areas == sorted({area, "state"})
    assert found.open_issues == [f"{SPEC_OPEN_ISSUES}#{a}" for a in sorted({area, "state"})]


def test_variable_changes_are_state() -> None:
    changed = {**BASE_VARIABLES, "cluster": '"b"', "added": '"1"'}
    del changed["image_name"]
    found = compare(_manifest(_base(), changed), _manifest(_base()))
    assert (found.added, found.removed, found.changed) == (
        ["var.added"],
        ["var.image_name"],
        ["var.cluster"],
    )
    assert found.areas == ["state"]
    assert found.open_issues == [f"{SPEC_OPEN_ISSUES}#state"]


def test_a_secret_being_set_is_a_state_change_without_its_value() -> None:
    now = {**BASE_VARIABLES, "token": "<secret: set>"}
    found = compare(_manifest(_base(), now), _manifest(_base()))
    assert found.changed == ["var.token"]
    assert found.areas == ["state"]


def test_packer_version_change_is_state() -> None:
    found = compare(_manifest(_base(), version="1.7.0"), _manifest(_base()))
    assert found.changed == ["packer_version"]
    assert found.areas == ["state"]
    assert found.open_issues == [f"{SPEC_OPEN_ISSUES}#state"]


def test_several_areas_at_once_are_sorted_and_each_pointed_to() -> None:
    after = _base()
    after["tpl/main.pkr.hcl"] = ("template", b"t2")
    after["tpl/scripts/setup.sh"] = ("script", b"s2")
    found = compare(_manifest(after, version="1.8.0"), _manifest(_base()))
    assert found.changed == ["packer_version", "tpl/main.pkr.hcl", "tpl/scripts/setup.sh"]
    assert found.areas == ["provisioners", "state", "templates"]
    assert found.open_issues == [
        f"{SPEC_OPEN_ISSUES}#provisioners",
        f"{SPEC_OPEN_ISSUES}#state",
        f"{SPEC_OPEN_ISSUES}#templates",
    ]


# --- drift / verify / --skip-unchanged with a fake packer -----------------------------

ARTIFACT_LINES = (
    "1700000000,null.a,artifact-count,1\n"
    "1700000000,null.a,artifact,0,builder-id,packer.null\n"
    "1700000000,null.a,artifact,0,id,Null\n"
    "1700000000,null.a,artifact,0,string,Did not export anything\n"
    "1700000000,null.a,artifact,0,files-count,0\n"
    "1700000000,null.a,artifact,0,end\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    tpl = tmp_path / "tpl"
    (tpl / "scripts").mkdir(parents=True)
    (tpl / "scripts" / "setup.sh").write_text("echo setup\n")
    write_template(
        tpl,
        """
        variable "cluster" {
          type    = string
          default = "a"
        }
        source "null" "a" {
          communicator = "none"
        }
        build {
          sources = ["source.null.a"]
          provisioner "shell-local" {
            script = "${path.root}/scripts/setup.sh"
          }
        }
        """,
    )
    return tmp_path


def _build_calls(fake: FakePacker) -> list[list[str]]:
    return [c["argv"][1:] for c in fake.calls if "build" in c["argv"][1:2]]  # type: ignore[index]


def test_drift_and_verify_through_the_api(
    project: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": ARTIFACT_LINES}])
    common: dict[str, Any] = {"workdir": "wd", "cwd": project, "packer": str(fake.path)}

    before = checks.drift("tpl", **common)
    assert before.exit_code == 0
    assert [b.status for b in before.builds] == ["no-baseline"]
    assert checks.verify("tpl", **common).exit_code == 1

    result = packer.build("tpl", **common)
    assert result.exit_code == 0, result.message
    manifest = load_hash_manifest(project / "wd", "null.a")
    assert manifest is not None
    assert manifest.artifact_ids == ["Null"]
    assert [r.provenance.inputs_digest for r in result.records] == [manifest.digest]

    clean = checks.drift("tpl", **common)
    assert (clean.exit_code, [b.status for b in clean.builds]) == (0, ["clean"])
    verified = checks.verify("tpl", **common)
    assert (verified.exit_code, [b.status for b in verified.builds]) == (0, ["verified"])

    (project / "tpl" / "scripts" / "setup.sh").write_text("echo changed\n")
    drifted = checks.drift("tpl", **common)
    assert drifted.exit_code == 1
    assert drifted.classification == "drift"
    (build,) = drifted.builds
    assert (build.changed, build.added, build.removed) == (["../tpl/scripts/setup.sh"], [], [])
    assert build.open_issues == [f"{SPEC_OPEN_ISSUES}#provisioners"]
    failed = checks.verify("tpl", **common)
    assert (failed.exit_code, [b.status for b in failed.builds]) == (1, ["failed"])

    # a variable given on the command line is a state change
    cluster = checks.drift("tpl", vars={"cluster": "b"}, **common)
    assert "var.cluster" in cluster.builds[0].changed
    assert "state" in cluster.builds[0].areas


def test_skip_unchanged_starts_no_packer_build(
    project: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": ARTIFACT_LINES}])
    common: dict[str, Any] = {"workdir": "wd", "cwd": project, "packer": str(fake.path)}
    first = packer.build("tpl", **common)
    assert first.exit_code == 0, first.message
    assert len(_build_calls(fake)) == 1

    skipped = packer.build("tpl", skip_unchanged=True, **common)
    assert skipped.exit_code == 0, skipped.message
    assert len(_build_calls(fake)) == 1  # no new `packer build`
    assert [(s.build, s.status) for s in skipped.skipped] == [("null.a", "skipped")]
    assert skipped.rule == "up_to_date"
    assert "unchanged" in skipped.skipped[0].message
    assert skipped.runs == []

    (project / "tpl" / "scripts" / "setup.sh").write_text("echo changed\n")
    rebuilt = packer.build("tpl", skip_unchanged=True, **common)
    assert rebuilt.exit_code == 0, rebuilt.message
    assert rebuilt.skipped == []
    assert len(_build_calls(fake)) == 2
    assert [d.status for d in rebuilt.drift] == ["drifted"]


def test_skip_unchanged_follows_the_registry_not_the_workdir_files(
    project: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    """The registry is the baseline: a lost record file changes nothing, a revoked
    version is rebuilt."""
    fake = fake_packer()
    fake.script([{"stdout": ARTIFACT_LINES}])
    common: dict[str, Any] = {"workdir": "wd", "cwd": project, "packer": str(fake.path)}
    first = packer.build("tpl", **common)
    assert first.exit_code == 0, first.message
    assert [(v.build, v.number) for v in first.versions] == [("null.a", 1)]
    (project / "wd" / "artifacts" / "null.a.json").unlink()
    again = packer.build("tpl", skip_unchanged=True, **common)
    assert [s.build for s in again.skipped] == ["null.a"]
    assert len(_build_calls(fake)) == 1

    revoked = packer.registry_revoke("null.a@1", reason="bad base", workdir=project / "wd")
    assert revoked.exit_code == 0, revoked.message
    rebuilt = packer.build("tpl", skip_unchanged=True, **common)
    assert rebuilt.skipped == []
    assert len(_build_calls(fake)) == 2
    assert [(v.build, v.number) for v in rebuilt.versions] == [("null.a", 2)]


def test_verify_passes_on_records_only_when_they_agree(
    project: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": ARTIFACT_LINES}])
    common: dict[str, Any] = {"workdir": "wd", "cwd": project, "packer": str(fake.path)}
    assert packer.build("tpl", **common).exit_code == 0
    record_file = project / "wd" / "artifacts" / "null.a.json"
    data = json.loads(record_file.read_text())
    data["records"][-1]["provenance"]["inputs_digest"] = "0" * 64
    record_file.write_text(json.dumps(data))
    report = checks.verify("tpl", **common)
    assert (report.exit_code, report.classification, report.rule) == (
        3,
        "security",
        "record_mismatch",
    )
