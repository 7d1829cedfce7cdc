"""Check the capability spec, its Traceability table and the remediation document."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["DIMENSIONS", "REMEDIATIONS", "SPEC", "check_spec"]

SPEC = "openspec/specs/hybridcore-packer/spec.md"
REMEDIATIONS = (
    "assessments/2025-11-14-remediation-migration/remediations/hybridcore-packer-remediations.md"
)
DIMENSIONS = (
    "Completeness",
    "Integrity",
    "Alignment",
    "Ambiguities",
    "Cache/Parallelism",
    "Security",
    "Testing",
)

_H2 = re.compile(r"^##(?!#)[ \t]+(.+?)[ \t]*$", re.MULTILINE)
_REQUIREMENT = re.compile(r"^###(?!#)\s+Requirement:\s*(.+?)\s*$")
_SCENARIO = re.compile(r"^####(?!#)\s+Scenario:\s*\S")
_TEST_PATH = re.compile(r"tests/[\w./-]+")


def _sections(text: str) -> dict[str, str]:
    """Lower-cased `## ` header -> body up to the next `## ` header."""
    matches = list(_H2.finditer(text))
    found: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        found[match.group(1).strip().lower()] = text[match.end() : end]
    return found


def _requirements(text: str) -> dict[str, int]:
    """Requirement name -> number of scenarios under it."""
    counts: dict[str, int] = {}
    current: str | None = None
    for line in text.splitlines():
        req = _REQUIREMENT.match(line)
        if req:
            current = req.group(1)
            counts[current] = 0
        elif line.startswith(("## ", "### ")):
            current = None
        elif current is not None and _SCENARIO.match(line):
            counts[current] += 1
    return counts


def _traceability(body: str) -> dict[str, list[str]]:
    """Requirement name -> test paths listed in the `| Requirement | Tests |` table."""
    rows: dict[str, list[str]] = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.strip().startswith("|") or len(cells) < 2:
            continue
        name = cells[0].strip("`* ")
        if not name or name.lower() == "requirement" or set(name) <= set("-: "):
            continue
        rows[name] = _TEST_PATH.findall(" ".join(cells[1:]))
    return rows


def _check_remediations(repo: Path) -> list[str]:
    path = repo / REMEDIATIONS
    if not path.is_file():
        return [
            f"{REMEDIATIONS}: missing; create it with one '## <Dimension>' section per dimension"
        ]
    headers = _sections(path.read_text(encoding="utf-8"))
    return [
        f"{REMEDIATIONS}: no '## {dim}' section; add a per-dimension summary of the open gaps"
        for dim in DIMENSIONS
        if dim.lower() not in headers
    ]


def _check_traceability(repo: Path, sections: dict[str, str], names: list[str]) -> list[str]:
    if "traceability" not in sections:
        return [f"{SPEC}: no '## Traceability' section; add a '| Requirement | Tests |' table"]
    problems: list[str] = []
    rows = _traceability(sections["traceability"])
    for name in names:
        if name not in rows:
            problems.append(
                f"{SPEC}: requirement '{name}' is not in the Traceability table; add a row"
            )
        elif not rows[name]:
            problems.append(
                f"{SPEC}: requirement '{name}' lists no test in the Traceability table; "
                "add the tests/ paths that cover it"
            )
    for name, paths in rows.items():
        problems.extend(
            f"{SPEC}: Traceability row '{name}' lists {test}, which does not exist; "
            "fix the path or remove it"
            for test in paths
            if not (repo / test).exists()
        )
    return problems


def check_spec(repo: Path) -> list[str]:
    """Problems with the spec and its remediation document under `repo`; empty means pass."""
    problems = _check_remediations(repo)
    spec = repo / SPEC
    if not spec.is_file():
        return [f"{SPEC}: missing; write the capability spec in OpenSpec format", *problems]
    text = spec.read_text(encoding="utf-8")
    sections = _sections(text)
    if "added requirements" in sections:
        problems.append(
            f"{SPEC}: '## ADDED Requirements' belongs only under openspec/changes/; "
            "move its requirements under '## Requirements'"
        )
    if "open issues" not in sections:
        problems.append(f"{SPEC}: no '## Open Issues' section; add one pointing to {REMEDIATIONS}")
    elif REMEDIATIONS not in sections["open issues"]:
        problems.append(f"{SPEC}: '## Open Issues' does not point to {REMEDIATIONS}; add the path")
    requirements = _requirements(text)
    problems.extend(
        f"{SPEC}: requirement '{name}' has no '#### Scenario:'; add at least one WHEN/THEN scenario"
        for name, count in requirements.items()
        if count == 0
    )
    problems.extend(_check_traceability(repo, sections, list(requirements)))
    return problems
