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
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.state_files import atomic_write_json

__all__ = ["INDEX_NAME", "CacheReport", "FetchedIso", "IsoSource", "PurgedIso", "SharedIsoCache"]

INDEX_NAME = "index.json"
INDEX_SCHEMA_VERSION = 1
PORT_DIR = "port"  # Packer's port reservations (qemu VNC/SSH); shared so parallel builds see them


@dataclass(frozen=True)
class IsoSource:
    """One build's ISO: `checksum` is Packer's normalised ``type:hex`` form."""

    build: str
    template: str
    urls: tuple[str, ...]
    checksum: str
    cache_name: str


_CHUNK = 1 << 20
log = get_logger("cache")


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
                klass=ExitClass.TRANSIENT,
                rule="cache_locked",
                remediation="Another run is fetching into the same --cache-dir; wait for it, "
                "or give this run its own --cache-dir.",
            ) from exc
        except PermissionError as exc:
            raise HybridcoreError(
                f"cannot manage the ISO cache {self.root}: {exc.strerror}.",
                klass=ExitClass.CONFIG,
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
                klass=ExitClass.CONFIG,
                rule="iso_checksum",
                remediation="Fix iso_checksum (or iso_url) in the template or var file; "
                "nothing was kept in the cache.",
            )
        config = all(_is_config_failure(exc) for _, exc in failures)
        detail = "; ".join(f"{url}: {exc}" for url, exc in failures)
        raise HybridcoreError(
            f"could not download the ISO for {checksum}: {detail}.",
            klass=ExitClass.CONFIG if config else ExitClass.TRANSIENT,
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
