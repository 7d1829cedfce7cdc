"""The shared plugin directory: what is installed, and installing from a local mirror.

The layout is the one Packer 1.9 installs into and lists plugins from (its
`packer/plugin-getter`): ``<dir>/<host>/<namespace>/<type>/packer-plugin-<type>_v<version>_
<api>_<os>_<arch>`` beside a ``..._SHA256SUM`` file that holds the binary's hex sha256. A
binary without a matching checksum file is not an installation. A mirror has the same layout,
so installing is: pick the highest version meeting the constraint, verify, copy atomically.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass

__all__ = [
    "PLUGIN_API",
    "Installed",
    "PluginRequirement",
    "install_from_mirror",
    "installations",
    "satisfies",
]

PLUGIN_API = "x5.0"  # the plugin protocol Packer 1.9 speaks
_VERSION = re.compile(r"v?(\d+(?:\.\d+)*)(?:-[0-9A-Za-z.-]+)?")
_CLAUSE = re.compile(r"\s*(>=|<=|!=|~>|=|>|<)?\s*(v?[0-9][0-9A-Za-z.\-]*)\s*")
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class PluginRequirement:
    """One entry of required_plugins: `source` is ``host/namespace/name``."""

    name: str
    source: str
    constraint: str  # HashiCorp version constraints, e.g. ">= 1.0.9"; "" accepts any

    @property
    def parts(self) -> tuple[str, str, str]:
        """(host, namespace, type): the folders Packer installs the plugin under."""
        host, namespace, kind = [*self.source.split("/"), "", ""][:3]
        return host, namespace, kind.removeprefix("packer-plugin-")


@dataclass(frozen=True)
class Installed:
    """One plugin binary whose checksum file matches it."""

    path: Path
    version: str


def _numbers(version: str) -> tuple[int, ...]:
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(version)
    numbers = tuple(int(part) for part in match.group(1).split("."))
    return numbers + (0,) * (3 - len(numbers))


def satisfies(version: str, constraint: str) -> bool:
    """Whether `version` meets HashiCorp version constraints such as ">= 1.0, < 2" or
    "~> 1.2" (pessimistic: the last given part may grow). Empty: any version."""
    have = _numbers(version)
    for clause in filter(None, (part.strip() for part in constraint.split(","))):
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            raise ValueError(f"not a version constraint: {clause!r}")
        op, wanted = match.group(1) or "=", match.group(2)
        want = _numbers(wanted)
        if op == "~>":
            given = len(_VERSION.fullmatch(wanted).group(1).split("."))  # type: ignore[union-attr]
            upper = (*want[: max(given - 2, 0)], want[max(given - 2, 0)] + 1)
            ok = have >= want and have[: len(upper)] < upper
        else:
            ok = {
                "=": have == want,
                "!=": have != want,
                ">": have > want,
                "<": have < want,
                ">=": have >= want,
                "<=": have <= want,
            }[op]
        if not ok:
            return False
    return True


def _suffix() -> str:
    machine = platform.machine().lower()
    return f"_{PLUGIN_API}_{platform.system().lower()}_{_ARCH.get(machine, machine)}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recorded_sum(binary: Path) -> str | None:
    try:
        return Path(f"{binary}_SHA256SUM").read_text(encoding="ascii").split()[0].lower()
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def _candidates(root: Path, requirement: PluginRequirement) -> list[tuple[str, Path]]:
    """(version, binary) of every binary for `requirement` under `root` meeting its
    constraint, highest version first; checksums not yet checked."""
    host, namespace, kind = requirement.parts
    folder = root / host / namespace / kind
    prefix, suffix = f"packer-plugin-{kind}_", _suffix()
    found = []
    for binary in folder.glob(f"{prefix}*{suffix}") if folder.is_dir() else []:
        version = binary.name[len(prefix) : -len(suffix)]
        try:
            if satisfies(version, requirement.constraint):
                found.append((version, binary))
        except ValueError:
            continue  # a file name or constraint Packer would not take either
    return sorted(found, key=lambda item: _numbers(item[0]), reverse=True)


def installations(folders: list[Path], requirement: PluginRequirement) -> list[Installed]:
    """Installed binaries for `requirement` in `folders` (Packer's known plugin folders)
    that meet its constraint and match their checksum file, highest version first."""
    found = []
    for folder in folders:
        for version, binary in _candidates(folder, requirement):
            if _recorded_sum(binary) == _sha256(binary):
                found.append(Installed(binary, version.removeprefix("v")))
    return sorted(found, key=lambda item: _numbers(item.version), reverse=True)


def _copy_atomically(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        Path(tmp).chmod(0o755)
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install_from_mirror(
    requirement: PluginRequirement, mirror: Path, plugin_dir: Path
) -> tuple[Installed, bool]:
    """Install the highest mirror version of `requirement` into `plugin_dir`, checksums
    verified; (the installation, whether anything was copied). Exit 1 when no mirror entry
    meets the constraint, 3 when a mirror binary does not match its checksum file."""
    candidates = _candidates(mirror, requirement)
    if not candidates:
        raise HybridcoreError(
            f"the plugin mirror {mirror} has no {requirement.source} meeting "
            f"'{requirement.constraint or 'any version'}' (required by the template as "
            f"'{requirement.name}').",
            klass=ExitClass.CONFIG,
            rule="plugin_not_in_mirror",
            remediation="Add that plugin version to the mirror (scripts/plugin-mirror.sh DIR "
            "builds the ones the examples use) or change the template's version constraint.",
        )
    version, binary = candidates[0]
    digest = _sha256(binary)
    if _recorded_sum(binary) != digest:
        raise HybridcoreError(
            f"the mirror's {binary.name} does not match its checksum file "
            f"{binary.name}_SHA256SUM: refusing to install it.",
            klass=ExitClass.SECURITY,
            rule="plugin_checksum_mismatch",
            remediation="The mirror was altered or damaged: rebuild it from a trusted source "
            "and check who can write to it.",
        )
    target = plugin_dir / binary.relative_to(mirror)
    copied = not (
        target.is_file() and _sha256(target) == digest and _recorded_sum(target) == digest
    )
    if copied:
        _copy_atomically(binary, target)
        Path(f"{target}_SHA256SUM").write_text(f"{digest}\n", encoding="ascii")
    return Installed(target, version.removeprefix("v")), copied
