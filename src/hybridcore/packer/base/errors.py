"""The one error type of hybridcore.packer, carrying its exit-code class."""

from __future__ import annotations

import errno

__all__ = ["HybridcoreError", "disk_full_error", "is_disk_full"]

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class HybridcoreError(Exception):
    """A failure decided before or around Packer, with the exit code it maps to.

    `rule` names the policy that refused (e.g. ``secret_on_command_line``) and
    `remediation` tells the operator what to do.
    """

    def __init__(self, message: str, *, exit_code: int, rule: str, remediation: str) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.rule = rule
        self.remediation = remediation


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk (or the user's quota) is full."""
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


def disk_full_error(where: object, exc: OSError) -> HybridcoreError:
    """The one error for a full disk: transient, since another runner (or the same one after
    a purge) has room, and records are written atomically, so nothing partial is left."""
    return HybridcoreError(
        f"no space left on the device holding {where} ({exc.strerror}).",
        exit_code=2,
        rule="disk_full",
        remediation="Free space on the runner (`hybridcore-packer retention purge` removes "
        "expired raw logs) or run on another runner; records and results are written "
        "atomically, so nothing partial was kept.",
    )
