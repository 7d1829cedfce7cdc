"""The one error type of hybridcore.packer, carrying its exit class."""

from __future__ import annotations

from pathlib import Path

from hybridcore.logs import scrub
from hybridcore.packer.base.exit_class import ExitClass

__all__ = ["HybridcoreError"]


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
