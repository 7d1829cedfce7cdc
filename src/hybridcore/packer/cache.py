"""Shared, read-only ISO cache for parallel builds.

Packer stores a downloaded ISO as ``$PACKER_CACHE_DIR/<sha1 of the checksum>.<ext>`` and
locks ``<that>.lock`` beside it. This module fetches each distinct ISO the templates name
into one shared directory once, before any build starts, verifies it, and then keeps the
directory read-only (files 0444, directory 0555). Each build gets its own writable *view*:
a directory of symlinks to the shared files, used as its ``PACKER_CACHE_DIR``; Packer finds
the file, verifies its checksum and takes its lock in the view. ``root/index.json`` records
which template and build wanted each entry; when a template's build names another ISO (a
version bump), the entry it no longer wants is purged before anything is fetched, unless
another template still wants it. The rules are in docs/cache.md.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from hybridcore.logs import get_logger
from hybridcore.packer.errors import HybridcoreError
from hybridcore.packer.records import atomic_write_json
from hybridcore.packer.template import template_files

__all__ = [
    "INDEX_NAME",
    "CacheReport",
    "FetchedIso",
    "IsoSource",
    "PurgedIso",
    "SharedIsoCache",
    "cache_name",
    "iso_sources",
    "normalize_checksum",
]

INDEX_NAME = "index.json"
INDEX_SCHEMA_VERSION = 1
PORT_DIR = "port"  # Packer's port reservations (qemu VNC/SSH); shared so parallel builds see them
_CHUNK = 1 << 20
_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_TYPE_OF_LENGTH = {length: kind for kind, length in _HEX_LENGTH.items()}
_HEX = re.compile(r"[0-9a-fA-F]+")
_REF = re.compile(r"\$\{\s*(var|local)\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}")
_FETCHABLE = {"http", "https", "file"}
_MAX_DEPTH = 16
log = get_logger("cache")


# --- what the templates want -----------------------------------------------------------------


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


# --- the shared directory --------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedIso:
    cache_name: str
    url: str
    checksum: str
    size: int
    seconds: float


@dataclass(frozen=True)
class PurgedIso:
    cache_name: str
    url: str
    checksum: str
    template: str
    reason: str


@dataclass
class CacheReport:
    """What one `prepare` did: fetched and reused entries, and those purged first."""

    fetched: list[FetchedIso] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    purged: list[PurgedIso] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fetched": [asdict(item) for item in self.fetched],
            "reused": list(self.reused),
            "purged": [asdict(item) for item in self.purged],
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(path: Path, kind: str) -> str:
    hasher = hashlib.new(kind)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.lstat()
    return stat.st_size, stat.st_mtime_ns


def _is_config_failure(exc: BaseException) -> bool:
    """A URL that answers but has no such file: the operator fixes it, retrying won't."""
    if isinstance(exc, urllib.error.HTTPError):
        return 400 <= exc.code < 500 and exc.code not in (408, 429)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return isinstance(reason, FileNotFoundError | IsADirectoryError | PermissionError)


class SharedIsoCache:
    """One shared ISO directory (`root`), its index, its lock and per-build views."""

    def __init__(self, root: Path, *, lock_timeout: float = -1, fetch_timeout: float = 60.0):
        self.root = Path(root)
        self.index_path = self.root / INDEX_NAME
        self.lock_path = self.root.with_name(self.root.name + ".lock")
        self.lock_timeout = lock_timeout
        self.fetch_timeout = fetch_timeout

    # -- lock, modes, index ----------------------------------------------------------------------

    @contextmanager
    def _writable(self) -> Iterator[None]:
        """Hold the cache lock with the directory writable; read-only again on the way out."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(self.lock_path, timeout=self.lock_timeout):
                self.root.mkdir(exist_ok=True)
                self.root.chmod(0o755)
                try:
                    yield
                finally:
                    if self.root.is_dir():
                        self.root.chmod(0o555)
        except Timeout as exc:
            raise HybridcoreError(
                f"the ISO cache {self.root} stayed locked for {self.lock_timeout} s.",
                exit_code=2,
                rule="cache_locked",
                remediation="Another run is fetching into the same --cache-dir; wait for it, "
                "or give this run its own --cache-dir.",
            ) from exc
        except PermissionError as exc:
            raise HybridcoreError(
                f"cannot manage the ISO cache {self.root}: {exc.strerror}.",
                exit_code=1,
                rule="cache_dir",
                remediation="Choose a --cache-dir this user owns, or build with --no-cache.",
            ) from exc

    def _entries(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ISO cache index %s unreadable (%s): new index", self.index_path, exc)
            return {}
        if not isinstance(data, dict) or data.get("schema_version") != INDEX_SCHEMA_VERSION:
            log.warning("ISO cache index %s has an unknown shape: new index", self.index_path)
            return {}
        entries = data.get("entries", {})
        return (
            {k: v for k, v in entries.items() if isinstance(v, dict)}
            if isinstance(entries, dict)
            else {}
        )

    def _save(self, entries: dict[str, dict[str, Any]]) -> None:
        atomic_write_json(
            self.index_path, {"schema_version": INDEX_SCHEMA_VERSION, "entries": entries}
        )
        self.index_path.chmod(0o444)

    # -- prepare ---------------------------------------------------------------------------------

    def prepare(self, sources: Iterable[IsoSource]) -> CacheReport:
        """Purge what the templates no longer want, then fetch each missing ISO once.

        Pass every shareable source of each template (`iso_sources` output, not filtered
        by --only): a build of a template given here that no longer names an entry's ISO
        stops holding that entry.
        """
        wanted = list(sources)
        report = CacheReport()
        with self._writable():
            for leftover in self.root.glob(".*.part"):
                leftover.unlink(missing_ok=True)
            entries = self._entries()
            report.purged = self._purge(entries, wanted)
            self._save(entries)
            groups: dict[str, list[IsoSource]] = {}
            for source in wanted:
                groups.setdefault(source.cache_name, []).append(source)
            for name, group in groups.items():
                entry = entries.get(name)
                if self._usable(name, group[0].checksum, entry):
                    report.reused.append(name)
                    if entry is None:
                        entry = entries[name] = self._entry(group, None)  # adopted
                else:
                    fetched = self._fetch(name, group)
                    report.fetched.append(fetched)
                    entry = entries[name] = self._entry(group, fetched.url)
                users = {(u["template"], u["build"]) for u in entry["users"]}
                users |= {(_key(s), s.build) for s in group}
                entry["users"] = [{"template": t, "build": b} for t, b in sorted(users)]
                entry["size"], entry["mtime_ns"] = _stamp(self.root / name)
                self._save(entries)
            (self.root / PORT_DIR).mkdir(exist_ok=True)
        return report

    def _purge(
        self, entries: dict[str, dict[str, Any]], wanted: Sequence[IsoSource]
    ) -> list[PurgedIso]:
        now = {(_key(s), s.build): s for s in wanted}
        given = {_key(s): s.template for s in wanted}
        purged = []
        for name in sorted(entries):
            entry = entries[name]
            kept, dropped = [], []
            for user in entry.get("users", []):
                template, build = user.get("template"), user.get("build")
                current = now.get((template, build))
                if template not in given or (current and current.cache_name == name):
                    kept.append(user)
                elif current:
                    dropped.append((given[template], f"{build} now uses {current.urls[0]}"))
                else:
                    dropped.append((given[template], f"{build} no longer names a shared ISO"))
            entry["users"] = kept
            if kept or any(s.cache_name == name for s in wanted):
                continue
            (self.root / name).unlink(missing_ok=True)
            del entries[name]
            item = PurgedIso(
                cache_name=name,
                url=(entry.get("urls") or [""])[0],
                checksum=str(entry.get("checksum", "")),
                template=", ".join(sorted({t for t, _ in dropped})) or "-",
                reason="; ".join(r for _, r in dropped) or "no template uses it",
            )
            log.info("purged %s (%s) from the ISO cache: %s", name, item.url, item.reason)
            purged.append(item)
        return purged

    def _usable(self, name: str, checksum: str, entry: dict[str, Any] | None) -> bool:
        """Whether the shared copy can stay: unchanged since indexed, or verified again."""
        path = self.root / name
        if path.is_symlink() or not path.is_file():
            path.unlink(missing_ok=True)
            return False
        indexed = [entry.get("size"), entry.get("mtime_ns")] if entry else None
        if indexed == list(_stamp(path)):
            return True
        kind, expected = checksum.split(":", 1)
        if _digest(path, kind) == expected:
            log.info("ISO cache: verified %s again (not as indexed)", name)
            return True
        log.warning("ISO cache: %s does not match %s; fetching it again", name, checksum)
        path.unlink()
        return False

    def _entry(self, group: Sequence[IsoSource], url: str | None) -> dict[str, Any]:
        urls = list(dict.fromkeys(u for s in group for u in s.urls))
        return {
            "checksum": group[0].checksum,
            "urls": urls,
            "fetched_from": url,
            "fetched_at": _now(),
            "users": [],
        }

    def _fetch(self, name: str, group: Sequence[IsoSource]) -> FetchedIso:
        checksum = group[0].checksum
        kind, expected = checksum.split(":", 1)
        failures: list[tuple[str, BaseException]] = []
        mismatches: list[tuple[str, str]] = []
        for url in dict.fromkeys(u for s in group for u in s.urls):
            started = time.monotonic()
            log.info("ISO cache: fetching %s from %s", name, url)
            fd, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=self.root)
            temp = Path(temp_name)
            try:
                actual, size = self._download(url, fd, kind)
                if actual != expected:
                    mismatches.append((url, actual))
                    temp.unlink()
                    continue
                temp.chmod(0o444)
                temp.replace(self.root / name)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                temp.unlink(missing_ok=True)
                if isinstance(exc, urllib.error.HTTPError):
                    exc.close()  # it holds the response's socket
                failures.append((url, exc))
                continue
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            seconds = round(time.monotonic() - started, 3)
            log.info("ISO cache: %s fetched (%d bytes in %.1f s)", name, size, seconds)
            return FetchedIso(name, url, checksum, size, seconds)
        if mismatches:
            url, actual = mismatches[0]
            raise HybridcoreError(
                f"the ISO from {url} has {kind} {actual}, but the template says {expected}.",
                exit_code=1,
                rule="iso_checksum",
                remediation="Fix iso_checksum (or iso_url) in the template or var file; "
                "nothing was kept in the cache.",
            )
        config = all(_is_config_failure(exc) for _, exc in failures)
        detail = "; ".join(f"{url}: {exc}" for url, exc in failures)
        raise HybridcoreError(
            f"could not download the ISO for {checksum}: {detail}.",
            exit_code=1 if config else 2,
            rule="iso_download",
            remediation="Check iso_url/iso_urls: the server has no such file."
            if config
            else "The mirror or the network failed; run again, or add a mirror to iso_urls.",
        )

    def _download(self, url: str, fd: int, kind: str) -> tuple[str, int]:
        hasher = hashlib.new(kind)
        size = 0
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=self.fetch_timeout) as response:
                while chunk := response.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return hasher.hexdigest(), size

    # -- during the builds -----------------------------------------------------------------------

    def view(self, dest: Path, sources: Sequence[IsoSource]) -> Path:
        """A fresh writable ``PACKER_CACHE_DIR`` for one build: a symlink per shared ISO that
        `sources` use (pass the build's own sources) and to the shared port-lock directory."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        if any(dest.iterdir()):
            raise FileExistsError(f"cache view {dest} is not empty")
        entries = self._entries()
        for name in dict.fromkeys(s.cache_name for s in sources):
            shared = self.root / name
            if name in entries and shared.is_file():
                (dest / name).symlink_to(shared.resolve())
            else:
                log.info("ISO cache: %s not shared; Packer downloads it into %s", name, dest)
        if (self.root / PORT_DIR).is_dir():
            (dest / PORT_DIR).symlink_to((self.root / PORT_DIR).resolve(), target_is_directory=True)
        return dest

    def fingerprint(self) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of every shared ISO in the index."""
        found = {}
        for name in self._entries():
            try:
                found[name] = _stamp(self.root / name)
            except FileNotFoundError:
                continue
        return found

    def modified_since(self, fingerprint: Mapping[str, tuple[int, int]]) -> list[str]:
        """Shared ISOs of `fingerprint` that changed or vanished since it was taken."""
        changed = []
        for name, stamp in sorted(fingerprint.items()):
            try:
                if _stamp(self.root / name) != tuple(stamp):
                    changed.append(name)
            except FileNotFoundError:
                changed.append(name)
        return changed

    def clear(self) -> list[str]:
        """Remove every cached ISO and the index; returns the names removed."""
        with self._writable():
            names = sorted(p.name for p in self.root.iterdir() if p.name != PORT_DIR)
            shutil.rmtree(self.root)
        log.info("ISO cache %s cleared (%d files)", self.root, len(names))
        return names


def _key(source: IsoSource) -> str:
    """The index's name for a template: its absolute path (the same from any directory)."""
    return str(Path(source.template).resolve())
