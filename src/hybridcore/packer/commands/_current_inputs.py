"""The current inputs manifest of each selected build, as drift, verify and
--skip-unchanged compare it with the last one."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from hybridcore.packer.store.hashing import HashCache
from hybridcore.packer.store.inputs_manifest import HashManifest, hash_inputs
from hybridcore.packer.store.layout import Workdir
from hybridcore.packer.template.facts import TemplateInfo, selected_builds
from hybridcore.packer.template.inputs import discover_inputs
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.structured import scrub_data

__all__ = ["current_manifests"]


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
    redactor: Redactor | None = None,
) -> dict[str, HashManifest]:
    """The current hash manifest of every selected build (not written anywhere).

    With `redactor`, variable values are scrubbed as data before they are hashed,
    so the digest never depends on, and the manifest never holds, a secret.
    """
    cache = HashCache(Workdir(workdir).hash_cache_file)
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
                found_inputs = inputs[build]
                if redactor is not None:
                    variables_seen = scrub_data(found_inputs.variables, redactor)
                    found_inputs = replace(found_inputs, variables=variables_seen)
                found[build] = hash_inputs(
                    found_inputs,
                    workdir=workdir,
                    packer_version=packer_version,
                    cache=cache,
                    full=full,
                )
    with contextlib.suppress(OSError):  # the stat cache only saves time
        cache.save()
    return found
