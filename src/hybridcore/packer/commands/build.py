"""`build`: ``packer build`` of each target template, as a short list of named steps.

prepare (templates, secret policy) -> options -> inputs (drift, --skip-unchanged) ->
ISO cache -> run (serial, or one process per build with --parallel) -> record
(artifact records, inputs manifests). Every artifact is recorded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from typing_extensions import Unpack

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.result import Result
from hybridcore.packer.base.settings import Settings, SettingsArgs
from hybridcore.packer.commands._build_steps import (
    CachePlan,
    parallel_invocations,
    prepare_cache,
    record_artifacts,
    serial_invocations,
)
from hybridcore.packer.commands._command import Command, execute
from hybridcore.packer.commands._plugins import check_plugins_installed
from hybridcore.packer.commands._prepare import Prepared, check_var_files, prepare
from hybridcore.packer.commands._registration import (
    attempts_noted,
    check_labels,
    open_for,
    register_builds,
)
from hybridcore.packer.commands._skip_unchanged import (
    InputsPlan,
    plan_inputs,
    record_inputs,
    succeeded_builds,
)
from hybridcore.packer.run.options import BuildOptions, check_build_names
from hybridcore.packer.run.parallel import Progress, run_parallel
from hybridcore.packer.run.runner import RunContext
from hybridcore.packer.store.layout import Workdir
from hybridcore.packer.store.log_summaries import retention_policy
from hybridcore.packer.template.facts import Targets

if TYPE_CHECKING:  # SQLAlchemy loads when the registry is opened
    from hybridcore.packer.store.registry.store import Registry

__all__ = ["OWNED_CACHE_DIR", "build"]

OWNED_CACHE_DIR = "hybridcore-iso-cache"


@dataclass(frozen=True)
class _Plan:
    """How the selected builds run: serially, or `parallel` at once; with which cache."""

    parallel: int | None
    fail_fast: bool
    skip_unchanged: bool
    use_cache: bool
    cache_dir: str | os.PathLike[str] | None
    progress: Progress | None


def _check_parallel(parallel: int | None) -> None:
    if parallel is not None and parallel < 1:
        raise HybridcoreError(
            f"--parallel {parallel}: the number of builds at once must be at least 1.",
            klass=ExitClass.CONFIG,
            rule="invalid_option",
            remediation="Use --parallel N with N >= 1 (N builds run at once), or leave it out "
            "to run the template as one packer process.",
        )


def _inputs(
    command: Command,
    context: RunContext,
    prepared: Prepared,
    options: BuildOptions,
    plan: _Plan,
    store: Registry,
) -> InputsPlan:
    """Each selected build's inputs now, its drift, and what --skip-unchanged leaves out."""
    inputs = plan_inputs(
        command.settings,
        context.environ,
        prepared.templates,
        options,
        secret_names=command.secrets.masked_names,
        packer_version=context.packer.version_text,
        skip_unchanged=plan.skip_unchanged,
        registry=store,
        redactor=context.redactor,
    )
    command.drift, command.skipped = inputs.drift, inputs.skipped
    return inputs


def _remaining(options: BuildOptions, inputs: InputsPlan) -> BuildOptions | None:
    """The options for the builds left to run; None when every build was skipped."""
    if not inputs.skipped:
        return options
    skipped = {item.build for item in inputs.skipped}
    remaining = tuple(build for build in sorted(inputs.current) if build not in skipped)
    return replace(options, only=remaining, except_=()) if remaining else None


def _iso_cache(
    settings: Settings,
    context: RunContext,
    prepared: Prepared,
    options: BuildOptions,
    plan: _Plan,
) -> CachePlan | None:
    """The shared ISO cache, every ISO fetched once before any build starts."""
    if not plan.use_cache:
        return None
    # a --cache-dir of the user's gets a subdirectory the tool owns (modes, index.json);
    # the directory itself is never changed
    default = Workdir(settings.workdir).iso_cache_dir
    given = Path(plan.cache_dir) / OWNED_CACHE_DIR if plan.cache_dir else None
    root = settings.cwd / (given or default)
    return prepare_cache(root, settings, context.environ, options, prepared.templates)


def _run(
    command: Command,
    context: RunContext,
    prepared: Prepared,
    options: BuildOptions,
    cache: CachePlan | None,
    plan: _Plan,
) -> None:
    """Run the builds: one packer process, or one per build with --parallel."""
    if cache is not None:
        context = replace(context, cache_dir=cache.view(command.command_dir.cache_view_dir))
    try:
        if plan.parallel is None:
            invocations = serial_invocations(
                command.settings, context.packer, options, prepared.templates
            )
            command.run_all(context, invocations)
            return
        invocations = parallel_invocations(
            command.settings, context.packer, options, prepared.templates, cache
        )
        command.runs = run_parallel(
            context,
            invocations,
            limit=plan.parallel,
            fail_fast=plan.fail_fast,
            progress=plan.progress,
        )
    finally:
        command.cache = cache.summary() if cache else None


def _record(
    command: Command,
    context: RunContext,
    prepared: Prepared,
    options: BuildOptions,
    inputs: InputsPlan,
    store: Registry,
    labels: dict[str, str],
) -> None:
    """Artifact records for what the runs produced; inputs manifests for what succeeded,
    and a registered version per successful build."""
    command.records = record_artifacts(
        command.settings, command.runs, context.packer, context.redactor, inputs.digests()
    )
    done = succeeded_builds(command.runs, prepared.templates, options)
    record_inputs(command.settings, inputs, done, command.records)
    command.versions = register_builds(
        store,
        context,
        templates=prepared.templates,
        options=options,
        current=inputs.current,
        builds=done,
        records=command.records,
        labels=labels,
    )


def build(
    targets: Targets,
    vars: Mapping[str, object] | None = None,
    provisioners: Iterable[str] | None = None,
    *,
    var_files: Iterable[str | os.PathLike[str]] = (),
    only: Iterable[str] = (),
    except_: Iterable[str] = (),
    force: bool = False,
    on_error: str = "cleanup",
    parallel_builds: int | None = None,
    parallel: int | None = None,
    fail_fast: bool = False,
    skip_unchanged: bool = False,
    log_keep_days: int | None = None,
    use_cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    secrets: Iterable[str] = (),
    env_allow: Iterable[str] | None = None,
    progress: Progress | None = None,
    registry: str | None = None,
    labels: Mapping[str, str] | None = None,
    **settings: Unpack[SettingsArgs],
) -> Result:
    """``packer build`` of each target template; records every artifact.

    With `parallel=N`, each selected build runs as its own packer process, at most
    N at once, each in its own working directory (`fail_fast` stops the others at
    the first failure); `progress(build, state)` is called as builds change state.
    `env_allow`: as for `validate`. Each successful build registers a version (with
    `labels`) in the registry at `registry` (default: $HYBRIDCORE_REGISTRY_URL, else
    <workdir>/state/registry.db).
    """
    command = Command("build", Settings.of("build", **settings))
    command.env_allow = tuple(env_allow) if env_allow is not None else None
    environ = dict(os.environ)
    var_files = tuple(var_files)
    plan = _Plan(parallel, fail_fast, skip_unchanged, use_cache, cache_dir, progress)

    def steps() -> None:
        prepared = prepare(command, targets, vars, provisioners, secrets, environ, var_files)
        _check_parallel(plan.parallel)
        options = BuildOptions(
            vars=prepared.variables,
            var_files=check_var_files(var_files, command.settings.cwd),
            only=check_build_names(only, "--only"),
            except_=check_build_names(except_, "--except"),
            force=force,
            on_error=on_error,
            parallel_builds=parallel_builds,
        )
        command.retention = retention_policy(log_keep_days, environ)
        checked_labels = check_labels(labels)
        store = open_for(registry, command.settings.workdir, environ, command.secrets.redactor)
        store.check_writable()
        binary = command.find_packer()
        check_plugins_installed(command.settings, prepared.paths, binary, environ)
        context = command.context(binary, environ)
        inputs = _inputs(command, context, prepared, options, plan, store)
        remaining = _remaining(options, inputs)
        if remaining is None:
            return
        skipped = {item.build for item in inputs.skipped}
        starting = {b: d for b, d in inputs.digests().items() if b not in skipped}
        with attempts_noted(store, context, starting, lambda: (command.runs, command.versions)):
            iso_cache = _iso_cache(command.settings, context, prepared, remaining, plan)
            _run(command, context, prepared, remaining, iso_cache, plan)
            _record(command, context, prepared, remaining, inputs, store, checked_labels)

    return execute(command, steps)
