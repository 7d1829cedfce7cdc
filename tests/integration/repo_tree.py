"""A clean copy of the repository's source tree for tests that build, clone or lint it.

Building a wheel writes ``build/`` and ``*.egg-info`` next to the sources; ``pre-commit
try-repo`` needs a git repository whose HEAD holds the files under test. Both get a copy, so
the checkout is never touched and uncommitted edits are what gets tested.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO

__all__ = ["SHIPPED_DIRS", "SHIPPED_FILES", "commit_all", "copy_tree"]

# What the sdist carries (MANIFEST.in): the package, its tests and what the tests read.
SHIPPED_DIRS = ("src", "tests", "examples", "docs", "openspec", "assessments", "scripts")
SHIPPED_FILES = (
    "pyproject.toml",
    "README.md",
    "MANIFEST.in",
    "action.yml",
    ".pre-commit-hooks.yaml",
)

# Left behind by tools and by running the example; never part of a release.
_DIRT = shutil.ignore_patterns(
    "__pycache__",
    "*.py[cod]",
    "*.egg-info",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hybridcore",
    "packer_cache",
    "out",
    "manifest.json",
    "packer-manifest.json",
)


def copy_tree(target: Path) -> Path:
    """Copy the repository's shipped files (not .venv, .git or caches) to ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED_DIRS:
        shutil.copytree(REPO / name, target / name, ignore=_DIRT)
    for name in SHIPPED_FILES:
        if (REPO / name).exists():
            shutil.copy2(REPO / name, target / name)
    return target


def commit_all(repo: Path) -> None:
    """Make ``repo`` a git repository whose HEAD holds every file in it."""
    # the committer is set here: a CI runner has no git identity, and signing would prompt
    identity = [
        "-c",
        "user.name=hybridcore tests",
        "-c",
        "user.email=tests@example.invalid",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), *identity, "commit", "-q", "--no-verify", "-m", "snapshot"],
        check=True,
    )
