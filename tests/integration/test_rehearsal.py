"""A CI pipeline rehearsed with real Packer and a private PostgreSQL registry: plan the
12-build fleet example, three runners build shards of 4 (one shard fails once), the gate
names what is missing and who touched it, a retry, the gate passes, the GitHub recipe's
promote step moves `production`; then one provisioner script changes and the next plan
lists exactly the builds that use it, and the others are neither rebuilt nor lost."""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import PostgresServer
from tests.pipeline_rehearsal import FLEET, Pipeline

pytestmark = pytest.mark.integration

FLEET_BUILDS = sorted(
    f"null.{name}"
    for name in [
        "ubuntu-base",
        "rhel-base",
        "windows-base",
        "ubuntu-web",
        "rhel-web",
        "windows-iis",
        "ubuntu-postgres",
        "rhel-postgres",
        "ubuntu-ci",
        "rhel-ci",
        "windows-ci",
        "ubuntu-cache",
    ]
)
CI_BUILDS = ["null.rhel-ci", "null.ubuntu-ci", "null.windows-ci"]


def _gate_cases(junit: Path) -> dict[str, str]:
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    return {
        str(case.get("name")): "failed" if case.find("failure") is not None else "passed"
        for case in suite.findall("testcase")
    }


def test_plan_shard_gate_promote_then_a_script_change(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    source = tmp_path / "source"  # the repository; each job checks out a fresh copy of it
    shutil.copytree(FLEET, source)
    pipeline = Pipeline(
        tmp_path / "jobs", postgres_server.url(postgres_server.create_database()), source
    )

    planned = pipeline.plan()
    assert planned == FLEET_BUILDS
    failing = planned[11]  # the last build of runner-3's shard fails once
    steps = pipeline.shards(
        planned, runners=3, env={"runner-3": {"FLEET_FAIL": failing.removeprefix("null.")}}
    )
    assert [(s.runner, s.argv[-2]) for s in steps] == [
        (f"runner-{i // 4 + 1}", build) for i, build in enumerate(planned)
    ]
    assert [s.code for s in steps] == [0] * 11 + [1], steps[-1].stderr

    gate, junit = pipeline.gate()
    assert gate.code == 1, gate.stderr
    assert f"[{failing}] failed: no version registered yet; last touched by runner-3" in gate.stderr
    assert "1 of 12 build(s) not registered from their current inputs" in gate.stderr
    assert _gate_cases(junit) == {b: "failed" if b == failing else "passed" for b in planned}

    assert pipeline.plan() == [failing]  # the retry's plan: only what is missing
    assert [s.code for s in pipeline.shards([failing], runners=3)] == [0]
    gate, junit = pipeline.gate()
    assert gate.code == 0, gate.stderr
    assert set(_gate_cases(junit).values()) == {"passed"}
    promoted = pipeline.promote(planned, "production")
    assert promoted.code == 0, promoted.stderr
    assert pipeline.plan() == []

    # a change to one provisioner script: exactly the builds that run it
    script = source / "scripts" / "ci-agent.sh"
    script.write_text(script.read_text().replace("runner agent 3.4", "runner agent 3.5"))
    replanned = pipeline.plan()
    assert replanned == CI_BUILDS
    steps = pipeline.shards(replanned, runners=3)
    assert [s.code for s in steps] == [0, 0, 0]
    gate, _ = pipeline.gate()
    assert gate.code == 0, gate.stderr
    assert pipeline.promote(replanned, "production").code == 0

    for build in FLEET_BUILDS:
        versions = pipeline.json("registry", "versions", build)["versions"]
        production = pipeline.json("registry", "channel", "get", build, "production")
        expected = 2 if build in CI_BUILDS else 1
        assert [v["number"] for v in versions] == list(range(expected, 0, -1)), build
        assert production["channel"]["version"]["number"] == expected, build
