"""Find the packer executable and read its version once."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.state_files import atomic_write_json, read_json_cache

__all__ = ["PackerBinary", "locate_packer"]

_VERSION = re.compile(r"(?:Packer v|^)(\d+)\.(\d+)\.(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class PackerBinary:
    """A packer executable and the version it reported."""

    path: str
    version: tuple[int, int, int]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    def at_least(self, major: int, minor: int, patch: int = 0) -> bool:
        return self.version >= (major, minor, patch)


def _not_found(what: str) -> HybridcoreError:
    return HybridcoreError(
        f"packer executable not found: {what}.",
        klass=ExitClass.CONFIG,
        rule="packer_not_found",
        remediation=(
            "Install Packer (e.g. `apt-get install packer`) or point --packer / "
            "HYBRIDCORE_PACKER_BIN at the executable."
        ),
    )


def _identity(path: str) -> str:
    """What makes a cached version valid: the file, and its size, mtime and inode."""
    real = Path(path).resolve()
    stat = real.stat()
    return f"{path}|{real}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"


def _cached_version(cache: Path | None, identity: str) -> tuple[int, int, int] | None:
    if cache is None:
        return None
    try:
        major, minor, patch = read_json_cache(cache)[identity]
        return int(major), int(minor), int(patch)
    except (ValueError, KeyError, TypeError):
        return None


def _remember(cache: Path | None, identity: str, version: tuple[int, int, int]) -> None:
    if cache is None:
        return
    data = {**read_json_cache(cache), identity: list(version)}
    with contextlib.suppress(OSError):  # the cache only saves time
        atomic_write_json(cache, data)


def locate_packer(
    explicit: str | None = None,
    env: dict[str, str] | None = None,
    *,
    cache: Path | None = None,
) -> PackerBinary:
    """Resolve `--packer`, else ``$HYBRIDCORE_PACKER_BIN``, else ``packer`` on PATH,
    and ask it for its version (remembered in `cache` while the binary is unchanged)."""
    environ = os.environ if env is None else env
    wanted = explicit or environ.get("HYBRIDCORE_PACKER_BIN") or "packer"
    resolved = shutil.which(wanted, path=environ.get("PATH"))
    if resolved is None:
        raise _not_found(repr(wanted))
    resolved = str(Path(resolved).absolute())  # "./packer" must not become "packer" (PATH)
    identity = _identity(resolved)
    known = _cached_version(cache, identity)
    if known is not None:
        return PackerBinary(path=resolved, version=known)
    binary = _ask_version(resolved, environ)
    _remember(cache, identity, binary.version)
    return binary


def _ask_version(resolved: str, environ: Mapping[str, str]) -> PackerBinary:
    try:
        proc = subprocess.run(
            [resolved, "version"],
            capture_output=True,
            text=True,
            errors="backslashreplace",
            timeout=60,
            env={
                **{k: v for k, v in environ.items() if not k.startswith("PACKER_LOG")},
                "CHECKPOINT_DISABLE": "1",
            },
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _not_found(f"{resolved} could not run `version` ({exc})") from exc
    match = _VERSION.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        raise _not_found(f"{resolved} did not report a Packer version: {proc.stdout.strip()!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return PackerBinary(path=resolved, version=(major, minor, patch))
