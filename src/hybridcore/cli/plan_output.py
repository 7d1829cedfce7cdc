"""What `plan` prints: a table for people, the GitHub matrix, or a GitLab child pipeline.

GitHub Actions: one line of JSON, ``{"include": [{"build": NAME}, ...]}``, on stdout
and, when $GITHUB_OUTPUT is set, as ``matrix=...`` in it (a job reads it with
``fromJSON(needs.plan.outputs.matrix)``). GitLab: a child pipeline that includes the
shard job (``.gitlab/hybridcore-shard.yml``, docs/ci/gitlab-shard.yml) and extends it
once per build with ``BUILD`` set; with nothing to run, one job that says so (GitLab
refuses a pipeline without jobs). Scalars are written as JSON strings, which YAML
reads unchanged, so no build name can break the document.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from hybridcore.cli.console import PROG

if TYPE_CHECKING:
    from hybridcore.packer.commands.plan import PlanReport

__all__ = [
    "GITHUB_MATRIX_LIMIT",
    "SHARD_INCLUDE",
    "github_matrix",
    "gitlab_pipeline",
    "plan_lines",
    "write_github_output",
]

GITHUB_MATRIX_LIMIT = 256  # jobs a matrix may generate per workflow run
SHARD_INCLUDE = ".gitlab/hybridcore-shard.yml"
SHARD_JOB = ".hybridcore-shard"


def plan_lines(report: PlanReport) -> list[str]:
    """One line per build: name, status, and why."""
    width = max((len(item.build) for item in report.builds), default=0)
    lines = []
    for item in report.builds:
        marker = "run " if item.run else "    "
        lines.append(f"{marker}{item.build:<{width}}  {item.status:<15}  {item.reason}")
    return lines


def github_matrix(report: PlanReport) -> str:
    """The matrix as one line of JSON."""
    return json.dumps({"include": report.matrix["include"]}, separators=(",", ":"))


def write_github_output(report: PlanReport, environ: Mapping[str, str] | None = None) -> str | None:
    """Append ``matrix=...`` (and ``count=N``) to $GITHUB_OUTPUT; returns the file
    written, None when the variable is not set. OSError propagates."""
    environ = os.environ if environ is None else environ
    target = environ.get("GITHUB_OUTPUT")
    if not target:
        return None
    with Path(target).open("a", encoding="utf-8") as handle:
        handle.write(f"matrix={github_matrix(report)}\ncount={len(report.to_run)}\n")
    return target


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def gitlab_pipeline(report: PlanReport, include: str = SHARD_INCLUDE) -> str:
    """The child pipeline: one job per build to run, or one job saying there is none."""
    builds = report.to_run
    head = f"# {PROG} {' '.join(report.message.split())}\n"
    if not builds:
        message = f"{PROG} plan: nothing to build; every selected build is unchanged."
        return (
            f"{head}{_quoted('nothing to build')}:\n"
            f"  script:\n    - {_quoted('echo ' + _shell_quoted(message))}\n"
        )
    jobs = [f"include:\n  - local: {_quoted(include)}\n"]
    for build in builds:
        jobs.append(
            f"{_quoted('build ' + build)}:\n"
            f"  extends: {_quoted(SHARD_JOB)}\n"
            f"  variables:\n    BUILD: {_quoted(build)}\n"
        )
    return head + "\n".join(jobs)


def _shell_quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
