"""The pre-commit hooks (.pre-commit-hooks.yaml), installed by pre-commit itself from a commit
of this tree and run with ``pre-commit try-repo`` on a repository holding the example, with
the real packer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE
from tests.integration.repo_tree import commit_all, copy_tree

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This tree as a git repository: try-repo installs the hooks from its HEAD."""
    repo = copy_tree(tmp_path_factory.mktemp("hooks") / "hybridcore-packer")
    commit_all(repo)
    return repo


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the module: pre-commit builds it once per repo and commit."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's image repository: the example at its root, committed."""
    repo = tmp_path / "images"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("out", "*.json"))
    (repo / ".gitignore").write_text(".hybridcore/\n")
    commit_all(repo)
    return repo


def _try_repo(project: Path, hooks_repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Every hook of the repository on every tracked file (try-repo installs them afresh)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hooks_repo), "--all-files"],
        cwd=project,
        env={**env, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _stage(project: Path, name: str, text: str) -> None:
    (project / name).write_text(text)
    subprocess.run(["git", "-C", str(project), "add", name], check=True)


def _hook_output(stdout: str, name: str) -> str:
    """The block pre-commit prints for one hook: its status line and what it wrote."""
    start = stdout.index(name)
    end = stdout.find("\n", stdout.find("- hook id:", start))
    following = stdout.find("(hybridcore-packer)", end)
    return stdout[start : following if following != -1 else len(stdout)]


def test_both_hooks_pass_the_example_and_leave_only_ignored_logs(
    project: Path, hooks_repo: Path, pre_commit_home: Path
) -> None:
    proc = _try_repo(project, hooks_repo, pre_commit_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("packer fmt --check (hybridcore-packer)", "packer validate (hybridcore-packer)"):
        assert f"{name}." in proc.stdout and "Passed" in _hook_output(proc.stdout, name)
    status = subprocess.run(
        ["git", "-C", str(project), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == ""  # the run logs went to .hybridcore/, which the project ignores
    assert list((project / ".hybridcore" / "pre-commit" / "logs" / "packer").iterdir())


def test_fmt_names_the_unformatted_file_and_validate_fails_the_directory(
    project: Path, hooks_repo: Path, pre_commit_home: Path
) -> None:
    messy = 'image_name="golden-ubuntu"\nimage_version   =    "1.4.0"\n'
    _stage(project, "ci.pkrvars.hcl", messy)
    template = (project / "hybrid.pkr.hcl").read_text()
    _stage(project, "hybrid.pkr.hcl", template + '\nbuild {\n  sources = ["source.null.nope"]\n}\n')
    proc = _try_repo(project, hooks_repo, pre_commit_home)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    fmt = _hook_output(proc.stdout, "packer fmt --check (hybridcore-packer)")
    assert "Failed" in fmt and "exit 1 (config)" in fmt
    # Packer's own line naming the file, as the tool logs it: "<target> | <output line>"
    assert "ci.pkrvars.hcl | ci.pkrvars.hcl" in fmt
    assert "hybrid.pkr.hcl | hybrid.pkr.hcl" not in fmt
    assert (project / "ci.pkrvars.hcl").read_text() == messy  # a check: nothing rewritten
    validate = _hook_output(proc.stdout, "packer validate (hybridcore-packer)")
    assert "Failed" in validate and "exit 1 (config)" in validate
    assert "Unknown source null.nope" in validate
