"""The composite GitHub Action (action.yml): its file is a valid action, a workflow that uses
it passes actionlint, and its two shell steps do what they say when run as GitHub runs them
(``bash --noprofile --norc -eo pipefail``), with the real packer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLE, REPO, FakePacker
from tests.integration.repo_tree import commit_all, copy_tree

pytestmark = pytest.mark.integration

ACTION = REPO / "action.yml"
TRANSIENT = "Build 'null.a' errored after 1 second: dial tcp 10.0.0.1:443: i/o timeout\n"


def _steps() -> dict[str, dict[str, Any]]:
    action = yaml.safe_load(ACTION.read_text())
    return {step["id"]: step for step in action["runs"]["steps"] if "id" in step}


def _outputs(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines)


def _run_step(
    step: str, cwd: Path, env: dict[str, str], tmp: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run one `run:` step of the action as the runner would; return it and its outputs."""
    script = tmp / f"{step}.sh"
    script.write_text(_steps()[step]["run"])
    output = tmp / f"{step}.output"
    output.unlink(missing_ok=True)
    base = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env={**base, "GITHUB_OUTPUT": str(output), "GITHUB_PATH": str(tmp / "path"), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, _outputs(output)


def test_action_yml_is_a_valid_action() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-actions",
            str(ACTION),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_input_is_spliced_into_a_script() -> None:
    # an expression in `run:` would be pasted into the shell text before bash sees it
    for step in _steps().values():
        assert "${{" not in step.get("run", ""), step["id"]


def test_a_workflow_using_the_action_passes_actionlint(tmp_path: Path, actionlint: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy2(ACTION, repo / "action.yml")
    (repo / ".github" / "workflows" / "images.yml").write_text(
        """\
name: images
on: push
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        id: validate
        continue-on-error: true
        with:
          args: validate --var-file templates/ci.pkrvars.hcl templates/
          packer-version: 1.9.5
          junit: validate.xml
      - if: steps.validate.outputs.exit-code == '2'
        uses: ./
        with:
          args: validate templates/
          python-version: ""
      - run: echo "$CLASS"
        env:
          CLASS: ${{ steps.validate.outputs.classification }}
"""
    )
    commit_all(repo)
    proc = subprocess.run([str(actionlint)], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # and actionlint does read the action: an input it does not declare is an error
    workflow = repo / ".github" / "workflows" / "images.yml"
    workflow.write_text(workflow.read_text().replace("junit:", "junit-file:"))
    proc = subprocess.run([str(actionlint)], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 1
    assert 'input "junit-file" is not defined' in proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The install step, run for real: a venv under RUNNER_TEMP with the action's checkout."""
    tmp = tmp_path_factory.mktemp("action")
    checkout = copy_tree(tmp / "action-checkout")
    proc, outputs = _run_step(
        "install",
        tmp,
        {"RUNNER_TEMP": str(tmp / "runner-temp"), "HYBRIDCORE_ACTION_PATH": str(checkout)},
        tmp,
    )
    assert proc.returncode == 0, proc.stderr
    venv = Path(outputs["venv"])
    assert venv.parent == tmp / "runner-temp"
    assert (tmp / "path").read_text() == f"{venv}/bin\n"
    assert proc.stdout.startswith("hybridcore-packer ")
    # a second run in the same job reuses the environment
    again, _ = _run_step(
        "install",
        tmp,
        {"RUNNER_TEMP": str(tmp / "runner-temp"), "HYBRIDCORE_ACTION_PATH": "/nonexistent"},
        tmp,
    )
    assert again.returncode == 0, again.stderr
    return venv


def _inputs(venv: Path, args: str, **extra: str) -> dict[str, str]:
    inputs = {
        "HYBRIDCORE_VENV": str(venv),
        "HYBRIDCORE_ARGS": args,
        "HYBRIDCORE_JUNIT_INPUT": "",
        "HYBRIDCORE_PACKER_INPUT": "",
        "HYBRIDCORE_REGISTRY_INPUT": "",
    }
    return {**inputs, **extra}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(EXAMPLE, work / "hybrid", ignore=shutil.ignore_patterns("out", "*.json"))
    return work


def test_run_passes_quoted_args_as_one_word_and_reports_ok(
    installed: Path, project: Path, tmp_path: Path
) -> None:
    args = "--workdir 'state dir' validate --var-file hybrid/ci.pkrvars.hcl hybrid"
    proc, outputs = _run_step("run", project, _inputs(installed, args), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert outputs == {"exit-code": "0", "classification": "ok"}
    assert (project / "state dir" / "logs").is_dir()


def test_run_never_executes_shell_text_from_the_args(
    installed: Path, project: Path, tmp_path: Path
) -> None:
    args = "validate $(touch pwned) `touch pwned2`; touch pwned3 hybrid"
    proc, outputs = _run_step("run", project, _inputs(installed, args), tmp_path)
    assert not list(project.glob("pwned*"))
    assert proc.returncode == 1
    assert outputs == {"exit-code": "1", "classification": "config"}


def test_run_refuses_unbalanced_quotes_with_a_config_error(
    installed: Path, project: Path, tmp_path: Path
) -> None:
    proc, outputs = _run_step("run", project, _inputs(installed, "validate 'hybrid"), tmp_path)
    assert (proc.returncode, outputs["classification"]) == (1, "config")
    assert "the args input cannot be split" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_reports_a_transient_failure_as_exit_2_for_a_retry_step(
    installed: Path,
    project: Path,
    tmp_path: Path,
    fake_packer: Callable[..., FakePacker],
) -> None:
    fake = fake_packer()
    fake.script([{"stdout": TRANSIENT, "exit": 1}])
    proc, outputs = _run_step(
        "run",
        project,
        _inputs(installed, "validate hybrid", HYBRIDCORE_PACKER_INPUT=str(fake.path)),
        tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert outputs == {"exit-code": "2", "classification": "transient"}
    assert fake.calls, "the packer input did not reach the tool"


def test_run_masks_the_registry_url(installed: Path, project: Path, tmp_path: Path) -> None:
    url = "postgresql://ci:s3cret-pw@db.internal:5432/images"
    proc, _ = _run_step(
        "run",
        project,
        _inputs(installed, "--version", HYBRIDCORE_REGISTRY_INPUT=url),
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    # the mask command comes before anything else the step prints
    assert proc.stdout.splitlines()[0] == f"::add-mask::{url}"


def test_run_appends_the_junit_input_to_the_command(
    installed: Path, project: Path, tmp_path: Path
) -> None:
    inputs = _inputs(
        installed, "--workdir wd validate hybrid", HYBRIDCORE_JUNIT_INPUT="reports/validate.xml"
    )
    proc, _ = _run_step("run", project, inputs, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "<testsuite " in (project / "reports" / "validate.xml").read_text()
