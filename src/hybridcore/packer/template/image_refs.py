"""The plain values a build is made from, as candidates for a parent image ID.

Per build: every resolved value of its source block (``source_ami``,
``image_name``, a vSphere ``template``, ...) and every non-secret variable
value. The registry turns the candidates that are image IDs it knows into the
build's parents; nobody annotates anything. Values that hold or come from a
secret are never candidates (they would travel to the registry's server).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hybridcore.packer.template.facts import TemplateInfo, template_files
from hybridcore.packer.template.hcl_eval import build_blocks, read_doc, scope_for

__all__ = ["image_candidates"]

_MAX_LENGTH = 2048
_VAR_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _plain(value: str) -> bool:
    return 3 <= len(value) <= _MAX_LENGTH and "\n" not in value


def _uses_secret(raw: Any, secret_variables: set[str]) -> bool:
    return bool(secret_variables & set(_VAR_REF.findall(str(raw))))


def image_candidates(
    target: Path,
    info: TemplateInfo,
    *,
    cwd: Path,
    variables: Mapping[str, str],
    var_files: Sequence[Path],
    environ: Mapping[str, str],
    secret_names: set[str],
) -> dict[str, frozenset[str]]:
    """Candidate parent image IDs of every build of the template `target` (absolute)."""
    doc = read_doc(template_files(target))
    scope = scope_for(target, doc, variables, var_files, environ, cwd)
    secret_variables = {
        name
        for name, variable in info.variables.items()
        if variable.sensitive or {f"PKR_VAR_{name}", *variable.env_reads} & secret_names
    }
    common = {
        value
        for name in info.variables
        if name not in secret_variables
        for value in _strings(scope.lookup("var", name, 0))
    }
    found: dict[str, frozenset[str]] = {}
    for build, body, _ in build_blocks(doc):
        own = {
            value
            for key, raw in body.items()
            if not key.startswith("__") and not _uses_secret(raw, secret_variables)
            for value in _strings(scope.resolve(raw))
        }
        found[build] = frozenset(v for v in common | own if _plain(v))
    return found
