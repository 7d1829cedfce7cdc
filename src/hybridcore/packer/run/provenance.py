"""Where a template came from: the git commit of the repository holding it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitState", "git_state"]


@dataclass(frozen=True)
class GitState:
    sha: str | None
    dirty: bool | None


def _git(directory: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        proc = subprocess.run(
            [git, "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_state(path: Path) -> GitState:
    """HEAD and dirtiness of the repository holding `path`; None outside git."""
    directory = path if path.is_dir() else path.parent
    head = _git(directory, "rev-parse", "--verify", "HEAD")
    if head is None:
        return GitState(sha=None, dirty=None)
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    return GitState(sha=head.strip(), dirty=bool(status.strip()) if status is not None else None)
