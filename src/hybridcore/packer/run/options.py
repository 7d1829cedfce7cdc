"""Typed, frozen options for each Packer command.

Values are validated on construction, so argv mapping never sees an option it
cannot map. Collections are tuples (or a sorted tuple of pairs for variables)
so two equal option objects always give byte-identical argv.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass

__all__ = [
    "ON_ERROR_CHOICES",
    "BuildOptions",
    "FmtOptions",
    "ValidateOptions",
    "check_build_names",
    "check_variable_names",
    "freeze_vars",
]

# `ask` is never offered: it waits for a keypress that an unattended run never gives.
ON_ERROR_CHOICES = ("cleanup", "abort", "run-cleanup-provisioner")

# Packer splits -only/-except at commas; any other printable character may be in a name
_BUILD_NAME = re.compile(r"[^,\x00-\x1f\x7f]+")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def _config_error(message: str, remediation: str, rule: str = "invalid_option") -> HybridcoreError:
    return HybridcoreError(message, klass=ExitClass.CONFIG, rule=rule, remediation=remediation)


def check_build_names(names: Iterable[str], flag: str) -> tuple[str, ...]:
    """Reject build names Packer's -only/-except cannot take (commas, control characters)."""
    cleaned = tuple(sorted(set(names)))
    for name in cleaned:
        if not _BUILD_NAME.fullmatch(name):
            raise _config_error(
                f"{flag} {name!r} cannot be passed to Packer: it splits {flag} at commas and "
                "takes no control characters.",
                f"Give each build its own {flag} (e.g. {flag} null.vsphere {flag} null.azure); "
                f"for a build whose name holds a comma, put '?' in its place ({flag} "
                "'null.semi?comma'): Packer matches it as a wildcard.",
            )
    return cleaned


def check_variable_names(names: Iterable[str]) -> None:
    for name in names:
        if not _VARIABLE_NAME.fullmatch(name):
            raise _config_error(
                f"--var {name!r}: not a valid variable name.",
                "Pass variables as --var NAME=VALUE where NAME is a variable declared in the "
                "template.",
            )


def freeze_vars(variables: Mapping[str, object] | None) -> tuple[tuple[str, str], ...]:
    """Variables as sorted (name, value) pairs; booleans spelled as HCL spells them."""
    if not variables:
        return ()
    check_variable_names(variables)
    pairs = []
    for name, value in variables.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        pairs.append((name, text))
    return tuple(sorted(pairs))


@dataclass(frozen=True)
class FmtOptions:
    check: bool = False
    recursive: bool = False
    diff: bool = False
    write: bool = True


@dataclass(frozen=True)
class ValidateOptions:
    vars: tuple[tuple[str, str], ...] = ()
    var_files: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()
    syntax_only: bool = False
    evaluate_datasources: bool = False

    def __post_init__(self) -> None:
        check_build_names(self.only, "--only")
        check_build_names(self.except_, "--except")


@dataclass(frozen=True)
class BuildOptions:
    vars: tuple[tuple[str, str], ...] = ()
    var_files: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()
    force: bool = False
    parallel_builds: int | None = None
    on_error: str = "cleanup"
    machine_readable: bool = True

    def __post_init__(self) -> None:
        check_build_names(self.only, "--only")
        check_build_names(self.except_, "--except")
        if self.on_error not in ON_ERROR_CHOICES:
            raise _config_error(
                f"--on-error {self.on_error!r} is not supported.",
                f"Choose one of {', '.join(ON_ERROR_CHOICES)} (`ask` would wait for a keypress).",
            )
        if self.parallel_builds is not None and self.parallel_builds < 0:
            raise _config_error(
                f"--parallel-builds {self.parallel_builds} is negative.",
                "Use 0 for no limit, 1 to build one at a time, or N for at most N at once.",
            )
