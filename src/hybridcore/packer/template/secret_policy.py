"""Secret policy: secrets reach Packer only as environment variables.

A ``--var`` for a variable the template declares ``sensitive``, or whose name
looks like a credential, is refused before Packer starts (exit code 3). The
values of ``--secret-env`` variables and of every environment variable a
sensitive template variable reads with ``env()`` are registered for redaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.input_files import read_input_text
from hybridcore.packer.template.facts import TemplateInfo
from hybridcore.packer.template.hcl_parse import parse_hcl
from hybridcore.redaction.engine import Redactor

__all__ = [
    "CREDENTIAL_NAME",
    "SecretSet",
    "check_command_line_vars",
    "check_stored_credentials",
    "collect_secrets",
]

CREDENTIAL_NAME = re.compile(
    r"(passw(or)?d|passphrase|secret|token|api_?key|access_?key|private_?key|"
    r"credential|client_secret|auth_?key|session_key|sas_key|connection_string)",
    re.IGNORECASE,
)

# Names that hold a path, a name or a setting about a secret, not the secret itself.
_NOT_A_SECRET = re.compile(r"_(file|path|dir|name|ttl|type|length|url|id)$", re.IGNORECASE)

_HINT = (
    "Pass secrets as environment variables only: declare the variable with "
    '`default = env("NAME")` and `sensitive = true` in the template, export NAME, and run '
    "with `--secret-env NAME`. Values on a command line are visible to every user of the "
    "machine (ps, /proc) and end up in shell history and CI logs."
)


@dataclass(frozen=True)
class SecretSet:
    """Secret environment variables (name -> value) and the redactor for their values."""

    env: dict[str, str]
    redactor: Redactor

    @property
    def names(self) -> list[str]:
        return sorted(self.env)


def check_command_line_vars(names: Iterable[str], template: TemplateInfo | None) -> None:
    """Refuse variables on the command line that are, or look like, secrets."""
    sensitive = template.sensitive_variables if template else set()
    for name in sorted(names):
        reason = None
        if name in sensitive:
            reason = "is declared `sensitive = true` in the template"
        elif _looks_secret(name, set()):
            reason = "has a name that looks like a credential"
        if reason:
            raise HybridcoreError(
                f"refusing --var {name}=...: the variable {reason}, and secrets must never "
                "be put on a command line.",
                klass=ExitClass.SECURITY,
                rule="secret_on_command_line",
                remediation=_HINT,
            )


def collect_secrets(
    explicit: Iterable[str],
    templates: Iterable[TemplateInfo],
    environ: Mapping[str, str],
) -> SecretSet:
    """Gather secret values from the caller's environment.

    An explicit ``--secret-env`` name must be set; names a template reads are
    secret when set and silently absent otherwise (Packer then uses the default).
    """
    values: dict[str, str] = {}
    for name in explicit:
        if name not in environ:
            raise HybridcoreError(
                f"--secret-env {name}: the variable is not set in the environment.",
                klass=ExitClass.CONFIG,
                rule="secret_env_missing",
                remediation=f"Export {name} before running, or drop --secret-env {name}.",
            )
        values[name] = environ[name]
    for template in templates:
        for name in template.secret_env_names:
            if environ.get(name):
                values[name] = environ[name]
    return SecretSet(env=values, redactor=Redactor(values.values()))


def _looks_secret(name: str, sensitive: set[str]) -> bool:
    return name in sensitive or (
        bool(CREDENTIAL_NAME.search(name)) and not _NOT_A_SECRET.search(name)
    )


def _var_file_values(path: Path) -> dict[str, Any]:
    text = read_input_text(path, what="var file")
    try:
        data = json.loads(text) if path.name.endswith(".json") else parse_hcl(text)
    except Exception:  # not parseable here: Packer reports it
        return {}
    return data if isinstance(data, dict) else {}


def check_stored_credentials(templates: Iterable[TemplateInfo], var_files: Iterable[Path]) -> None:
    """Refuse (exit 3) credentials written down in plain text: as the default of a
    sensitive variable, or as a value in a var file (worse if others may read it)."""
    sensitive: set[str] = set()
    for template in templates:
        sensitive |= template.sensitive_variables
        for variable in template.variables.values():
            if variable.sensitive and variable.literal_default:
                raise HybridcoreError(
                    f"the sensitive variable {variable.name} has a plain-text default in the "
                    "template: a credential must not be stored in a template.",
                    klass=ExitClass.SECURITY,
                    rule="plaintext_credential",
                    remediation=_HINT,
                )
    for path in var_files:
        for name, value in sorted(_var_file_values(path).items()):
            if not (isinstance(value, str) and value.strip('"') and _looks_secret(name, sensitive)):
                continue
            if path.stat().st_mode & 0o077:
                raise HybridcoreError(
                    f"var file '{path}' holds a value for {name} and other users may read it "
                    f"(mode {oct(path.stat().st_mode & 0o777)}).",
                    klass=ExitClass.SECURITY,
                    rule="var_file_readable",
                    remediation=f"Remove the credential from {path} (rotate it: others could "
                    "read it) and pass it as an environment variable. " + _HINT,
                )
            raise HybridcoreError(
                f"var file '{path}' holds a plain-text value for {name}, which is a secret.",
                klass=ExitClass.SECURITY,
                rule="plaintext_credential",
                remediation=f"Remove it from {path}. " + _HINT,
            )
