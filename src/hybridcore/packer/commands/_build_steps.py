"""Plan the packer processes of a build, and record what they produced.

Serial: one `packer build` per template, in the caller's directory. Parallel:
one `packer build -only=<build>` per selected build, each in its own mirrored
working directory (see `workspace`), so manifests, `crash.log` and new output
directories never collide while relative paths keep working.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from hybridcore.logs import get_logger
from hybridcore.packer.base.artifact_record import ArtifactRecord, Provenance
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.result import RunResult
from hybridcore.packer.base.settings import Settings
from hybridcore.packer.run.argv import build_argv
from hybridcore.packer.run.options import BuildOptions
from hybridcore.packer.run.packer_manifest import resolve_manifest_output
from hybridcore.packer.run.provenance import git_state
from hybridcore.packer.run.runner import Invocation, run_label
from hybridcore.packer.run.version import PackerBinary
from hybridcore.packer.run.workspace import make_workspace
from hybridcore.packer.store.artifact_records import ArtifactRegistry, build_records
from hybridcore.packer.store.iso_cache import CacheReport, IsoSource, SharedIsoCache
from hybridcore.packer.store.layout import command_dir
from hybridcore.packer.template.facts import TemplateInfo, selected_builds
from hybridcore.packer.template.iso_sources import iso_sources
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.structured import scrub_data

log = get_logger("packer")

__all__ = [
    "CachePlan",
    "parallel_invocations",
    "prepare_cache",
    "record_artifacts",
    "serial_invocations",
]


@dataclass
class CachePlan:
    """The shared ISO cache of one build command, prepared before any build starts."""

    cache: SharedIsoCache
    sources: list[IsoSource]
    report: CacheReport
    fingerprint: dict[str, tuple[int, int]]

    def view(self, directory: Path, build: str | None = None) -> Path:
        """A writable PACKER_CACHE_DIR onto the shared files (of one build, or all)."""
        wanted = [s for s in self.sources if build is None or s.build == build]
        return self.cache.view(directory, wanted)

    def summary(self) -> dict[str, Any]:
        """The report, plus the shared files a build changed (there should be none)."""
        modified = self.cache.modified_since(self.fingerprint)
        if modified:
            log.error("the shared ISO cache was modified during the builds: %s", modified)
        return {**self.report.to_dict(), "modified_during_builds": modified}


def prepare_cache(
    root: Path,
    settings: Settings,
    environ: Mapping[str, str],
    options: BuildOptions,
    templates: Mapping[Path, TemplateInfo],
) -> CachePlan:
    """Purge stale ISOs and fetch every ISO the templates want, once, into `root`."""
    var_files = [settings.cwd / path for path in options.var_files]
    sources = [
        source
        for path in templates
        for source in iso_sources(
            settings.cwd / path,
            variables=dict(options.vars),
            var_files=var_files,
            environ=environ,
        )
    ]
    cache = SharedIsoCache(root)
    report = cache.prepare(sources)
    return CachePlan(cache, sources, report, cache.fingerprint())


def serial_invocations(
    settings: Settings,
    packer: PackerBinary,
    options: BuildOptions,
    templates: Mapping[Path, TemplateInfo],
) -> list[Invocation]:
    invocations = []
    for path, template in templates.items():
        full = settings.cwd / path
        template_dir = full if full.is_dir() else full.parent
        outputs = (
            resolve_manifest_output(expression, template_dir, settings.cwd)
            for expression in template.manifest_outputs
        )
        invocations.append(
            Invocation(
                label=run_label(path, options.only),
                target=str(path),
                argv=build_argv(packer, options, str(path)),
                machine_readable=options.machine_readable,
                manifest_outputs=tuple(out for out in outputs if out is not None),
            )
        )
    return invocations


def _selector(build: str, template: TemplateInfo) -> str:
    """`-only` for exactly `build`: Packer splits -only at commas, so a comma in the name
    becomes the wildcard '?', which must then select no other build of the template."""
    if "," not in build:
        return build
    pattern = build.replace(",", "?")
    also = [name for name in template.builds if name != build and fnmatchcase(name, pattern)]
    if also:
        raise HybridcoreError(
            f"build {build!r} cannot be run alone: Packer splits -only at commas, and the "
            f"wildcard {pattern!r} that stands for it also selects {', '.join(also)}.",
            klass=ExitClass.CONFIG,
            rule="ambiguous_build_name",
            remediation="Rename the build (the `name` of its source block) without a comma, "
            "or build without --parallel.",
        )
    return pattern


def parallel_invocations(
    settings: Settings,
    packer: PackerBinary,
    options: BuildOptions,
    templates: Mapping[Path, TemplateInfo],
    cache: CachePlan | None = None,
) -> list[Invocation]:
    """One invocation per selected build, each in its own workspace (and, with a
    shared cache, its own view of it)."""
    invocations: list[Invocation] = []
    shared: dict[Path, str] = {}
    logs = command_dir(settings)
    for path, template in templates.items():
        if template.parse_error:
            raise HybridcoreError(
                f"cannot list the builds of '{path}' for --parallel: {template.parse_error}.",
                klass=ExitClass.CONFIG,
                rule="hcl_syntax",
                remediation="Fix the template (`hybridcore-packer validate PATH` shows where), "
                "or build without --parallel to see Packer's own error.",
            )
        builds = selected_builds(template, options.only, options.except_)
        for build in builds:
            workspace = make_workspace(
                logs.workspace_dir(build),
                settings.cwd,
                str(path),
                template.manifest_outputs,
            )
            for output in workspace.shared_outputs:
                if output in shared:
                    raise HybridcoreError(
                        f"builds {shared[output]} and {build} would both write the Packer "
                        f"manifest {output}.",
                        klass=ExitClass.CONFIG,
                        rule="shared_manifest",
                        remediation="Give the manifest post-processor a relative `output` (or "
                        "one under ${path.root}) so each parallel build gets its own.",
                    )
                shared[output] = build
            only_this = replace(options, only=(_selector(build, template),), except_=())
            invocations.append(
                Invocation(
                    label=build,
                    target=str(path),
                    argv=build_argv(packer, only_this, workspace.target),
                    machine_readable=options.machine_readable,
                    manifest_outputs=workspace.manifest_outputs,
                    cwd=workspace.cwd,
                    cache_dir=(
                        cache.view(logs.run_cache_view_dir(build), build) if cache else None
                    ),
                )
            )
    if not invocations:
        raise HybridcoreError(
            "no build matches the selection (--only / --except).",
            klass=ExitClass.CONFIG,
            rule="no_build_selected",
            remediation="List the template's builds with `hybridcore-packer validate PATH` "
            "and select them by the names Packer prints (e.g. null.vsphere).",
        )
    return invocations


def _manifest_entries(run: RunResult) -> list[Mapping[str, Any]]:
    if run.manifest_path is None:
        return []
    try:
        data = json.loads(Path(run.manifest_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [entry for entry in data.get("builds", []) if isinstance(entry, dict)]


def record_artifacts(
    settings: Settings,
    runs: Sequence[RunResult],
    packer: PackerBinary,
    redactor: Redactor,
    digests: Mapping[str, str] | None = None,
) -> list[ArtifactRecord]:
    """Write an artifact record for every artifact the runs produced."""
    registry = ArtifactRegistry(settings.workdir)
    records: list[ArtifactRecord] = []
    for run in runs:
        if not run.artifacts:
            continue
        git = git_state(settings.cwd / run.target)
        provenance = Provenance(
            command_id=settings.command_id,
            source="build",
            git_sha=git.sha,
            git_dirty=git.dirty,
            packer_version=packer.version_text,
            packer_run_uuid=None,
            inputs_digest=None,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )
        records += build_records(run.artifacts, _manifest_entries(run), provenance, digests)
    records = [  # as data: a secret can never rename a record or break its file
        ArtifactRecord.model_validate(scrub_data(record.model_dump(mode="json"), redactor))
        for record in records
    ]
    registry.append(records)
    return records
