"""Find the packer executable and read its version once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hybridcore.packer.errors import HybridcoreError

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

    def at_least(self, major: int, minor: int) -> bool:
        return self.version[:2] >= (major, minor)


def _not_found(what: str) -> HybridcoreError:
    return HybridcoreError(
        f"packer executable not found: {what}.",
        exit_code=1,
        rule="packer_not_found",
        remediation=(
            "Install Packer (e.g. `apt-get install packer`) or point --packer / "
            "HYBRIDCORE_PACKER_BIN at the executable."
        ),
    )


def locate_packer(explicit: str | None = None, env: dict[str, str] | None = None) -> PackerBinary:
    """Resolve `--packer`, else ``$HYBRIDCORE_PACKER_BIN``, else ``packer`` on PATH,
    and ask it for its version."""
    environ = os.environ if env is None else env
    wanted = explicit or environ.get("HYBRIDCORE_PACKER_BIN") or "packer"
    resolved = shutil.which(wanted, path=environ.get("PATH"))
    if resolved is None:
        raise _not_found(repr(wanted))
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
    return PackerBinary(path=str(Path(resolved)), version=(major, minor, patch))
