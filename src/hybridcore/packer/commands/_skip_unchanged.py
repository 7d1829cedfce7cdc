"""What `build` does with hash manifests: check drift first, skip what is up to
date (`--skip-unchanged`), and write a new hash manifest after each success.

The baseline is the build's last registered version (the registry outlives the
runner); the workdir's own manifest is kept as the new one's `previous`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hybridcore.packer.base.artifact_record import ArtifactRecord
from hybridcore.packer.base.build_drift import BuildDrift
from hybridcore.packer.base.result import RunResult
from hybridcore.packer.base.settings import Settings
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.commands._current_inputs import current_manifests
from hybridcore.packer.run.options import BuildOptions
from hybridcore.packer.run.provenance import git_state
from hybridcore.packer.store.drift import compare
from hybridcore.packer.store.inputs_manifest import (
    HashManifest,
    load_hash_manifest,
    write_hash_manifest,
)
from hybridcore.packer.template.facts import TemplateInfo, selected_builds
from hybridcore.redaction.engine import Redactor

if TYPE_CHECKING:  # SQLAlchemy loads when the registry is opened
    from hybridcore.packer.store.registry.models import RegistryVersion
    from hybridcore.packer.store.registry.store import Registry

__all__ = ["InputsPlan", "plan_inputs", "record_inputs", "succeeded_builds"]


@dataclass
class InputsPlan:
    current: dict[str, HashManifest]
    baselines: dict[str, HashManifest | None]  # the workdir's last manifests
    drift: list[BuildDrift]
    skipped: list[BuildDrift]

    def digests(self) -> dict[str, str]:
        return {build: manifest.digest for build, manifest in self.current.items()}


def _up_to_date(current: HashManifest, registered: RegistryVersion | None) -> bool:
    """Built from these inputs, and not revoked (a revoked image is rebuilt)."""
    return (
        registered is not None
        and registered.inputs_digest == current.digest
        and registered.revoked is None
    )


def plan_inputs(
    settings: Settings,
    environ: Mapping[str, str],
    templates: Mapping[Path, TemplateInfo],
    options: BuildOptions,
    *,
    secret_names: set[str],
    packer_version: str,
    skip_unchanged: bool,
    registry: Registry,
    redactor: Redactor,
) -> InputsPlan:
    """Hash each selected build's inputs, compare with its last registered version, and
    decide which builds `--skip-unchanged` leaves out."""
    current = current_manifests(
        templates,
        cwd=settings.cwd,
        workdir=settings.workdir,
        variables=dict(options.vars),
        var_files=options.var_files,
        environ=environ,
        secret_names=secret_names,
        packer_version=packer_version,
        only=options.only,
        except_=options.except_,
        redactor=redactor,
    )
    baselines = {build: load_hash_manifest(settings.workdir, build) for build in current}
    registered = {build: registry.baseline(build) for build in current}
    drift = [compare(current[b], _inputs_of(registered[b])) for b in sorted(current)]
    skipped = []
    if skip_unchanged:
        for build in sorted(current):
            if _up_to_date(current[build], registered[build]):
                skipped.append(
                    BuildDrift(
                        build=build,
                        status="skipped",
                        digest=current[build].digest,
                        baseline_digest=current[build].digest,
                        message=f"{build}: inputs unchanged since the last successful build "
                        f"(digest {current[build].digest[:12]}); its registered version "
                        f"{_ref(registered[build])} stands",
                    )
                )
    return InputsPlan(current, baselines, drift, skipped)


def _inputs_of(version: RegistryVersion | None) -> HashManifest | None:
    return version.inputs if version is not None else None


def _ref(version: RegistryVersion | None) -> str:
    return version.ref if version is not None else "-"


def succeeded_builds(
    runs: Sequence[RunResult], templates: Mapping[Path, TemplateInfo], options: BuildOptions
) -> set[str]:
    """Builds whose packer run succeeded: a parallel run is one build; a serial run that
    succeeded covers all its selected builds; of a serial run that failed, the builds
    Packer reported artifacts for (it reports only those of successful builds)."""
    done: set[str] = set()
    for run in runs:
        if run.exit_code != 0:
            if run.workspace is None:
                done.update(artifact.build for artifact in run.artifacts)
            continue
        if run.workspace is not None:  # a parallel run: exactly one build
            done.add(run.label)
            continue
        template = next((t for p, t in templates.items() if str(p) == run.target), None)
        if template is not None:
            done.update(selected_builds(template, options.only, options.except_))
    return done


def record_inputs(
    settings: Settings,
    plan: InputsPlan,
    builds: set[str],
    records: Sequence[ArtifactRecord],
) -> list[Path]:
    """Write the hash manifest of every build in `builds` (previous one kept inside)."""
    written = []
    now = rfc3339(datetime.now(UTC))
    git = git_state(settings.cwd)
    for build in sorted(builds & plan.current.keys()):
        written.append(
            write_hash_manifest(
                settings.workdir,
                plan.current[build],
                plan.baselines.get(build),
                artifact_ids=[r.artifact_id for r in records if r.build == build],
                command_id=settings.command_id,
                git_sha=git.sha,
                created_at=now,
            )
        )
    return written
