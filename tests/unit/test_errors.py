"""The one error type carries what the result needs."""

from __future__ import annotations

import pytest

from hybridcore.packer import ExitClass, HybridcoreError


def test_error_carries_exit_code_rule_and_remediation() -> None:
    error = HybridcoreError(
        "bad input", klass=ExitClass.SECURITY, rule="some_rule", remediation="fix it"
    )
    assert (error.message, error.exit_code, error.rule, error.remediation) == (
        "bad input",
        3,
        "some_rule",
        "fix it",
    )
    assert str(error) == "bad input"
    with pytest.raises(HybridcoreError, match="bad input"):
        raise error
