"""The steps validate and build share before Packer runs: targets, template facts, the
secret policy and the variables to pass. A refusal here never starts a packer process."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hybridcore.logs import get_logger, register_redactor
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.input_files import read_input_text
from hybridcore.packer.commands._command import Command, unwritable
from hybridcore.packer.run.options import freeze_vars
from hybridcore.packer.template.facts import (
    Targets,
    TemplateInfo,
    read_template,
    resolve_targets,
    toggle_variables,
)
from hybridcore.packer.template.secret_policy import (
    SecretSet,
    check_command_line_vars,
    check_stored_credentials,
    check_weak_secrets,
    collect_secrets,
)

__all__ = ["Prepared", "check_var_files", "command_targets", "prepare"]

log = get_logger("packer")


@dataclass(frozen=True)
class Prepared:
    """What validate and build know before Packer runs."""

    paths: list[Path]
    templates: dict[Path, TemplateInfo]
    variables: tuple[tuple[str, str], ...]  # --var values and provisioner toggles, sorted


def command_targets(command: Command, targets: Targets) -> list[Path]:
    """The command's targets, resolved and noted on it; a workdir that is a file refused."""
    workdir = command.settings.workdir
    if workdir.exists() and not workdir.is_dir():
        raise unwritable(workdir, NotADirectoryError(20, "not a directory", str(workdir)))
    paths = resolve_targets(targets, command.settings.cwd)
    command.targets = [str(path) for path in paths]
    return paths


def check_var_files(var_files: Iterable[str | os.PathLike[str]], cwd: Path) -> tuple[str, ...]:
    """The --var-file paths, each a readable regular file."""
    files = tuple(str(path) for path in var_files)
    for path in files:
        read_input_text(cwd / path, what="--var-file")
    return files


def _check_var_values(variables: Mapping[str, str], secret_set: SecretSet) -> None:
    for name, value in sorted(variables.items()):
        if secret_set.redactor.contains_secret(value):
            raise HybridcoreError(
                f"refusing --var {name}=...: its value holds a secret value.",
                klass=ExitClass.SECURITY,
                rule="secret_on_command_line",
                remediation="Read the secret in the template with env() and a sensitive "
                "variable instead of passing it on the command line.",
            )


def prepare(
    command: Command,
    targets: Targets,
    variables: Mapping[str, object] | None,
    provisioners: Iterable[str] | None,
    secrets: Iterable[str],
    environ: Mapping[str, str],
    var_files: Iterable[str | os.PathLike[str]] = (),
) -> Prepared:
    """Targets, template facts and the variables to pass, after the secret policy; the
    command's secrets are registered with every log sink."""
    cwd = command.settings.cwd
    paths = command_targets(command, targets)
    frozen = freeze_vars(variables)
    templates = {path: read_template(cwd / path) for path in paths}
    merged = TemplateInfo(
        files=(),
        variables={k: v for t in templates.values() for k, v in t.variables.items()},
    )
    check_command_line_vars((name for name, _ in frozen), merged)
    auto = [f for p in paths if (cwd / p).is_dir() for f in (cwd / p).glob("*.auto.pkrvars.*")]
    given = [cwd / path for path in var_files if (cwd / path).is_file()]
    check_stored_credentials(templates.values(), [*sorted(auto), *given])
    command.declared = frozenset(merged.variables)
    command.secrets = collect_secrets(secrets, templates.values(), environ)
    register_redactor(command.secrets.redactor)
    for name in sorted(set(command.secrets.weak) - set(command.secrets.refused)):
        log.warning(
            "%s looks like a credential, but its value is too short or common to mask "
            "(see weak secrets in docs/usage.md): it is NOT redacted",
            name,
        )
    check_weak_secrets(command.secrets, templates.values())
    _check_var_values(dict(frozen), command.secrets)
    toggles = freeze_vars(toggle_variables(provisioners, templates.values()))
    explicit = {name for name, _ in frozen}
    combined = tuple(sorted(frozen + tuple(p for p in toggles if p[0] not in explicit)))
    return Prepared(paths, templates, combined)
