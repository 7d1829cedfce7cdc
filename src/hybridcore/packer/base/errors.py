"""The one error type of hybridcore.packer, carrying its exit-code class."""

from __future__ import annotations

__all__ = ["HybridcoreError"]


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
