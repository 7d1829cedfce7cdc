"""What the tool needs to know about a template before Packer runs.

Read with python-hcl2: declared variables (sensitive or not, which environment
variables their defaults read with ``env()``), provisioner toggles
(``enable_<name>`` booleans) and the outputs of ``manifest`` post-processors.
A template python-hcl2 cannot parse is left for Packer to report; the tool
then falls back to a plain scan for ``env("NAME")`` and treats every such
variable as a secret, so redaction never depends on a successful parse.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.input_files import read_input_text
from hybridcore.packer.template.hcl_eval import labelled, unquote
from hybridcore.packer.template.hcl_parse import HclSyntaxError, parse_hcl

__all__ = [
    "Targets",
    "TemplateInfo",
    "Variable",
    "read_template",
    "resolve_targets",
    "selected_builds",
    "template_files",
    "toggle_variables",
]

_ENV_CALL = re.compile(r"""\benv\(\s*"([^"]+)"\s*\)""")
TOGGLE_PREFIX = "enable_"


@dataclass(frozen=True)
class Variable:
    name: str
    sensitive: bool
    env_reads: tuple[str, ...] = ()
    is_bool: bool = False
    literal_default: bool = False  # a non-empty plain string default (no expression)


@dataclass(frozen=True)
class TemplateInfo:
    """Facts read from the template files of one target."""

    files: tuple[Path, ...]
    variables: dict[str, Variable] = field(default_factory=dict)
    manifest_outputs: tuple[str, ...] = ()
    builds: tuple[str, ...] = ()
    parse_error: str | None = None
    fallback_secret_env: tuple[str, ...] = ()

    @property
    def sensitive_variables(self) -> set[str]:
        return {v.name for v in self.variables.values() if v.sensitive}

    @property
    def secret_env_names(self) -> set[str]:
        """Environment variables whose values are secrets for this template."""
        names = set(self.fallback_secret_env)
        for variable in self.variables.values():
            if variable.sensitive:
                names.update(variable.env_reads)
                names.add(f"PKR_VAR_{variable.name}")
        return names

    @property
    def toggles(self) -> set[str]:
        """Provisioner toggle names: `enable_<name>` boolean variables, without the prefix."""
        return {
            v.name.removeprefix(TOGGLE_PREFIX)
            for v in self.variables.values()
            if v.name.startswith(TOGGLE_PREFIX) and v.is_bool
        }


Targets = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def resolve_targets(targets: Targets, cwd: Path) -> list[Path]:
    """The template paths given (a file or a directory each); each must exist."""
    items = [targets] if isinstance(targets, str | os.PathLike) else list(targets)
    if not items:
        raise HybridcoreError(
            "no template path given.",
            klass=ExitClass.CONFIG,
            rule="target_missing",
            remediation="Name a .pkr.hcl file or a directory.",
        )
    paths = [Path(item) for item in items]
    for path in paths:
        if not (cwd / path).exists():
            raise HybridcoreError(
                f"template path '{path}' does not exist.",
                klass=ExitClass.CONFIG,
                rule="target_missing",
                remediation="Pass an existing .pkr.hcl file or a directory holding .pkr.hcl "
                "files (relative paths are taken from the current directory).",
            )
    return paths


def template_files(target: Path) -> tuple[Path, ...]:
    """The HCL2 template files Packer reads for `target` (a file or a directory)."""
    if target.is_dir():
        return tuple(sorted(target.glob("*.pkr.hcl")))
    return (target,) if target.is_file() else ()


def _blocks(doc: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    """Labelled blocks of `kind` as (label, body) pairs."""
    return [(label, body) for label, body in labelled(doc.get(kind, [])) if isinstance(body, dict)]


def _variables(doc: dict[str, Any]) -> dict[str, Variable]:
    variables = {}
    for name, body in _blocks(doc, "variable"):
        default = str(body.get("default", ""))
        raw = body.get("default")
        variables[name] = Variable(
            name=name,
            sensitive=body.get("sensitive") is True,
            env_reads=tuple(sorted(set(_ENV_CALL.findall(default.replace('\\"', '"'))))),
            is_bool=unquote(body.get("type", "")) == "bool",
            literal_default=isinstance(raw, str) and "${" not in raw and bool(unquote(raw)),
        )
    return variables


def _manifest_outputs(doc: dict[str, Any]) -> list[str]:
    outputs = []
    for build in doc.get("build", []):
        groups = [build.get("post-processor", [])]
        groups += [chain.get("post-processor", []) for chain in build.get("post-processors", [])]
        for group in groups:
            for kind, body in (item for entry in group for item in entry.items()):
                if unquote(kind) == "manifest" and isinstance(body, dict):
                    outputs.append(unquote(body.get("output", "packer-manifest.json")))
    return outputs


def _build_names(doc: dict[str, Any]) -> list[str]:
    """Packer's build names: `[<build name>.]<type>.<source name>` for every source a
    `build` block uses (a nested `source` block with `name` renames it)."""
    names = []
    for build in doc.get("build", []):
        prefix = unquote(build["name"]) + "." if "name" in build else ""
        for ref in build.get("sources", []):
            names.append(prefix + unquote(ref).removeprefix("source."))
        for entry in build.get("source", []):
            for ref, body in entry.items():
                kind, _, name = unquote(ref).removeprefix("source.").partition(".")
                if isinstance(body, dict) and "name" in body:
                    name = unquote(body["name"])
                names.append(f"{prefix}{kind}.{name}")
    return names


def read_template(target: Path) -> TemplateInfo:
    """Read the facts of `target`; never raises on a template Packer would reject."""
    files = template_files(target)
    variables: dict[str, Variable] = {}
    outputs: list[str] = []
    builds: list[str] = []
    errors: list[str] = []
    fallback: set[str] = set()
    for path in files:
        text = read_input_text(path, what="template file")
        try:
            doc = parse_hcl(text)
        except HclSyntaxError as exc:
            errors.append(exc.at(path))
            fallback.update(_ENV_CALL.findall(text))
            continue
        variables.update(_variables(doc))
        outputs += _manifest_outputs(doc)
        builds += _build_names(doc)
    return TemplateInfo(
        files=files,
        variables=variables,
        manifest_outputs=tuple(outputs),
        builds=tuple(dict.fromkeys(builds)),
        parse_error="; ".join(errors) or None,
        fallback_secret_env=tuple(sorted(fallback)),
    )


def toggle_variables(
    provisioners: Iterable[str] | None, templates: Iterable[TemplateInfo]
) -> dict[str, bool]:
    """`enable_<name>` = true for each named toggle, false for every other declared one;
    nothing when `provisioners` is None (the template's defaults apply)."""
    if provisioners is None:
        return {}
    declared = set().union(*(template.toggles for template in templates))
    wanted = set(provisioners)
    unknown = sorted(wanted - declared)
    if unknown:
        raise HybridcoreError(
            f"--provisioner {', '.join(unknown)}: the template declares no boolean variable "
            f"{', '.join(TOGGLE_PREFIX + name for name in unknown)}.",
            klass=ExitClass.CONFIG,
            rule="unknown_provisioner_toggle",
            remediation='Declare `variable "enable_<name>" { type = bool }` in the template '
            "and use it to switch the provisioner; declared toggles: "
            f"{', '.join(sorted(declared)) or 'none'}.",
        )
    return {TOGGLE_PREFIX + name: name in wanted for name in sorted(declared)}


def selected_builds(
    template: TemplateInfo, only: Sequence[str], except_: Sequence[str]
) -> list[str]:
    """The template's build names that `-only` / `-except` (globs) select."""
    names = list(template.builds)
    if only:
        names = [name for name in names if any(fnmatch(name, pattern) for pattern in only)]
    if except_:
        names = [name for name in names if not any(fnmatch(name, p) for p in except_)]
    return names
