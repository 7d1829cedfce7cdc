"""CI-native reports (cli/ci_reports.py): GitHub step summary and ::error annotations that
point at the template line, GitLab collapsible sections around each build's lines; off
unless the CI system's variable says so; scrubbed like every other output."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hybridcore.cli.ci_reports import github_annotations
from hybridcore.cli.main import main
from hybridcore.packer.base.build_drift import BuildDrift
from hybridcore.packer.commands.inputs_check import CheckReport
from tests.conftest import FakePacker, write_template

Fake = Callable[..., FakePacker]
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
SECRET = "s3cr3t-Value-123"


def _diagnostic(file: str, detail: str = 'An argument named "bogus" is not expected here.') -> str:
    return (
        f'Error: Unsupported argument\n\n  on {file} line 3:\n   3:   bogus = "x"\n\n{detail}\n\n'
    )


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A scratch directory, no CI variables from the machine running the tests, and the
    process-wide logging put back (tests/conftest.py)."""
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HYBRIDCORE_PACKER_BIN", raising=False)
    yield


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """GitHub Actions' variables; returns the step summary file (already holding a line)."""
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    return summary


def _annotations(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("::")]


def test_github_annotation_points_at_the_template_line_packer_named(
    tmp_path: Path, fake_packer: Fake, github: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write_template(tmp_path / "images", TWO_BUILDS)
    fake = fake_packer()
    fake.script([{"stdout": _diagnostic("images/main.pkr.hcl"), "exit": 1}])
    code = main(["--json", "--packer", str(fake.path), "--workdir", "wd", "validate", "images"])
    out, err = capsys.readouterr()

    assert code == 1
    assert json.loads(out)["command"] == "validate"  # stdout stays the JSON document
    (annotation,) = _annotations(err)
    assert annotation.startswith("::error file=images/main.pkr.hcl,line=3,title=")
    message = annotation.split("::", 2)[2]
    assert message.startswith('Unsupported argument: An argument named "bogus" is not expected')
    assert template.exists()

    text = github.read_text()
    assert text.startswith("earlier step\n")  # appended, never overwritten
    assert "### hybridcore-packer validate: exit 1 (config)" in text
    assert "| images | exit 1 (config) | unsupported_argument |" in text


def test_a_file_packer_names_from_inside_the_template_directory_is_found(
    tmp_path: Path, fake_packer: Fake, github: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_template(tmp_path / "images", TWO_BUILDS)
    fake = fake_packer()
    fake.script([{"stdout": _diagnostic("main.pkr.hcl"), "exit": 1}])
    main(["--packer", str(fake.path), "--workdir", "wd", "validate", "images"])
    (annotation,) = _annotations(capsys.readouterr().err)
    assert "file=images/main.pkr.hcl,line=3," in annotation


def test_outside_github_actions_nothing_is_annotated_or_summarised(
    tmp_path: Path, fake_packer: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    write_template(tmp_path / "images", TWO_BUILDS)
    fake = fake_packer()
    fake.script([{"stdout": _diagnostic("images/main.pkr.hcl"), "exit": 1}])
    main(["--packer", str(fake.path), "--workdir", "wd", "validate", "images"])
    err = capsys.readouterr().err
    assert _annotations(err) == []
    assert "section_start" not in err


def test_annotations_and_summary_carry_no_secret(
    tmp_path: Path,
    fake_packer: Fake,
    github: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOY_SECRET", SECRET)
    write_template(tmp_path / "images", TWO_BUILDS)
    fake = fake_packer()
    fake.script([{"stdout": _diagnostic("images/main.pkr.hcl", f"token {SECRET}"), "exit": 1}])
    main(
        [
            *("--packer", str(fake.path), "--workdir", "wd", "build"),
            *("--secret-env", "DEPLOY_SECRET", "images"),
        ]
    )
    err = capsys.readouterr().err
    (annotation,) = _annotations(err)
    assert "token " in annotation
    assert SECRET not in err and SECRET not in github.read_text()


def test_a_multi_line_message_stays_one_workflow_command(tmp_path: Path) -> None:
    report = CheckReport(
        command="verify",
        exit_code=3,
        classification="security",
        rule="record_mismatch",
        message="100% sure:\nline two\r\nline three",
        remediation=None,
        builds=[],
        workdir=str(tmp_path),
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:00:01Z",
    )
    (line,) = github_annotations(report, {}).splitlines()
    assert line.endswith("::100%25 sure:%0Aline two%0D%0Aline three")
    assert "title=hybridcore-packer verify%3A security (record_mismatch)" in line


def test_drift_annotates_each_changed_file_and_names_other_inputs(tmp_path: Path) -> None:
    script = tmp_path / "images" / "scripts" / "setup.sh"
    script.parent.mkdir(parents=True)
    script.write_text("echo hi\n")
    report = CheckReport(
        command="drift",
        exit_code=1,
        classification="drift",
        rule="inputs_drifted",
        message="m",
        remediation="Rebuild.",
        builds=[
            BuildDrift(
                build="null.a",
                status="drifted",
                digest="new",
                baseline_digest="old",
                changed=["../images/scripts/setup.sh", "var.image_version"],
                removed=["../images/gone.sh"],
            ),
            BuildDrift(build="null.b", status="clean", digest="d", baseline_digest="d"),
        ],
        workdir=str(tmp_path / "wd"),
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:00:01Z",
    )
    lines = github_annotations(report, {"GITHUB_WORKSPACE": str(tmp_path)}).splitlines()
    assert len(lines) == 3
    changed = next(line for line in lines if "setup.sh" in line)
    assert changed.startswith("::error file=images/scripts/setup.sh,title=")
    assert changed.endswith(
        "::null.a: images/scripts/setup.sh changed since its last build. Rebuild."
    )
    others = [line for line in lines if line is not changed]
    assert all("file=" not in line for line in others)  # a variable, a deleted file
    assert any("var.image_version changed" in line for line in others)


def test_a_summary_that_cannot_be_written_is_a_warning(
    tmp_path: Path,
    fake_packer: Fake,
    github: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-dir" / "summary.md"))
    write_template(tmp_path / "images", TWO_BUILDS)
    fake = fake_packer()
    assert main(["--packer", str(fake.path), "--workdir", "wd", "validate", "images"]) == 0
    assert "warning: cannot append to GITHUB_STEP_SUMMARY" in capsys.readouterr().err


_MARKER = re.compile(
    r"\x1b\[0Ksection_(start|end):\d+:([A-Za-z0-9_.-]+)(\[collapsed=true\])?\r\x1b\[0K(.*)"
)


def test_gitlab_sections_hold_each_builds_lines(
    tmp_path: Path,
    fake_packer: Fake,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITLAB_CI", "true")
    write_template(tmp_path / "images", TWO_BUILDS)
    fake = fake_packer()
    fake.script([{"stdout": "step one\nstep two\n"}])
    code = main(
        ["--packer", str(fake.path), "--workdir", "wd", "build", "--parallel", "1", "images"]
    )
    assert code == 0
    lines = capsys.readouterr().err.split("\n")  # not splitlines(): markers hold a \r

    open_section: tuple[str, str] | None = None
    seen: set[str] = set()
    for line in lines:
        marker = _MARKER.match(line)
        if marker and marker[1] == "start":
            assert open_section is None, "sections do not nest"
            assert marker[3] == "[collapsed=true]"
            open_section = (marker[2], marker[4].removeprefix("packer "))
        elif marker:
            assert open_section is not None and marker[2] == open_section[0]
            open_section = None
        elif " | " in line and "INFO packer" in line:
            label = line.split(" | ")[0].rsplit(" ", 1)[1]
            assert open_section is not None and open_section[1] == label, line
            seen.add(label)
    assert open_section is None  # the last one is closed
    assert seen == {"null.a", "null.b"}
    assert lines[-2].startswith("hybridcore-packer: ok:")  # the summary stays outside
