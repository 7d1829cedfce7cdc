"""Who ran a build, as the gate names it: the override, GitHub Actions, GitLab CI, a host."""

from __future__ import annotations

import os
import socket

from hybridcore.packer.run.provenance import runner_name


def test_the_override_is_one_line_of_at_most_255_characters() -> None:
    assert runner_name({"HYBRIDCORE_RUNNER": "  runner-3\n(eu)\t "}) == "runner-3 (eu)"
    assert len(runner_name({"HYBRIDCORE_RUNNER": "x" * 1000})) == 255


def test_github_actions_names_the_run_attempt_job_and_runner() -> None:
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "team/images",
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_JOB": "build",
        "RUNNER_NAME": "GitHub Actions 7",
    }
    assert runner_name(environ) == (
        "https://github.example/team/images/actions/runs/42 attempt 2 job build on GitHub Actions 7"
    )


def test_gitlab_names_the_job_url_and_runner() -> None:
    environ = {
        "GITLAB_CI": "true",
        "CI_JOB_URL": "https://gitlab.example/team/images/-/jobs/99",
        "CI_JOB_NAME": "build null.web",
        "CI_RUNNER_DESCRIPTION": "shared-runner-3",
    }
    assert runner_name(environ) == (
        "https://gitlab.example/team/images/-/jobs/99 (build null.web) on runner shared-runner-3"
    )


def test_elsewhere_the_host_and_process() -> None:
    assert runner_name({}) == f"{socket.gethostname()} pid {os.getpid()}"
