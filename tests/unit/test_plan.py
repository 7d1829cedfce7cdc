"""plan and gate against a registry, with real Packer builds of `null` sources: each
status, the matrix, the attempts the gate names, and the CI output formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybridcore import packer
from hybridcore.cli.main import main
from hybridcore.packer.commands.plan import gate, plan
from hybridcore.packer.store.registry.store import open_registry
from hybridcore.packer.store.registry.target import resolve_target
from tests.conftest import RegistryBackend
from tests.unit.test_registry import BASE_IMAGE, _record

TEMPLATE = """\
variable "parent_image" {
  type    = string
  default = "none"
}

source "null" "web" {
  communicator = "none"
}

source "null" "db" {
  communicator = "none"
}

source "null" "app" {
  communicator = "none"
}

build {
  sources = ["source.null.web", "source.null.db", "source.null.app"]

  provisioner "shell-local" {
    only   = ["null.web"]
    script = "${path.root}/web.sh"
  }

  provisioner "shell-local" {
    only   = ["null.db", "null.app"]
    script = "${path.root}/db.sh"
  }
}
"""
FAILING = '[ -z "$PLAN_TEST_FAIL" ] || { echo "failing on purpose" >&2; exit 1; }\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    (root / "fleet.pkr.hcl").write_text(TEMPLATE)
    (root / "web.sh").write_text("echo web\n")
    (root / "db.sh").write_text(FAILING + "echo db\n")
    for script in ("web.sh", "db.sh"):
        (root / script).chmod(0o755)
    return root


def _common(tmp_path: Path, url: str) -> dict[str, Any]:
    return {"workdir": "out", "cwd": tmp_path, "registry": url}


def _statuses(report: Any) -> dict[str, str]:
    return {item.build: item.status for item in report.builds}


def _build(tmp_path: Path, url: str, *only: str, **extra: Any) -> packer.Result:
    result = packer.build(["images"], only=only, **_common(tmp_path, url), **extra)
    return result


def test_plan_lists_new_then_unchanged_then_exactly_what_a_script_change_touches(
    project: Path, tmp_path: Path, registry_backend: RegistryBackend
) -> None:
    url = str(registry_backend.url)
    first = plan(["images"], **_common(tmp_path, url))
    assert first.exit_code == 0, first.message
    assert _statuses(first) == {"null.app": "new", "null.db": "new", "null.web": "new"}
    assert first.to_run == ["null.app", "null.db", "null.web"]

    assert _build(tmp_path, url).exit_code == 0
    assert plan(["images"], **_common(tmp_path, url)).to_run == []

    (project / "db.sh").write_text(FAILING + "echo db v2\n")
    after = plan(["images"], **_common(tmp_path, url))
    assert after.to_run == ["null.app", "null.db"]
    assert _statuses(after)["null.web"] == "unchanged"
    changed = {item.build: item.changed for item in after.builds}
    assert changed["null.db"] == ["../images/db.sh"]
    assert "../images/db.sh changed since null.db@1" in after.builds[1].reason


def test_a_revoked_version_is_rebuilt_and_an_empty_plan_is_exit_0(
    project: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    assert _build(tmp_path, url, "null.web").exit_code == 0
    api = {"registry": url, "workdir": tmp_path / "out", "environ": {}}
    assert packer.registry_revoke("null.web@1", reason="CVE-2026-0001", **api).exit_code == 0
    found = plan(["images"], only=["null.web"], **_common(tmp_path, url))
    assert (found.builds[0].status, found.to_run) == ("revoked", ["null.web"])
    assert "CVE-2026-0001" in found.builds[0].reason
    assert _build(tmp_path, url, "null.web").exit_code == 0
    empty = plan(["images"], only=["null.web"], **_common(tmp_path, url))
    assert (empty.exit_code, empty.matrix) == (0, {"include": []})


def _parent(url: str, tmp_path: Path, image: str) -> None:
    from hybridcore.packer.store.registry.versions import NewVersion

    store = open_registry(resolve_target(url, workdir=tmp_path, environ={}))
    store.register(
        NewVersion(
            build="base",
            source="build",
            records=[_record("base", "azure", [("northeurope", image)])],
        )
    )


def test_children_of_a_revoked_or_outdated_parent_are_reported_not_rebuilt(
    project: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    _parent(url, tmp_path, BASE_IMAGE)
    built = _build(tmp_path, url, "null.web", vars={"parent_image": BASE_IMAGE})
    assert built.exit_code == 0, built.message
    assert built.versions[0].parents == ["base@1"]
    api = {"registry": url, "workdir": tmp_path / "out", "environ": {}}
    selected: dict[str, Any] = {
        "only": ["null.web"],
        "vars": {"parent_image": BASE_IMAGE},
        **_common(tmp_path, url),
    }

    assert packer.registry_revoke("base@1", reason="CVE-2026-0002", **api).exit_code == 0
    found = plan(["images"], **selected)
    assert (found.builds[0].status, found.to_run) == ("parent-revoked", [])
    assert "base@1" in found.builds[0].reason and found.remediation
    failed = gate(["images"], **selected)
    assert (failed.exit_code, failed.rule) == (1, "gate_failed")
    assert "built from a revoked parent" in failed.builds[0].message

    assert packer.registry_restore("base@1", **api).exit_code == 0
    _parent(url, tmp_path, BASE_IMAGE + "-2")  # base@2 moves `latest` off base@1
    found = plan(["images"], **selected)
    assert (found.builds[0].status, found.to_run) == ("parent-outdated", [])
    assert "latest" in found.builds[0].reason
    passed = gate(["images"], **selected)
    assert passed.exit_code == 0, passed.message  # built from its inputs; a warning only


def test_gate_names_the_runner_and_command_that_last_touched_each_build(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.setenv("HYBRIDCORE_RUNNER", "runner-1")
    assert _build(tmp_path, url, "null.web").exit_code == 0
    monkeypatch.setenv("HYBRIDCORE_RUNNER", "runner-2")
    monkeypatch.setenv("PLAN_TEST_FAIL", "1")
    failed_build = _build(tmp_path, url, "null.db")
    assert failed_build.exit_code == 1, failed_build.message
    monkeypatch.delenv("PLAN_TEST_FAIL")
    store = open_registry(resolve_target(url, workdir=tmp_path, environ={}))
    digest = plan(["images"], only=["null.app"], **_common(tmp_path, url)).builds[0].digest
    store.start_attempts({"null.app": digest}, command_id="c-killed", runner="runner-3")

    report = gate(["images"], **_common(tmp_path, url))
    assert (report.exit_code, report.classification, report.rule) == (1, "drift", "gate_failed")
    messages = {item.build: item.message for item in report.builds}
    assert [item.status for item in report.builds] == ["failed", "failed", "verified"]
    assert messages["null.db"].startswith("null.db: failed: no version registered yet")
    assert "last touched by runner-2 (command " in messages["null.db"]
    assert f"({failed_build.classification}: {failed_build.rule})" in messages["null.db"]
    assert messages["null.app"].startswith("null.app: unfinished:")
    assert "runner-3 (command c-killed): started" in messages["null.app"]
    assert "never finished" in messages["null.app"]
    assert report.message == (
        "2 of 3 build(s) not registered from their current inputs: null.app, null.db."
    )

    monkeypatch.setenv("HYBRIDCORE_RUNNER", "runner-2")
    assert _build(tmp_path, url, "null.db", "null.app").exit_code == 0
    passed = gate(["images"], **_common(tmp_path, url))
    assert (passed.exit_code, passed.rule) == (0, "ok"), passed.message
    attempts = store.last_attempts(["null.app", "null.db", "null.web"])
    assert {b: (a.runner, a.status) for b, a in attempts.items()} == {
        "null.app": ("runner-2", "succeeded"),
        "null.db": ("runner-2", "succeeded"),
        "null.web": ("runner-1", "succeeded"),
    }
    assert all(a.version_id and a.inputs_digest for a in attempts.values())


def _cli(
    tmp_path: Path, url: str, *args: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    code = main(["--workdir", "out", "--registry", url, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_plan_formats_for_github_and_gitlab(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    output = tmp_path / "github_output"
    output.write_text("earlier=kept\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, stdout, stderr = _cli(
        tmp_path, url, "plan", "--format", "github", "images", capsys=capsys
    )
    assert code == 0, stderr
    table = summary.read_text()
    assert table.startswith("### hybridcore-packer plan: ok\n\nplan: 3 of 3 build(s) to run")
    assert "| null.db | new | yes | no version registered yet |" in table.splitlines()
    matrix = {"include": [{"build": b} for b in ("null.app", "null.db", "null.web")]}
    assert json.loads(stdout) == matrix
    lines = output.read_text().splitlines()
    assert lines[0] == "earlier=kept"
    assert json.loads(lines[1].removeprefix("matrix=")) == matrix
    assert lines[2] == "count=3"
    assert "3 of 3 build(s) to run (3 new)" in stderr

    code, stdout, _ = _cli(tmp_path, url, "plan", "--format", "gitlab", "images", capsys=capsys)
    pipeline = yaml.safe_load(stdout)
    assert pipeline["include"] == [{"local": ".gitlab/hybridcore-shard.yml"}]
    assert pipeline["build null.db"] == {
        "extends": ".hybridcore-shard",
        "variables": {"BUILD": "null.db"},
    }
    assert len(pipeline) == 4

    code, stdout, _ = _cli(tmp_path, url, "plan", "--format", "json", "images", capsys=capsys)
    assert json.loads(stdout)["matrix"] == matrix

    monkeypatch.delenv("GITHUB_OUTPUT")
    assert _build(tmp_path, url).exit_code == 0
    code, stdout, stderr = _cli(
        tmp_path, url, "plan", "--format", "gitlab", "images", capsys=capsys
    )
    assert code == 0
    empty = yaml.safe_load(stdout)
    assert list(empty) == ["nothing to build"]
    assert "every selected build is unchanged" in empty["nothing to build"]["script"][0]
    code, stdout, stderr = _cli(
        tmp_path, url, "plan", "--format", "github", "images", capsys=capsys
    )
    assert (code, json.loads(stdout)) == (0, {"include": []})
    assert "GITHUB_OUTPUT is not set" in stderr


def test_plan_of_a_broken_template_is_exit_1_with_no_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "broken.pkr.hcl").write_text('source "null" "x" {\n')
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    code, stdout, stderr = _cli(
        tmp_path, url, "plan", "--format", "github", "images", capsys=capsys
    )
    assert (code, stdout, output.exists()) == (1, "", False)
    assert "broken.pkr.hcl" in stderr and "hint:" in stderr
    assert "Traceback" not in stderr


def test_gate_writes_junit_with_one_case_per_build(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from xml.etree import ElementTree as ET

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    assert _build(tmp_path, url, "null.web").exit_code == 0
    code, _, stderr = _cli(tmp_path, url, "gate", "--junit", "gate.xml", "images", capsys=capsys)
    assert code == 1
    assert "[null.db] missing: no version registered yet; no runner has started it" in stderr
    suite = ET.parse(tmp_path / "gate.xml").getroot().find("testsuite")
    assert suite is not None
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert sorted(cases) == ["null.app", "null.db", "null.web"]
    assert cases["null.web"].find("failure") is None
    failure = cases["null.db"].find("failure")
    assert failure is not None and failure.get("type") == "drift"
    assert "rule: gate_failed" in (failure.text or "")
