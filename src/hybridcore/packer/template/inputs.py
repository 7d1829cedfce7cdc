"""Every input that can change a build's image, found from its template.

Per build: the template files, the var files given (and auto var files), the
files its source and provisioners name (`script`, `scripts`, file `source`s,
ansible `playbook_file` and `role_paths`, `http_directory`, `cd_files`,
`floppy_files`, ...), a local ISO, and extra paths a project declares in a
`hybridcore.inputs` file beside the template (one glob per line, relative to
it). Values are resolved through variables and `path.root` (hcl_eval); a value
that needs more is left out and logged. Variable values and the Packer version
are inputs too, except that a secret's value never is: only whether it is set.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hybridcore.logs import get_logger
from hybridcore.packer.base.input_files import read_input_text
from hybridcore.packer.store.inputs_manifest import BuildInputs, InputFile
from hybridcore.packer.template.facts import TemplateInfo, template_files
from hybridcore.packer.template.hcl_eval import (
    Scope,
    build_blocks,
    labelled,
    read_doc,
    scope_for,
    unquote,
)

__all__ = ["EXTRA_INPUTS_FILE", "discover_inputs"]

EXTRA_INPUTS_FILE = "hybridcore.inputs"
SECRET_SET = "<secret: set>"
SECRET_UNSET = "<secret: unset>"
UNRESOLVED = "<unresolved>"

# Keys that name files or directories, and the kind of input they are.
_SOURCE_KEYS = {
    "http_directory": "config",
    "cd_files": "config",
    "floppy_files": "config",
    "floppy_dirs": "config",
    "user_data_file": "config",
    "meta_data_file": "config",
}
_PROVISIONER_KEYS = {
    "script": "script",
    "scripts": "script",
    "source": "script",
    "sources": "script",
    "playbook_file": "script",
    "role_paths": "script",
    "galaxy_file": "script",
    "inventory_file": "config",
    "manifest_file": "script",
    "module_paths": "script",
    "hiera_config_path": "config",
    "cookbook_paths": "script",
    "roles_path": "script",
    "data_bags_path": "config",
    "environments_path": "config",
}

log = get_logger("inputs")


def _walk(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.is_file())
    elif path.is_file():
        yield path


def _paths(value: str | list[str] | None, cwd: Path) -> Iterator[Path]:
    for item in [value] if isinstance(value, str) else value or []:
        candidate = Path(item.removeprefix("file://"))
        if "://" in item and not item.startswith("file://"):
            continue  # a URL, not a file here
        yield candidate if candidate.is_absolute() else cwd / candidate


def _applies(block: dict[str, Any], build: str) -> bool:
    """Does a provisioner's `only` / `except` let it run for `build`?"""
    short = build.split(".", 1)[1] if build.count(".") >= 2 else build
    names = {build, short}
    only = [unquote(n) for n in block.get("only", [])]
    excluded = [unquote(n) for n in block.get("except", [])]
    return (not only or bool(names & set(only))) and not (names & set(excluded))


def _named_files(
    body: dict[str, Any], keys: Mapping[str, str], scope: Scope, cwd: Path, where: str
) -> Iterator[InputFile]:
    for key, kind in keys.items():
        if key not in body:
            continue
        value = scope.resolve(body[key])
        if value is None:
            log.info("%s: %s is not a plain value; not tracked as an input", where, key)
            continue
        for path in _paths(value, cwd):
            yield from (InputFile(found, kind) for found in _walk(path))


def _steps(block: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Provisioners and post-processors (also inside `post-processors` chains)."""
    yield from labelled(block.get("provisioner", []))
    yield from labelled(block.get("post-processor", []))
    for chain in block.get("post-processors", []):
        if isinstance(chain, dict):
            yield from labelled(chain.get("post-processor", []))


def _extra_inputs(template_dir: Path) -> Iterator[InputFile]:
    declared = template_dir / EXTRA_INPUTS_FILE
    if not declared.is_file():
        return
    yield InputFile(declared, "config")
    for line in read_input_text(declared, what=f"inputs list ({EXTRA_INPUTS_FILE})").splitlines():
        pattern = line.split("#", 1)[0].strip()
        # `/` keeps an absolute pattern as it is; Path.glob refuses one, glob.glob does not
        found = glob.glob(str(template_dir / pattern), recursive=True) if pattern else []  # noqa: PTH207
        for match in sorted(found):
            yield from (InputFile(path, "config") for path in _walk(Path(match)))


def _variables(
    scope: Scope, info: TemplateInfo, environ: Mapping[str, str], secret_names: set[str]
) -> dict[str, str]:
    """Each variable's value as JSON text; a secret's as whether it is set, only."""
    values = {}
    for name, variable in sorted(info.variables.items()):
        reads = {f"PKR_VAR_{name}", *variable.env_reads}
        if variable.sensitive or reads & secret_names:
            is_set = any(environ.get(env) for env in reads) or (
                scope.lookup("var", name, 0) not in (None, "")
            )
            values[name] = SECRET_SET if is_set else SECRET_UNSET
            continue
        value = scope.lookup("var", name, 0)
        if value is None and variable.env_reads:
            value = environ.get(variable.env_reads[0], "")
        values[name] = UNRESOLVED if value is None else json.dumps(value)
    return values


def discover_inputs(
    target: Path,
    info: TemplateInfo,
    *,
    cwd: Path,
    variables: Mapping[str, str],
    var_files: Sequence[Path],
    environ: Mapping[str, str],
    secret_names: set[str],
) -> dict[str, BuildInputs]:
    """The inputs of every build of the template `target` (absolute), by build name."""
    files = template_files(target)
    doc = read_doc(files)
    scope = scope_for(target, doc, variables, var_files, environ, cwd)
    template_dir = target if target.is_dir() else target.parent
    common = [InputFile(path.resolve(), "template") for path in files]
    auto = sorted(template_dir.glob("*.auto.pkrvars.*")) if target.is_dir() else []
    common += [InputFile(path.resolve(), "var-file") for path in [*auto, *var_files]]
    common += list(_extra_inputs(template_dir))
    values = _variables(scope, info, environ, secret_names)
    found: dict[str, BuildInputs] = {}
    for build, body, block in build_blocks(doc):
        own = list(_named_files(body, _SOURCE_KEYS, scope, cwd, build))
        iso = scope.resolve(body.get("iso_url"))
        if isinstance(iso, str):
            own += [InputFile(p, "iso") for p in _paths(iso, cwd) if p.is_file()]
        for kind, step in _steps(block):
            if isinstance(step, dict) and _applies(step, build):
                own += _named_files(step, _PROVISIONER_KEYS, scope, cwd, f"{build} {kind}")
        unique = {(f.path.resolve(), f.kind): None for f in [*common, *own]}
        found[build] = BuildInputs(
            build=build,
            files=tuple(InputFile(path, kind) for path, kind in unique),
            variables=values,
        )
    return found
