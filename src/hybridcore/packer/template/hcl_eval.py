"""Evaluate the plain parts of an HCL2 template the way Packer would.

Reads the template files with python-hcl2 and resolves strings built from
literals, `var.x`, `local.x`, `path.root` and `path.cwd` (the values of
variables in Packer's order: defaults < PKR_VAR_* < auto var files < var files
< -var). Anything needing a function call is "unknown" (None): callers then
leave that value to Packer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridcore.logs import ONCE, get_logger
from hybridcore.packer.base.input_files import read_input_text
from hybridcore.packer.template.hcl_parse import HclSyntaxError, parse_hcl

__all__ = [
    "Scope",
    "TemplateDoc",
    "build_blocks",
    "labelled",
    "read_doc",
    "scope_for",
    "source_builds",
    "unquote",
]

_REF = re.compile(r"\$\{\s*(var|local|path)\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}")
_MAX_DEPTH = 16
log = get_logger("hcl")


@dataclass(frozen=True)
class _Value:
    raw: Any
    literal: bool = False  # JSON var files, -var and PKR_VAR_ values are never HCL templates


class Scope:
    """Variable and local values of one template, resolved on demand."""

    def __init__(
        self, variables: dict[str, _Value], locals_: dict[str, Any], paths: dict[str, str]
    ) -> None:
        self.variables = variables
        self.locals = locals_
        self.paths = paths

    def lookup(self, kind: str, name: str, depth: int) -> str | list[str] | None:
        if kind == "path":
            return self.paths.get(name)
        if kind == "var":
            value = self.variables.get(name)
            if value is None:
                return None
            if value.literal:
                return _literal(value.raw)
            return self.resolve(value.raw, depth + 1)
        return self.resolve(self.locals[name], depth + 1) if name in self.locals else None

    def resolve(self, raw: Any, depth: int = 0) -> str | list[str] | None:
        """A string or list of strings, or None when it takes more than var/local references."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(raw, list):
            items = [self.resolve(item, depth + 1) for item in raw]
            strings = [item for item in items if isinstance(item, str)]
            return strings if len(strings) == len(items) else None
        if not isinstance(raw, str):
            return _literal(raw)
        quoted = len(raw) >= 2 and raw[0] == raw[-1] == '"'
        text = raw[1:-1] if quoted else raw
        whole = _REF.fullmatch(text)
        if whole and not quoted:  # a bare `var.x`: may be a list
            return self.lookup(whole[1], whole[2], depth)
        return self._interpolate(text, depth)

    def _interpolate(self, text: str, depth: int) -> str | None:
        if "$${" in text or "%{" in text or "${" in _REF.sub("", text):
            return None
        parts: list[str] = []
        end = 0
        for match in _REF.finditer(text):
            value = self.lookup(match[1], match[2], depth)
            if not isinstance(value, str):
                return None
            parts += [text[end : match.start()], value]
            end = match.end()
        return "".join([*parts, text[end:]])


def _literal(raw: Any) -> str | list[str] | None:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str | int | float):
        return str(raw)
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return list(raw)
    return None


def unquote(value: Any) -> str:
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def labelled(entries: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    for entry in entries:
        if isinstance(entry, dict):
            for label, body in entry.items():
                if label != "__is_block__":
                    yield unquote(label), body


def _load_hcl(path: Path) -> dict[str, Any] | None:
    text = read_input_text(path, what="template or var file")
    try:
        doc = parse_hcl(text)
    except HclSyntaxError as exc:
        log.warning("%s; its inputs are not evaluated", exc.at(path), extra=ONCE)
        return None
    except Exception as exc:  # one of lark's many other error types
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        log.warning("%s: not evaluated (%s)", path, first, extra=ONCE)
        return None
    return doc if isinstance(doc, dict) else None


def _var_file_values(path: Path) -> dict[str, _Value]:
    if path.name.endswith(".json"):
        try:
            data = json.loads(read_input_text(path, what="var file"))
        except ValueError as exc:
            log.warning("%s: not evaluated (%s)", path, exc, extra=ONCE)
            return {}
        return (
            {str(k): _Value(v, literal=True) for k, v in data.items()}
            if isinstance(data, dict)
            else {}
        )
    doc = _load_hcl(path)
    return {k: _Value(v) for k, v in (doc or {}).items() if k != "__is_block__"}


@dataclass
class TemplateDoc:
    """The blocks of a template's files that evaluation needs."""

    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "type.name" -> body
    builds: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, _Value] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)


def read_doc(files: Sequence[Path]) -> TemplateDoc:
    found = TemplateDoc()
    for path in files:
        doc = _load_hcl(path)
        if doc is None:
            continue
        for kind, names in labelled(doc.get("source", [])):
            for name, body in labelled([names]):
                if isinstance(body, dict):
                    found.sources[f"{kind}.{name}"] = body
        found.builds += [b for b in doc.get("build", []) if isinstance(b, dict)]
        for name, body in labelled(doc.get("variable", [])):
            if isinstance(body, dict) and "default" in body:
                found.variables[name] = _Value(body["default"])
        for block in doc.get("locals", []):
            if isinstance(block, dict):
                found.locals.update({k: v for k, v in block.items() if k != "__is_block__"})
    return found


def build_blocks(
    template: TemplateDoc,
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(Packer build name, merged source body, build block) for every source a build
    block uses."""
    for build in template.builds:
        prefix = f"{unquote(build['name'])}." if "name" in build else ""
        chosen: dict[str, dict[str, Any]] = {}
        for ref in build.get("sources", []):
            key = unquote(ref).removeprefix("source.")
            if key in template.sources:
                chosen[key] = template.sources[key]
        for ref, extra in labelled(build.get("source", [])):
            key = ref.removeprefix("source.")
            if key in template.sources and isinstance(extra, dict):
                kind = key.split(".", 1)[0]
                name = unquote(extra["name"]) if "name" in extra else key.split(".", 1)[1]
                chosen[f"{kind}.{name}"] = {**template.sources[key], **extra}
        for key, body in chosen.items():
            yield prefix + key, body, build


def source_builds(template: TemplateDoc) -> Iterator[tuple[str, dict[str, Any]]]:
    """(Packer build name, merged source body) for every source a build block uses."""
    for name, body, _ in build_blocks(template):
        yield name, body


def scope_for(
    target: Path,
    template: TemplateDoc,
    variables: Mapping[str, str],
    var_files: Sequence[Path],
    environ: Mapping[str, str] | None,
    cwd: Path | None = None,
) -> Scope:
    """Packer's order: defaults < PKR_VAR_* < *.auto.pkrvars.* (directory targets) <
    var files in order < variables."""
    values = dict(template.variables)
    for key, value in (environ or {}).items():
        if key.startswith("PKR_VAR_"):
            values[key.removeprefix("PKR_VAR_")] = _Value(value, literal=True)
    auto = sorted(target.glob("*.auto.pkrvars.hcl")) + sorted(target.glob("*.auto.pkrvars.json"))
    for path in [*(auto if target.is_dir() else []), *var_files]:
        values.update(_var_file_values(path))
    values.update({k: _Value(v, literal=True) for k, v in variables.items()})
    root = target if target.is_dir() else target.parent
    return Scope(values, template.locals, {"root": str(root), "cwd": str(cwd or Path.cwd())})
