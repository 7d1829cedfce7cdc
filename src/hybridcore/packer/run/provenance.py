"""Where a build came from: the git commit of the repository holding its template, and
the CI job or host that ran it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitState", "git_state", "runner_name"]


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


def runner_name(environ: Mapping[str, str]) -> str:
    """Who runs this command, as a person finds it again: $HYBRIDCORE_RUNNER when set,
    else the GitHub Actions run and job, the GitLab job, or the host and process."""
    if given := " ".join(environ.get("HYBRIDCORE_RUNNER", "").split())[:255]:
        return given  # one line: it is printed in the gate's one-line verdicts
    if environ.get("GITHUB_ACTIONS") == "true":
        server = environ.get("GITHUB_SERVER_URL", "https://github.com")
        repository = environ.get("GITHUB_REPOSITORY", "?")
        run = f"{server}/{repository}/actions/runs/{environ.get('GITHUB_RUN_ID', '?')}"
        if attempt := environ.get("GITHUB_RUN_ATTEMPT"):
            run += f" attempt {attempt}"
        return f"{run} job {environ.get('GITHUB_JOB', '?')} on {environ.get('RUNNER_NAME', '?')}"
    if environ.get("GITLAB_CI") == "true":
        job = environ.get("CI_JOB_URL") or f"job {environ.get('CI_JOB_ID', '?')}"
        name = environ.get("CI_JOB_NAME", "?")
        where = environ.get("CI_RUNNER_DESCRIPTION") or environ.get("CI_RUNNER_ID", "?")
        return f"{job} ({name}) on runner {where}"
    return f"{socket.gethostname()} pid {os.getpid()}"
