"""What ISOs the templates want: `iso_url`/`iso_checksum` of each build's source,
resolved through variable defaults, `PKR_VAR_*`, auto var files, var files and
`--var`, in Packer's order; and the file name Packer gives each in its cache.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridcore.logs import get_logger
from hybridcore.packer.template import template_files

__all__ = ["IsoSource", "cache_name", "iso_sources", "normalize_checksum"]

_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_TYPE_OF_LENGTH = {length: kind for kind, length in _HEX_LENGTH.items()}
_HEX = re.compile(r"[0-9a-fA-F]+")
_REF = re.compile(r"\$\{\s*(var|local)\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}")
_FETCHABLE = {"http", "https", "file"}
_MAX_DEPTH = 16
log = get_logger("cache")


@dataclass(frozen=True)
class IsoSource:
    """One build's ISO: `checksum` is Packer's normalised ``type:hex`` form."""

    build: str
    template: str
    urls: tuple[str, ...]
    checksum: str
    cache_name: str


def normalize_checksum(text: str) -> str | None:
    """``type:hex`` (lower case) as Packer resolves `iso_checksum` before naming the cached
    file; None for ``none``, ``file:...`` and anything that names no single content."""
    kind, colon, value = text.partition(":")
    if not colon:
        kind, value = _TYPE_OF_LENGTH.get(len(text), ""), text
    kind = kind.lower()
    if _HEX_LENGTH.get(kind) != len(value) or not _HEX.fullmatch(value):
        return None
    return f"{kind}:{value.lower()}"


def cache_name(checksum: str, extension: str = "iso") -> str:
    """The file name Packer gives an ISO with this (normalised) checksum in its cache."""
    return f"{hashlib.sha1(checksum.encode()).hexdigest()}.{extension.lower()}"


@dataclass(frozen=True)
class _Value:
    raw: Any
    literal: bool = False  # JSON var files, -var and PKR_VAR_ values are never HCL templates


class _Scope:
    """Variable and local values of one template, resolved on demand."""

    def __init__(self, variables: dict[str, _Value], locals_: dict[str, Any]) -> None:
        self.variables = variables
        self.locals = locals_

    def lookup(self, kind: str, name: str, depth: int) -> str | list[str] | None:
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


def _unquote(value: Any) -> str:
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _labelled(entries: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    for entry in entries:
        if isinstance(entry, dict):
            for label, body in entry.items():
                if label != "__is_block__":
                    yield _unquote(label), body


def _load_hcl(path: Path) -> dict[str, Any] | None:
    import hcl2  # imported here: python-hcl2 takes ~0.1 s to load its grammar

    try:
        doc = hcl2.loads(path.read_text(encoding="utf-8", errors="replace"))
    except Exception as exc:  # OSError or one of lark's many error types
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        log.warning("%s: not read for the ISO cache (%s)", path, first)
        return None
    return doc if isinstance(doc, dict) else None


def _var_file_values(path: Path) -> dict[str, _Value]:
    if path.name.endswith(".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("%s: not read for the ISO cache (%s)", path, exc)
            return {}
        return (
            {str(k): _Value(v, literal=True) for k, v in data.items()}
            if isinstance(data, dict)
            else {}
        )
    doc = _load_hcl(path)
    return {k: _Value(v) for k, v in (doc or {}).items() if k != "__is_block__"}


@dataclass
class _Template:
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "type.name" -> body
    builds: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, _Value] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)


def _read(files: Sequence[Path]) -> _Template:
    found = _Template()
    for path in files:
        doc = _load_hcl(path)
        if doc is None:
            continue
        for kind, names in _labelled(doc.get("source", [])):
            for name, body in _labelled([names]):
                if isinstance(body, dict):
                    found.sources[f"{kind}.{name}"] = body
        found.builds += [b for b in doc.get("build", []) if isinstance(b, dict)]
        for name, body in _labelled(doc.get("variable", [])):
            if isinstance(body, dict) and "default" in body:
                found.variables[name] = _Value(body["default"])
        for block in doc.get("locals", []):
            if isinstance(block, dict):
                found.locals.update({k: v for k, v in block.items() if k != "__is_block__"})
    return found


def _builds(template: _Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """(Packer build name, merged source body) for every source a build block uses."""
    for build in template.builds:
        prefix = f"{_unquote(build['name'])}." if "name" in build else ""
        chosen: dict[str, dict[str, Any]] = {}
        for ref in build.get("sources", []):
            key = _unquote(ref).removeprefix("source.")
            if key in template.sources:
                chosen[key] = template.sources[key]
        for ref, extra in _labelled(build.get("source", [])):
            key = ref.removeprefix("source.")
            if key in template.sources and isinstance(extra, dict):
                kind = key.split(".", 1)[0]
                name = _unquote(extra["name"]) if "name" in extra else key.split(".", 1)[1]
                chosen[f"{kind}.{name}"] = {**template.sources[key], **extra}
        for key, body in chosen.items():
            yield prefix + key, body


def _fetchable(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() in _FETCHABLE:
        return None if "checksum" in urllib.parse.parse_qs(parts.query) else url
    if not parts.scheme and url.startswith("/"):
        return Path(url).as_uri()
    return None


def _iso_source(build: str, body: dict[str, Any], scope: _Scope, template: str) -> IsoSource | str:
    """The source's shareable ISO, or why it has none."""
    if "iso_checksum" not in body or not ({"iso_url", "iso_urls"} & body.keys()):
        return "no iso_url/iso_checksum"
    if "iso_target_path" in body:
        return "iso_target_path puts the ISO outside the cache"
    checksum = scope.resolve(body["iso_checksum"])
    raw_urls = scope.resolve(body.get("iso_urls", body.get("iso_url")))
    extension = scope.resolve(body.get("iso_target_extension", '"iso"'))
    if not isinstance(checksum, str) or raw_urls is None or not isinstance(extension, str):
        return "iso_url, iso_checksum or iso_target_extension uses more than var./local. values"
    normalized = normalize_checksum(checksum)
    if normalized is None:
        return f"iso_checksum {checksum!r} names no single file content (none, file:, invalid)"
    urls = [raw_urls] if isinstance(raw_urls, str) else raw_urls
    fetchable = tuple(u for u in (_fetchable(url) for url in urls) if u is not None)
    if not fetchable:
        return f"no http(s)/file URL or absolute path among {urls}"
    return IsoSource(build, template, fetchable, normalized, cache_name(normalized, extension))


def _scope(
    target: Path,
    template: _Template,
    variables: Mapping[str, str],
    var_files: Sequence[Path],
    environ: Mapping[str, str] | None,
) -> _Scope:
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
    return _Scope(values, template.locals)


def iso_sources(
    target: Path,
    *,
    variables: Mapping[str, str],
    var_files: Sequence[Path],
    environ: Mapping[str, str] | None = None,
) -> list[IsoSource]:
    """The ISO of every build of `target` (a template file or a directory of them) whose
    URL and checksum resolve to plain values; the others are logged and left to Packer."""
    template = _read(template_files(target))
    scope = _scope(target, template, variables, var_files, environ)
    found: list[IsoSource] = []
    for build, body in _builds(template):
        source = _iso_source(build, body, scope, str(target))
        if isinstance(source, IsoSource):
            found.append(source)
        elif "iso_checksum" in body or "iso_url" in body or "iso_urls" in body:
            log.info("%s: ISO of %s not shared (%s); Packer fetches it", target, build, source)
    return found
