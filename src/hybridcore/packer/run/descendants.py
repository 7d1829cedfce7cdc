"""Processes started under a build never outlive it.

A provisioner may detach a process (`setsid`, a double fork, `nohup ... &`): it leaves
Packer's process group, so stopping the group misses it. Each packer process gets a
unique token in its environment, which every descendant inherits; when the build ends,
every process still carrying the token is killed. The CLI also makes itself a child
subreaper (`PR_SET_CHILD_SUBREAPER`), so detached descendants are re-parented to it rather
than to init, and it reaps the ones it kills; a library caller's process is left as it is.
"""

from __future__ import annotations

import ctypes
import functools
import os
import secrets
import time

from hybridcore.packer.run.watchdog import kill_carrying

__all__ = ["RUN_TOKEN_ENV", "become_subreaper", "new_run_token", "stop_descendants"]

RUN_TOKEN_ENV = "HYBRIDCORE_RUN_TOKEN"
_PR_SET_CHILD_SUBREAPER = 36
_REAP_WAIT_S = 2.0


@functools.cache
def become_subreaper() -> bool:
    """Make this process the subreaper of its descendants (Linux); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def new_run_token() -> str:
    return secrets.token_hex(12)


def _reap(pids: list[int]) -> None:
    """Collect the exit status of those killed processes that are (now) our children."""
    pending = set(pids)
    deadline = time.monotonic() + _REAP_WAIT_S
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not our child: init or its own parent reaps it
                pending.discard(pid)
                continue
            if done:
                pending.discard(pid)
        if pending:
            time.sleep(0.02)


def stop_descendants(token: str, *, spare: int) -> list[int]:
    """Kill every process but `spare` (packer itself, reaped by its owner) still carrying
    `token`, and reap those re-parented to this process; the pids killed."""
    return kill_carrying(f"{RUN_TOKEN_ENV}={token}".encode(), spare=spare, settle=_reap)
