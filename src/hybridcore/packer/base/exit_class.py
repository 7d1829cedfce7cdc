"""The exit classes: the one table from exit code to class, retry policy and severity.

| code | class     | retryable | meaning                                               |
|------|-----------|-----------|-------------------------------------------------------|
| 0    | ok        | no        | nothing to do                                         |
| 1    | config    | no        | validation, usage: the operator fixes the input       |
| 1    | drift     | no        | drift/verify: inputs differ from what was built       |
| 2    | transient | yes       | network, throttling, capacity, timeout, interrupted   |
| 3    | security  | no        | security, retention, integrity: a person must act     |
| 3    | internal  | no        | a bug in hybridcore-packer: a person must look        |

Several classes share a code; `ExitClass.of(code)` gives the first of the
table (config for 1, security for 3), the class a bare code has always meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = ["ExitClass"]


@dataclass(frozen=True)
class ExitClass:
    """One row of the exit-code table. Compare with ``is``: each row exists once."""

    code: int
    name: str
    retryable: bool
    # When runs are combined the most severe decides: a person (3) before an input fix (1)
    # before a retry (2) before success (0).
    severity: int

    OK: ClassVar[ExitClass]
    CONFIG: ClassVar[ExitClass]
    DRIFT: ClassVar[ExitClass]
    TRANSIENT: ClassVar[ExitClass]
    SECURITY: ClassVar[ExitClass]
    INTERNAL: ClassVar[ExitClass]
    ALL: ClassVar[tuple[ExitClass, ...]]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def of(cls, code: int) -> ExitClass:
        """The class a bare exit code stands for (config for 1, security for 3)."""
        for klass in cls.ALL:
            if klass.code == code:
                return klass
        raise ValueError(f"exit code {code} is not one of 0, 1, 2, 3")

    @classmethod
    def named(cls, name: str) -> ExitClass:
        """The class called `name` (e.g. ``"transient"``)."""
        for klass in cls.ALL:
            if klass.name == name:
                return klass
        raise ValueError(f"no exit class is called {name!r}")


ExitClass.OK = ExitClass(0, "ok", retryable=False, severity=0)
ExitClass.CONFIG = ExitClass(1, "config", retryable=False, severity=2)
ExitClass.DRIFT = ExitClass(1, "drift", retryable=False, severity=2)
ExitClass.TRANSIENT = ExitClass(2, "transient", retryable=True, severity=1)
ExitClass.SECURITY = ExitClass(3, "security", retryable=False, severity=3)
ExitClass.INTERNAL = ExitClass(3, "internal", retryable=False, severity=3)
ExitClass.ALL = (
    ExitClass.OK,
    ExitClass.CONFIG,
    ExitClass.DRIFT,
    ExitClass.TRANSIENT,
    ExitClass.SECURITY,
    ExitClass.INTERNAL,
)
