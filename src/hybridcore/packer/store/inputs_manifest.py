"""Incremental hash manifests: ``artifacts/<build>.hash.json``.

Every input of a build (path relative to the workdir, sha256, size, kind), its
non-secret variable values and the Packer version, folded into one digest, with
the artifact IDs these inputs produced. The previous manifest is kept inside
the new one, so a diff is always possible. A `seal` (sha256 over everything
else in the file) is written with it: a manifest whose seal or digest does not
match its contents was edited, a tampering signal. The seal detects edits, not
a forger who recomputes it; that needs signing, which this tool does not do.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from hybridcore.packer.base.model import FrozenModel
from hybridcore.packer.store.hashing import HashCache, hash_files
from hybridcore.packer.store.layout import Workdir
from hybridcore.packer.store.state_files import atomic_write_json, read_json_state

__all__ = [
    "HASH_SCHEMA_VERSION",
    "BuildInputs",
    "HashManifest",
    "InputEntry",
    "InputFile",
    "combined_digest",
    "hash_inputs",
    "load_hash_manifest",
    "manifest_path",
    "write_hash_manifest",
]

HASH_SCHEMA_VERSION: Literal["1.0"] = "1.0"


@dataclass(frozen=True)
class InputFile:
    path: Path  # absolute
    kind: str  # template, var-file, script, config, iso


@dataclass(frozen=True)
class BuildInputs:
    build: str
    files: tuple[InputFile, ...]
    variables: dict[str, str]


class InputEntry(FrozenModel):
    path: str = Field(description="Relative to the workdir where possible")
    kind: str = Field(description="template, var-file, script, config or iso")
    sha256: str
    size: int


class HashManifest(FrozenModel):
    schema_version: Literal["1.0"] = HASH_SCHEMA_VERSION
    build: str
    digest: str = Field(description="sha256 over the sorted inputs, variables, Packer version")
    inputs: list[InputEntry]
    variables: dict[str, str] = Field(description="Non-secret values; a secret only as set")
    packer_version: str
    artifact_ids: list[str | None] = Field(default_factory=list)
    command_id: str | None = None
    git_sha: str | None = None
    created_at: str | None = None
    previous: HashManifest | None = None
    seal: str | None = Field(default=None, description="sha256 over the rest of the file")


def _seal(data: Mapping[str, Any]) -> str:
    body = {key: value for key, value in data.items() if key != "seal"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def _shown(path: Path, workdir: Path) -> str:
    try:
        return os.path.relpath(path, workdir)
    except ValueError:
        return str(path)


def combined_digest(
    inputs: Sequence[InputEntry], variables: Mapping[str, str], packer_version: str
) -> str:
    """One digest over the sorted input list, the variables and the Packer version."""
    canonical = json.dumps(
        {
            "inputs": sorted([e.path, e.kind, e.sha256, e.size] for e in inputs),
            "variables": sorted(variables.items()),
            "packer_version": packer_version,
        },
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def hash_inputs(
    found: BuildInputs,
    *,
    workdir: Path,
    packer_version: str,
    cache: HashCache | None,
    full: bool = False,
) -> HashManifest:
    """Hash a build's inputs (unchanged files from `cache` unless `full`)."""
    hashes = hash_files((f.path for f in found.files), cache, full=full)
    entries = [
        InputEntry(
            path=_shown(f.path, workdir),
            kind=f.kind,
            sha256=hashes[f.path].sha256,
            size=hashes[f.path].size,
        )
        for f in found.files
        if f.path in hashes
    ]
    entries.sort(key=lambda e: (e.path, e.kind))
    return HashManifest(
        build=found.build,
        digest=combined_digest(entries, found.variables, packer_version),
        inputs=entries,
        variables=found.variables,
        packer_version=packer_version,
    )


def manifest_path(workdir: Path, build: str, *, existing: bool = False) -> Path:
    """Where the build's inputs manifest is written (`existing`: or was, by an older
    release that named files differently)."""
    return Workdir(workdir).inputs_manifest_file(build, existing=existing)


def _sealed(data: Any) -> HashManifest:
    """The manifest in `data` if its seal and digest match its contents; ValueError if not."""
    manifest = HashManifest.model_validate(data)
    if manifest.seal != _seal(data):
        raise ValueError("has a seal that does not match its contents")
    if manifest.digest != combined_digest(
        manifest.inputs, manifest.variables, manifest.packer_version
    ):
        raise ValueError("has a digest that does not match its inputs")
    return manifest


def load_hash_manifest(workdir: Path, build: str) -> HashManifest | None:
    """The build's last hash manifest, None if there is none; exit 3 if it was tampered with."""
    manifest = read_json_state(
        manifest_path(workdir, build, existing=True),
        _sealed,
        what="hash manifest",
        rule="hash_manifest_tampered",
        remediation="Do not publish: find out who changed the file, restore it from a trusted "
        "copy or rebuild the image so the tool writes a new one.",
    )
    # a legacy file name may have been shared by two builds: only this build's counts
    return manifest if manifest is not None and manifest.build == build else None


def write_hash_manifest(
    workdir: Path, current: HashManifest, previous: HashManifest | None, **fields: Any
) -> Path:
    """Store `current` (with `fields` such as artifact_ids, command_id) and the previous
    manifest (without its own previous) beside the artifact record."""
    path = manifest_path(workdir, current.build)
    kept = previous.model_copy(update={"previous": None}) if previous else None
    final = current.model_copy(update={**fields, "previous": kept, "seal": None})
    data = final.model_dump(mode="json")
    data["seal"] = _seal(data)
    atomic_write_json(path, data)
    return path
