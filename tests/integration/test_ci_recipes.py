"""The CI recipes in docs/ci/ are real pipelines: actionlint (with shellcheck) and the GitHub
workflow schema pass on the GitHub one, the GitLab CI schema and shellcheck on the GitLab
ones, and the guide shows them as they are."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.integration

CI = REPO / "docs" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = (CI / "gitlab-ci.yml", CI / "gitlab-shard.yml")


@pytest.fixture(scope="module")
def shellcheck() -> str:
    path = shutil.which("shellcheck")
    assert path, "the recipe checks need shellcheck on PATH (apt-get install shellcheck)"
    return path


def _check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
    )


def _actionlint(
    actionlint: Path, workflow: Path, shellcheck: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(actionlint), "-shellcheck", shellcheck, "-no-color", str(workflow)],
        cwd=workflow.parent,
        capture_output=True,
        text=True,
    )


def test_github_recipe_passes_actionlint_with_shellcheck(
    actionlint: Path, shellcheck: str, tmp_path: Path
) -> None:
    proc = _actionlint(actionlint, GITHUB, shellcheck)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the same check fails a broken copy: a job that needs one that does not exist
    broken = tmp_path / "images.yml"
    broken.write_text(GITHUB.read_text().replace("needs: [plan, gate]", "needs: [plan, gates]"))
    proc = _actionlint(actionlint, broken, shellcheck)
    assert proc.returncode == 1 and 'needs job "gates" which does not exist' in proc.stdout


def test_github_recipe_matches_the_workflow_schema(tmp_path: Path) -> None:
    proc = _check_jsonschema("vendor.github-workflows", GITHUB)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "images.yml"
    broken.write_text(GITHUB.read_text().replace("runs-on: ubuntu-latest", "runs_on: x", 1))
    assert _check_jsonschema("vendor.github-workflows", broken).returncode == 1


def _visible(text: str) -> str:
    """The schema lets hidden jobs (`.name:`) hold anything: make them jobs to check them."""
    return re.sub(r"^\.([\w-]+):", r"\1:", text, flags=re.MULTILINE)


def test_gitlab_recipes_match_the_gitlab_ci_schema(tmp_path: Path) -> None:
    copies = []
    for recipe in GITLAB:
        copies.append(tmp_path / recipe.name)
        copies[-1].write_text(_visible(recipe.read_text()))
    proc = _check_jsonschema("vendor.gitlab-ci", *GITLAB, *copies)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "shard.yml"
    broken.write_text(_visible(GITLAB[1].read_text()).replace("max: 1", "max: 5"))  # 0-2 only
    assert _check_jsonschema("vendor.gitlab-ci", broken).returncode == 1


def _fleet(tmp_path: Path, *args: str) -> str:
    """`hybridcore-packer ARGS fleet` in `tmp_path`, with a registry of its own."""
    proc = subprocess.run(
        [sys.executable, "-m", "hybridcore.cli", "--workdir", "out", *args, "fleet"],
        cwd=tmp_path,
        env={**os.environ, "HYBRIDCORE_REGISTRY_URL": f"sqlite:///{tmp_path / 'r.db'}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_plans_child_pipeline_matches_the_gitlab_ci_schema(tmp_path: Path) -> None:
    """What `plan --format gitlab` prints, with builds to run and with none, is a pipeline
    GitLab accepts, whatever the build names hold."""
    shutil.copytree(REPO / "examples" / "fleet", tmp_path / "fleet")
    template = tmp_path / "fleet" / "fleet.pkr.hcl"
    name = "tier: 1 it's #a"  # YAML-hostile: colon-space, quote, hash
    block = f'build {{\n  name    = "{name}"\n  sources = ["source.null.ubuntu-base"]\n}}\n'
    template.write_text(template.read_text() + block)
    child = tmp_path / "shards.yml"
    child.write_text(_fleet(tmp_path, "plan", "--format", "gitlab"))
    jobs = yaml.safe_load(child.read_text())
    assert jobs[f"build {name}.null.ubuntu-base"] == {
        "extends": ".hybridcore-shard",
        "variables": {"BUILD": f"{name}.null.ubuntu-base"},
    }
    assert len(jobs) == 14  # include + 13 builds
    proc = _check_jsonschema("vendor.gitlab-ci", child)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    _fleet(tmp_path, "build")
    child.write_text(_fleet(tmp_path, "plan", "--format", "gitlab"))
    assert list(yaml.safe_load(child.read_text())) == ["nothing to build"]
    proc = _check_jsonschema("vendor.gitlab-ci", child)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _gitlab_scripts(path: Path) -> list[str]:
    jobs: dict[str, Any] = yaml.safe_load(path.read_text())
    lines: list[str] = []
    for job in jobs.values():
        if isinstance(job, dict):
            for key in ("before_script", "script", "after_script"):
                lines += job.get(key, [])
    return lines


@pytest.mark.parametrize("recipe", GITLAB, ids=lambda path: path.name)
def test_gitlab_scripts_pass_shellcheck(recipe: Path, shellcheck: str, tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\nset -e\n" + "\n".join(_gitlab_scripts(recipe)) + "\n")
    proc = subprocess.run([shellcheck, "--shell=sh", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_only_transient_failures_are_retried() -> None:
    shard = yaml.safe_load(GITLAB[1].read_text())[".hybridcore-shard"]
    assert shard["retry"] == {"max": 1, "exit_codes": [2]}
    steps = yaml.safe_load(GITHUB.read_text())["jobs"]["build"]["steps"]
    retries = [s for s in steps if "exit-code == '2'" in str(s.get("if", ""))]
    assert len(retries) == 1 and "build --only" in retries[0]["run"]


def test_the_guide_shows_each_recipe_as_it_is() -> None:
    guide = (REPO / "docs" / "guide.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", guide, flags=re.DOTALL)
    for recipe in (GITHUB, *GITLAB):
        assert recipe.read_text() in blocks, f"docs/guide.md does not show {recipe.name} as is"
