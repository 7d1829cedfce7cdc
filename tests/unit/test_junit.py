"""JUnit XML reports (cli/junit.py): results and drift/verify reports as test suites that
validate against the JUnit schema (tests/golden/junit.xsd, with count assertions), one test
case per run or build, failures with class, rule, evidence and remediation, never a secret."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcore import packer
from hybridcore.cli.junit import check_junit, result_junit, write_junit
from hybridcore.cli.main import main
from hybridcore.packer.base.build_drift import BuildDrift
from hybridcore.packer.base.result import Result
from hybridcore.packer.commands.inputs_check import CheckReport
from tests.conftest import REPO, FakePacker, write_template

Fake = Callable[..., FakePacker]
SCHEMA = xmlschema.XMLSchema11(str(REPO / "tests" / "golden" / "junit.xsd"))
TRANSIENT = "Build 'null.a' errored after 1 second: dial tcp 10.0.0.1:443: i/o timeout\n"
CONFIG_ERROR = 'Error: Unsupported argument\n\n  on main.pkr.hcl line 3:\n  3:   bogus = "x"\n'
TWO_BUILDS = """
source "null" "a" {
  communicator = "none"
}
source "null" "b" {
  communicator = "none"
}
build {
  sources = ["source.null.a", "source.null.b"]
}
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """main() and the API set up process-wide logging; put it back."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYBRIDCORE_PACKER_BIN", raising=False)
    yield


def _xml(tree: ET.ElementTree[ET.Element]) -> ET.Element:
    """Serialise, validate against the schema, and parse back: what a CI system reads."""
    text = ET.tostring(tree.getroot(), encoding="unicode")
    SCHEMA.validate(text)
    return ET.fromstring(text)


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in root.iter("testcase")}


def _build(fake: FakePacker, template: Path, work: Path, **options: object) -> Result:
    return packer.build(str(template), packer=str(fake.path), workdir=work, **options)  # type: ignore[arg-type]


def test_the_schema_rejects_counts_that_disagree_with_the_cases() -> None:
    text = (
        '<testsuites tests="1" failures="0" errors="0" skipped="0">'
        '<testsuite name="s" tests="1" failures="1" errors="0" skipped="0" time="0">'
        '<testcase name="a" classname="c" time="0"/></testsuite></testsuites>'
    )
    assert not SCHEMA.is_valid(text)


def test_parallel_build_gives_one_case_per_build_with_the_failure_on_the_failed_one(
    tmp_path: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": "Build 'null.a' finished.\n"}, {"stdout": CONFIG_ERROR, "exit": 1}])
    template = write_template(tmp_path / "t", TWO_BUILDS)
    result = _build(fake, template, tmp_path / "wd", parallel=1)
    assert result.exit_code == 1

    root = _xml(result_junit(result))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = _cases(root)
    assert set(cases) == {"null.a", "null.b"}
    failed = [case for case in cases.values() if case.find("failure") is not None]
    (failure,) = [case.find("failure") for case in failed]
    assert failure is not None and failure.get("type") == "config"
    run = next(r for r in result.runs if r.exit_code)
    body = failure.text or ""
    assert f"rule: {run.rule}" in body
    assert f"remediation: {run.remediation}" in body
    assert "evidence: Error: Unsupported argument" in body
    assert "class: config (exit 1, not retried)" in body
    assert failure.get("message", "").startswith(f"config: {run.rule}")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["command_id"] == result.command_id and props["exit_code"] == "1"


def test_transient_failure_is_an_error_not_a_failure(tmp_path: Path, fake_packer: Fake) -> None:
    fake = fake_packer()
    fake.script([{"stdout": TRANSIENT, "exit": 1}])
    template = write_template(tmp_path / "t", TWO_BUILDS)
    result = _build(fake, template, tmp_path / "wd", only=["null.a"])
    assert result.exit_code == 2

    root = _xml(result_junit(result))
    (case,) = root.iter("testcase")
    assert case.get("name") == "null.a"  # a shard's --only names its test case
    error = case.find("error")
    assert error is not None and error.get("type") == "transient"
    assert "attempts: 2" in (error.text or "")


def test_a_refusal_before_packer_runs_is_still_a_failing_case(
    tmp_path: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", TWO_BUILDS)
    result = packer.validate(
        str(template), {"admin_password": "hunter2"}, workdir=tmp_path / "wd", packer=str(fake.path)
    )
    assert (result.exit_code, result.rule, result.runs) == (3, "secret_on_command_line", [])

    root = _xml(result_junit(result))
    (case,) = root.iter("testcase")
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "security"
    assert "rule: secret_on_command_line" in (failure.text or "")
    assert "hunter2" not in ET.tostring(root, encoding="unicode")


def test_skipped_builds_are_skipped_cases(tmp_path: Path, fake_packer: Fake) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", TWO_BUILDS)
    result = _build(fake, template, tmp_path / "wd")
    skipping = result.model_copy(
        update={
            "skipped": [
                BuildDrift(
                    build="null.b",
                    status="skipped",
                    digest="d",
                    baseline_digest="d",
                    message="null.b: unchanged",
                )
            ]
        }
    )
    root = _xml(result_junit(skipping))
    skipped = _cases(root)["null.b"].find("skipped")
    assert skipped is not None and skipped.get("message") == "null.b: unchanged"


@pytest.fixture(scope="module")
def failed_validate(tmp_path_factory: pytest.TempPathFactory) -> Result:
    """A failed validate, made once for the property test (the fake packer is a process)."""
    root = tmp_path_factory.mktemp("junit-sample")
    (root / "fake").mkdir()
    fake = FakePacker(root / "fake", "1.6.6")
    fake.script([{"stdout": CONFIG_ERROR, "exit": 1}])
    template = write_template(root / "t", TWO_BUILDS)
    return packer.validate(str(template), packer=str(fake.path), workdir=root / "wd")


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_any_text_from_packer_gives_a_valid_report(failed_validate: Result, text: str) -> None:
    # stdout tails and evidence hold whatever Packer printed, control characters included
    result = failed_validate.model_copy(
        update={
            "message": text,
            "runs": [
                run.model_copy(update={"stdout": text, "stderr": text, "evidence": text})
                for run in failed_validate.runs
            ],
        }
    )
    root = _xml(result_junit(result))
    (case,) = root.iter("testcase")
    failure = case.find("failure")
    assert failure is not None
    # every character XML 1.0 can carry is kept; the others become U+FFFD
    kept = "".join(c if _xml_char(c) else "\ufffd" for c in text)
    line = f"evidence: {kept}\n".replace("\r\n", "\n").replace("\r", "\n")  # as parsers read
    assert not text or line in (failure.text or "")


def _xml_char(c: str) -> bool:
    code = ord(c)
    return c in "\t\n\r" or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code > 0xFFFF


def _report(builds: list[BuildDrift], **fields: object) -> CheckReport:
    values: dict[str, object] = {
        "command": "drift",
        "exit_code": 1,
        "classification": "drift",
        "rule": "inputs_drifted",
        "message": "m",
        "remediation": "Rebuild the drifted builds.",
        "builds": builds,
        "workdir": "/w",
        "started_at": "2025-01-01T00:00:00Z",
        "finished_at": "2025-01-01T00:00:02Z",
    }
    return CheckReport.model_validate({**values, **fields})


def test_drift_gives_one_case_per_build_with_the_changed_inputs() -> None:
    report = _report(
        [
            BuildDrift(
                build="null.a",
                status="drifted",
                digest="new",
                baseline_digest="old",
                changed=["scripts/provision.sh"],
                areas=["provisioners"],
                message="null.a: 1 input changed",
            ),
            BuildDrift(build="null.b", status="clean", digest="d", baseline_digest="d"),
            BuildDrift(
                build="null.c",
                status="no-baseline",
                digest="d",
                baseline_digest=None,
                message="null.c: never built",
            ),
        ]
    )
    root = _xml(check_junit(report))
    cases = _cases(root)
    failure = cases["null.a"].find("failure")
    assert failure is not None and failure.get("type") == "drift"
    assert failure.get("message") == "null.a: 1 input changed"
    assert "changed: scripts/provision.sh" in (failure.text or "")
    assert "remediation: Rebuild the drifted builds." in (failure.text or "")
    assert list(cases["null.b"]) == []  # passed
    assert cases["null.c"].find("skipped") is not None
    suite = root.find("testsuite")
    assert suite is not None and suite.get("time") == "2.000"


def test_a_verify_that_stopped_early_is_one_failing_case() -> None:
    report = _report(
        [],
        command="verify",
        exit_code=3,
        classification="security",
        rule="record_mismatch",
        remediation="Do not publish: one of the files was edited or replaced; rebuild.",
    )
    root = _xml(check_junit(report))
    (case,) = root.iter("testcase")
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "security"
    assert "rule: record_mismatch" in (failure.text or "")


# --- the --junit option ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["fmt", "validate", "build", "drift", "verify"])
def test_junit_option_writes_a_valid_report(
    command: str, tmp_path: Path, fake_packer: Fake
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", TWO_BUILDS)
    report = tmp_path / "reports" / "junit.xml"
    code = main(
        [
            *("--packer", str(fake.path), "--workdir", str(tmp_path / "wd"), command),
            *("--junit", str(report), str(template)),
        ]
    )
    text = report.read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    SCHEMA.validate(text)
    suite = ET.fromstring(text).find("testsuite")
    assert suite is not None and suite.get("name") == f"hybridcore-packer {command}"
    failures = int(suite.get("failures", "0")) + int(suite.get("errors", "0"))
    assert (failures > 0) == (code != 0)
    assert [p.name for p in report.parent.iterdir()] == ["junit.xml"]  # no temp file left


def test_secrets_stay_out_of_the_report(
    tmp_path: Path, fake_packer: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-Value-123"
    monkeypatch.setenv("DEPLOY_SECRET", secret)
    fake = fake_packer()
    fake.script([{"stdout": f"Error: login failed for {secret}\n", "stderr": secret, "exit": 1}])
    template = write_template(tmp_path / "t", TWO_BUILDS)
    report = tmp_path / "junit.xml"
    code = main(
        [
            *("--packer", str(fake.path), "--workdir", str(tmp_path / "wd"), "build"),
            *("--secret-env", "DEPLOY_SECRET", "--junit", str(report), str(template)),
        ]
    )
    assert code == 1
    text = report.read_text()
    assert "login failed for" in text
    assert secret not in text


def test_an_unwritable_report_is_a_config_error_named_with_its_path(
    tmp_path: Path, fake_packer: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_packer()
    template = write_template(tmp_path / "t", TWO_BUILDS)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    code = main(
        [
            *("--packer", str(fake.path), "--workdir", str(tmp_path / "wd"), "validate"),
            *("--junit", str(blocker / "junit.xml"), str(template)),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"--junit {blocker / 'junit.xml'}" in err
    assert "Traceback" not in err


def test_a_failed_command_keeps_its_exit_code_when_the_report_fails(tmp_path: Path) -> None:
    report = _report([], exit_code=3, classification="security", rule="record_mismatch")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert write_junit(str(blocker / "junit.xml"), report) == 3
    assert write_junit(None, report) == 3
