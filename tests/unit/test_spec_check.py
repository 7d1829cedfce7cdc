"""The capability spec, its Traceability table and the remediation document stay consistent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hybridcore.packer.commands.spec_check import REMEDIATIONS, SPEC, check_spec
from tests.conftest import REPO


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The spec, the assessments and every test file the Traceability table names."""
    shutil.copytree(REPO / "openspec", tmp_path / "openspec")
    shutil.copytree(REPO / "assessments", tmp_path / "assessments")
    for test in (REPO / "tests").rglob("test_*.py"):
        target = tmp_path / test.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_real_repo_passes() -> None:
    assert check_spec(REPO) == []


def test_copy_passes(copy: Path) -> None:
    assert check_spec(copy) == []


def test_open_issues_pointer_removed(copy: Path) -> None:
    spec = copy / SPEC
    head, _, _ = spec.read_text(encoding="utf-8").rpartition("\n## Open Issues\n")
    spec.write_text(head + "\n## Open Issues\n\nSee the assessment.\n", encoding="utf-8")
    problems = check_spec(copy)
    assert len(problems) == 1
    assert "'## Open Issues' does not point to" in problems[0]
    assert REMEDIATIONS in problems[0]


def test_open_issues_section_removed(copy: Path) -> None:
    spec = copy / SPEC
    head, _, _ = spec.read_text(encoding="utf-8").rpartition("\n## Open Issues\n")
    spec.write_text(head + "\n", encoding="utf-8")
    assert check_spec(copy) == [
        f"{SPEC}: no '## Open Issues' section; add one pointing to {REMEDIATIONS}"
    ]


def test_remediation_doc_removed(copy: Path) -> None:
    (copy / REMEDIATIONS).unlink()
    problems = check_spec(copy)
    assert len(problems) == 1
    assert problems[0].startswith(f"{REMEDIATIONS}: missing")


def test_dimension_section_missing(copy: Path) -> None:
    _edit(copy / REMEDIATIONS, "## Cache/Parallelism", "## Caching notes")
    assert check_spec(copy) == [
        f"{REMEDIATIONS}: no '## Cache/Parallelism' section; "
        "add a per-dimension summary of the open gaps"
    ]


def test_dimension_headers_are_case_insensitive(copy: Path) -> None:
    _edit(copy / REMEDIATIONS, "## Security", "## SECURITY")
    assert check_spec(copy) == []


def test_requirement_without_test(copy: Path) -> None:
    _edit(
        copy / SPEC,
        "| Drift Detection | `tests/unit/test_inputs_check.py`, "
        "`tests/integration/test_inputs_check_real.py` |",
        "| Drift Detection | |",
    )
    problems = check_spec(copy)
    assert len(problems) == 1
    assert "requirement 'Drift Detection' lists no test" in problems[0]


def test_requirement_missing_from_table(copy: Path) -> None:
    _edit(copy / SPEC, "| Open Issues Tracking | `tests/unit/test_spec_check.py` |\n", "")
    problems = check_spec(copy)
    assert problems == [
        f"{SPEC}: requirement 'Open Issues Tracking' is not in the Traceability table; add a row"
    ]


def test_listed_test_does_not_exist(copy: Path) -> None:
    (copy / "tests" / "unit" / "test_iso_cache.py").unlink()
    problems = check_spec(copy)
    assert len(problems) == 1
    assert "tests/unit/test_iso_cache.py, which does not exist" in problems[0]


def test_requirement_without_scenario(copy: Path) -> None:
    spec = copy / SPEC
    _edit(
        spec,
        "## Traceability",
        "### Requirement: Orphan\n\nThe tool SHALL do it.\n\n## Traceability",
    )
    _edit(
        spec,
        "| Open Issues Tracking |",
        "| Orphan | `tests/unit/test_pipeline.py` |\n| Open Issues Tracking |",
    )
    problems = check_spec(copy)
    assert problems == [
        f"{SPEC}: requirement 'Orphan' has no '#### Scenario:'; add at least one WHEN/THEN scenario"
    ]


def test_added_requirements_header(copy: Path) -> None:
    _edit(copy / SPEC, "## Traceability", "## ADDED Requirements\n\n## Traceability")
    problems = check_spec(copy)
    assert len(problems) == 1
    assert "'## ADDED Requirements' belongs only under openspec/changes/" in problems[0]


def test_spec_missing(copy: Path) -> None:
    (copy / SPEC).unlink()
    problems = check_spec(copy)
    assert problems == [f"{SPEC}: missing; write the capability spec in OpenSpec format"]
