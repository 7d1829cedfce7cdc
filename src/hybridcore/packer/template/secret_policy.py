"""Secret policy: secrets reach Packer only as environment variables.

A ``--var`` for a variable the template declares ``sensitive``, or whose name
looks like a credential, is refused before Packer starts (exit code 3). The
values of ``--secret-env`` variables and of every environment variable a
sensitive template variable reads with ``env()`` are registered for redaction;
so are the values of inherited variables whose names are credentials
(``GITHUB_TOKEN``, ``AWS_SECRET_ACCESS_KEY``, ``*_PASSWORD``, ...), listed by
name in the result. A declared secret too weak to mask (see redaction.weak) is
refused (exit 3); a weak inherited one is not registered, and named in a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.input_files import read_input_text
from hybridcore.packer.template.facts import TemplateInfo
from hybridcore.packer.template.hcl_parse import parse_hcl
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.weak import weakness

__all__ = [
    "CREDENTIAL_NAME",
    "WELL_KNOWN_CREDENTIALS",
    "SecretSet",
    "check_command_line_vars",
    "check_stored_credentials",
    "check_weak_secrets",
    "collect_secrets",
    "is_credential_variable",
]

CREDENTIAL_NAME = re.compile(
    r"(passw(or)?d|passphrase|secret|token|api_?key|access_?key|private_?key|"
    r"credential|client_secret|auth_?key|session_key|sas_key|connection_string)",
    re.IGNORECASE,
)

# Names that hold a path, a name or a setting about a secret, not the secret itself.
_NOT_A_SECRET = re.compile(r"_(file|path|dir|name|ttl|type|length|url|id)$", re.IGNORECASE)

# Credentials of clouds and CI systems, secret whatever the name rule says.
WELL_KNOWN_CREDENTIALS = frozenset(
    {
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "ARM_CLIENT_SECRET",
        "ARM_CLIENT_CERTIFICATE_PASSWORD",
        "AZURE_CLIENT_SECRET",
        "GOOGLE_CREDENTIALS",
        "VSPHERE_PASSWORD",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "CI_JOB_TOKEN",
        "CI_REGISTRY_PASSWORD",
        "HCP_CLIENT_SECRET",
        "VAULT_TOKEN",
        "DIGITALOCEAN_TOKEN",
        "HCLOUD_TOKEN",
        "PROXMOX_PASSWORD",
        "OS_PASSWORD",
    }
)

_HINT = (
    "Pass secrets as environment variables only: declare the variable with "
    '`default = env("NAME")` and `sensitive = true` in the template, export NAME, and run '
    "with `--secret-env NAME`. Values on a command line are visible to every user of the "
    "machine (ps, /proc) and end up in shell history and CI logs."
)


@dataclass(frozen=True)
class SecretSet:
    """Secret environment variables (name -> value) and the redactor for their values.

    `env`: declared secrets (--secret-env, read by sensitive template variables),
    always passed to Packer; `inherited`: credential variables of the caller's
    environment, redacted, passed only as the rest of the environment is; `weak`:
    names (never values) too weak to mask, and `refused` those of them declared
    (`check_weak_secrets` stops the command; `redactor` does not mask them).
    """

    env: dict[str, str]
    redactor: Redactor
    inherited: dict[str, str] = field(default_factory=dict)
    weak: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return sorted(self.env)

    @property
    def inherited_names(self) -> list[str]:
        return sorted(self.inherited)

    @property
    def masked_names(self) -> set[str]:
        """Every variable whose value is a secret: an input only as set or unset."""
        return set(self.env) | set(self.inherited)


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


def is_credential_variable(name: str, sensitive: Collection[str] = ()) -> bool:
    """Whether an environment variable named `name` holds a credential."""
    if name in WELL_KNOWN_CREDENTIALS:
        return True
    if name.startswith("PKR_VAR_"):
        return _looks_secret(name.removeprefix("PKR_VAR_"), sensitive)
    return _looks_secret(name, set())


def _template_names(templates: Iterable[TemplateInfo]) -> set[str]:
    """Build names (`null.bench`: builder type and source name): on every line."""
    return {build for template in templates for build in template.builds}


def collect_secrets(
    explicit: Iterable[str],
    templates: Iterable[TemplateInfo],
    environ: Mapping[str, str],
) -> SecretSet:
    """Gather secret values from the caller's environment.

    An explicit ``--secret-env`` name must be set; names a template reads are
    secret when set and silently absent otherwise (Packer then uses the default).
    Inherited credential variables (`is_credential_variable`) are secrets too.
    """
    templates = list(templates)
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
    sensitive = {name for template in templates for name in template.sensitive_variables}
    inherited = {
        name: value
        for name, value in environ.items()
        if value and name not in values and is_credential_variable(name, sensitive)
    }
    identifiers = _template_names(templates)
    refused = tuple(sorted(n for n, v in values.items() if weakness(v, identifiers)))
    skipped = tuple(sorted(n for n, v in inherited.items() if weakness(v, identifiers)))
    for name in skipped:
        del inherited[name]
    # A refused value stops the command before Packer starts, so it reaches no output;
    # masking it would only garble the refusal itself (`sensitive = true` in its hint).
    masked = [value for name, value in values.items() if name not in refused]
    return SecretSet(
        env=values,
        redactor=Redactor([*masked, *inherited.values()]),
        inherited=inherited,
        weak=tuple(sorted(refused + skipped)),
        refused=refused,
    )


def check_weak_secrets(secret_set: SecretSet, templates: Iterable[TemplateInfo]) -> None:
    """Refuse (exit 3) declared secrets too weak to mask; never shows a value."""
    if not secret_set.refused:
        return
    identifiers = _template_names(templates)
    reasons = "; ".join(
        f"{name} is {weakness(secret_set.env[name], identifiers)}" for name in secret_set.refused
    )
    raise HybridcoreError(
        f"refusing secret value(s) too weak to mask: {reasons}. Masking such a value would "
        "rewrite Packer's own output (timestamps, build names, `null`), and it is guessable.",
        klass=ExitClass.SECURITY,
        rule="weak_secret",
        remediation="Use a real credential (at least 4 characters, not a word or name Packer "
        "prints) and rotate the weak one; if the variable is not a secret, drop it from "
        "--secret-env or the template's `sensitive = true`.",
    )


def _looks_secret(name: str, sensitive: Collection[str]) -> bool:
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
