"""The current inputs manifest of each selected build, as drift, verify and
--skip-unchanged compare it with the last one."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from hybridcore.packer.store.hashing import HashCache
from hybridcore.packer.store.inputs_manifest import HashManifest, hash_inputs
from hybridcore.packer.template.facts import TemplateInfo, selected_builds
from hybridcore.packer.template.inputs import discover_inputs

__all__ = ["current_manifests", "hash_cache"]


def hash_cache(workdir: Path) -> HashCache:
    return HashCache(workdir / "state" / "packer" / "hash-cache.json")


def current_manifests(
    templates: Mapping[Path, TemplateInfo],
    *,
    cwd: Path,
    workdir: Path,
    variables: Mapping[str, str],
    var_files: Sequence[str],
    environ: Mapping[str, str],
    secret_names: set[str],
    packer_version: str,
    only: Sequence[str] = (),
    except_: Sequence[str] = (),
    full: bool = False,
) -> dict[str, HashManifest]:
    """The current hash manifest of every selected build (not written anywhere)."""
    cache = hash_cache(workdir)
    found: dict[str, HashManifest] = {}
    for path, info in templates.items():
        inputs = discover_inputs(
            (cwd / path).resolve(),
            info,
            cwd=cwd,
            variables=variables,
            var_files=[(cwd / v).resolve() for v in var_files],
            environ=environ,
            secret_names=secret_names,
        )
        for build in selected_builds(info, only, except_):
            if build in inputs:
                found[build] = hash_inputs(
                    inputs[build],
                    workdir=workdir,
                    packer_version=packer_version,
                    cache=cache,
                    full=full,
                )
    with contextlib.suppress(OSError):  # the stat cache only saves time
        cache.save()
    return found
