"""--junit with the real packer: the example validates as a passing suite, a template Packer
rejects gives a failing case with Packer's own words as the evidence."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from tests.conftest import EXAMPLE, REPO

pytestmark = pytest.mark.integration

SCHEMA = xmlschema.XMLSchema11(str(REPO / "tests" / "golden" / "junit.xsd"))


def _validate(template: Path, tmp_path: Path) -> tuple[int, ET.Element]:
    report = tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "hybridcore.cli", "--workdir", str(tmp_path / "wd")),
            *("validate", "--junit", str(report), str(template)),
        ],
        capture_output=True,
        text=True,
    )
    SCHEMA.validate(str(report))
    return proc.returncode, ET.parse(report).getroot()


def test_the_example_validates_as_a_passing_suite(tmp_path: Path) -> None:
    code, root = _validate(EXAMPLE, tmp_path)
    assert code == 0
    (case,) = root.iter("testcase")
    assert case.get("name") == "hybrid"
    # a pass: no failure, error or skip (Packer >= 1.9 also says "The configuration is valid."
    # on stdout, kept as system-out)
    assert [child.tag for child in case if child.tag != "system-out"] == []


def test_a_rejected_template_is_a_failure_with_packers_words(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(EXAMPLE, broken, ignore=shutil.ignore_patterns("out", "*.json"))
    with (broken / "hybrid.pkr.hcl").open("a") as handle:
        handle.write('\nbuild {\n  sources = ["source.null.nope"]\n}\n')
    code, root = _validate(broken, tmp_path)
    assert code == 1
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and failure.get("type") == "config"
    assert "evidence: Error: Unknown source null.nope" in (failure.text or "")
