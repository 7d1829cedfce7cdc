"""The one error type of hybridcore.packer, carrying its exit class."""

from __future__ import annotations

import errno
from pathlib import Path

from hybridcore.logs import scrub
from hybridcore.packer.base.exit_class import ExitClass

__all__ = ["HybridcoreError", "disk_full_error", "is_disk_full"]

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class HybridcoreError(Exception):
    """A failure decided before or around Packer, with the exit class it maps to.

    `rule` names the policy that refused (e.g. ``secret_on_command_line``) and
    `remediation` tells the operator what to do.
    """

    def __init__(self, message: str, *, klass: ExitClass, rule: str, remediation: str) -> None:
        super().__init__(message)
        self.message = message
        self.klass = klass
        self.rule = rule
        self.remediation = remediation

    @property
    def exit_code(self) -> int:
        return self.klass.code

    @classmethod
    def internal(cls, exc: BaseException, traceback_file: Path | None) -> HybridcoreError:
        """A bug of ours (`exc` was not expected), as one paragraph naming the traceback."""
        where = f"the traceback is in {traceback_file}" if traceback_file else "no traceback kept"
        return cls(
            scrub(f"internal error: {type(exc).__name__}: {exc}; {where}; please report it."),
            klass=ExitClass.INTERNAL,
            rule="internal_error",
            remediation="This is a bug in hybridcore-packer, not in your input: report it with "
            "the log file; running it again will most likely fail the same way.",
        )


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk (or the user's quota) is full."""
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


def disk_full_error(where: object, exc: OSError) -> HybridcoreError:
    """The one error for a full disk: transient, since another runner (or the same one after
    a purge) has room, and records are written atomically, so nothing partial is left."""
    return HybridcoreError(
        f"no space left on the device holding {where} ({exc.strerror}).",
        klass=ExitClass.TRANSIENT,
        rule="disk_full",
        remediation="Free space on the runner (`hybridcore-packer retention purge` removes "
        "expired raw logs) or run on another runner; records and results are written "
        "atomically, so nothing partial was kept.",
    )
