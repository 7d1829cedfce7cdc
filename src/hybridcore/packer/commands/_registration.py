"""What `build` does with the registry: open it before Packer starts (a bad URL or a
newer schema fails fast), and register one version per successful build after."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hybridcore.logs import get_logger, register_redactor
from hybridcore.packer.base.artifact_record import ArtifactRecord
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.registered_version import RegisteredVersion
from hybridcore.packer.base.result import RunResult
from hybridcore.packer.run.options import BuildOptions
from hybridcore.packer.run.provenance import git_state, runner_name
from hybridcore.packer.run.runner import RunContext
from hybridcore.packer.store.inputs_manifest import HashManifest
from hybridcore.packer.store.layout import Workdir
from hybridcore.packer.template.facts import TemplateInfo
from hybridcore.packer.template.image_refs import image_candidates
from hybridcore.redaction.engine import Redactor

if TYPE_CHECKING:  # SQLAlchemy loads when a command opens the registry, not at import
    from hybridcore.packer.store.registry.store import Registry

__all__ = ["attempts_noted", "check_labels", "open_for", "register_builds"]

T = TypeVar("T")
R = TypeVar("R")

log = get_logger("registry")


def open_for(
    registry: str | None, workdir: Path, environ: Mapping[str, str], redactor: Redactor | None
) -> Registry:
    """The registry of this command; its password joins `redactor` and the logs' scrubbing."""
    from hybridcore.packer.store.registry.store import open_registry
    from hybridcore.packer.store.registry.target import resolve_target

    target = resolve_target(registry, workdir=workdir, environ=environ)
    if target.secrets:
        register_redactor(Redactor(target.secrets))
        if redactor is not None:
            redactor.add(*target.secrets)
    fresh = target.backend == "sqlite" and not Path(str(target.url.database)).exists()
    store = open_registry(target)
    if fresh and Path(str(target.url.database)) == Workdir(workdir).registry_file:
        _adopt_workdir_records(store, workdir)
    return store


def _adopt_workdir_records(store: Registry, workdir: Path) -> None:
    """A workdir from before the registry: its records and manifests become versions, so
    drift and verify keep their baseline across the upgrade."""
    from hybridcore.packer.commands.registry import adopt_workdir

    added = adopt_workdir(store, workdir)
    if added:
        log.info("imported %d version(s) from %s into the new registry", added, workdir)


def check_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Labels as given, after checking their names (exit 1 for a bad one)."""
    checked = {}
    for name, value in (labels or {}).items():
        if not name or len(name) > 255 or not all(c.isalnum() or c in "-_./" for c in name):
            raise HybridcoreError(
                f"label name {name!r} is not valid.",
                klass=ExitClass.CONFIG,
                rule="invalid_label",
                remediation="Use --label NAME=VALUE with a name of letters, digits, '-', '_', "
                "'.' or '/', e.g. --label release=2024.06.",
            )
        checked[name] = str(value)
    return checked


def _candidates(
    context: RunContext, templates: Mapping[Path, TemplateInfo], options: BuildOptions
) -> dict[str, frozenset[str]]:
    found: dict[str, frozenset[str]] = {}
    for path, info in templates.items():
        with contextlib.suppress(OSError, ValueError):  # ancestry is best effort
            found.update(
                image_candidates(
                    (context.settings.cwd / path).resolve(),
                    info,
                    cwd=context.settings.cwd,
                    variables=dict(options.vars),
                    var_files=[(context.settings.cwd / v).resolve() for v in options.var_files],
                    environ=context.environ,
                    secret_names=set(context.secret_env),
                )
            )
    return {
        build: frozenset(v for v in values if not context.redactor.contains_secret(v))
        for build, values in found.items()
    }


_BUSY_RETRIES = 5


def _retrying_when_busy(register: Callable[[T], R], new: T) -> R:
    """`register(new)`, again after a pause while SQLite reports the file locked at once
    (it does so, without waiting, when a reader must become a writer): one write
    transaction, rolled back whole when it fails, so a retry never registers twice."""
    for attempt in range(_BUSY_RETRIES):
        try:
            return register(new)
        except HybridcoreError as error:
            if error.rule != "registry_busy" or attempt == _BUSY_RETRIES - 1:
                raise
            log.debug("registry busy (%s); retrying", error.message)
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def register_builds(
    registry: Registry,
    context: RunContext,
    *,
    templates: Mapping[Path, TemplateInfo],
    options: BuildOptions,
    current: Mapping[str, HashManifest],
    builds: set[str],
    records: Sequence[ArtifactRecord],
    labels: Mapping[str, str],
) -> list[RegisteredVersion]:
    """Register a version for every build in `builds` (with its inputs and artifacts)."""
    from hybridcore.packer.store.registry.versions import NewVersion

    if not builds & current.keys():
        return []
    candidates = _candidates(context, templates, options)
    git = git_state(context.settings.cwd)
    registered = []
    for build in sorted(builds & current.keys()):
        own = [record for record in records if record.build == build]
        first = own[0].provenance if own else None
        version = _retrying_when_busy(
            registry.register,
            NewVersion(
                build=build,
                source="build",
                records=own,
                inputs=current[build],
                labels=labels,
                command_id=context.settings.command_id,
                git_sha=first.git_sha if first else git.sha,
                git_dirty=first.git_dirty if first else git.dirty,
                packer_version=context.packer.version_text,
                packer_run_uuid=first.packer_run_uuid if first else None,
                started_at=first.started_at if first else None,
                finished_at=first.finished_at if first else None,
                candidates=candidates.get(build, frozenset()),
            ),
        )
        log.info("registered %s (%s) in %s", version.ref, version.version_id, registry.target.shown)
        registered.append(
            RegisteredVersion(
                build=build,
                version_id=version.version_id,
                number=version.number,
                inputs_digest=version.inputs_digest,
                parents=[f"{p.build}@{p.number}" for p in version.parents],
                registry=registry.target.shown,
            )
        )
    return registered


@contextlib.contextmanager
def attempts_noted(
    registry: Registry,
    context: RunContext,
    digests: Mapping[str, str],
    outcome: Callable[[], tuple[Sequence[RunResult], Sequence[RegisteredVersion]]],
) -> Iterator[None]:
    """Note in the registry that this runner starts the builds of `digests` (build ->
    inputs digest); when the block ends, how each ended (`outcome`: the runs and the
    versions registered). A runner killed inside leaves them `running` for the gate."""
    start = partial(
        registry.start_attempts,
        command_id=context.settings.command_id,
        runner=runner_name(context.environ),
    )
    started = _retrying_when_busy(start, digests)
    try:
        yield
    except HybridcoreError as error:
        _finish(registry, started, {}, [], (error.klass.name, error.rule))
        raise
    except BaseException:
        _finish(registry, started, {}, [], (ExitClass.INTERNAL.name, "unexpected_error"))
        raise
    runs, versions = outcome()
    _finish(registry, started, {v.build: v.version_id for v in versions}, runs, None)


def _finish(
    registry: Registry,
    started: Mapping[str, str],
    versions: Mapping[str, str],
    runs: Sequence[RunResult],
    error: tuple[str, str] | None,
) -> None:
    """Each attempt's end; a registry that fails now is logged, never raised over the
    build's own outcome (the attempt stays `running`, which the gate reports)."""
    worst = max(runs, key=lambda r: ExitClass.named(r.classification).severity, default=None)
    for build, attempt_id in started.items():
        own = next((run for run in runs if run.label == build), worst)
        if error is not None:
            classification, rule = error
        elif own is not None:
            classification, rule = own.classification, own.rule
        else:
            classification, rule = ExitClass.INTERNAL.name, "not_run"
        if build not in versions and classification == ExitClass.OK.name:
            rule = "not_registered"
        try:
            finish = partial(
                registry.finish_attempt,
                classification=classification,
                rule=rule,
                version_id=versions.get(build),
            )
            _retrying_when_busy(finish, attempt_id)
        except HybridcoreError as failure:
            log.warning("could not note how %s ended in the registry: %s", build, failure.message)
