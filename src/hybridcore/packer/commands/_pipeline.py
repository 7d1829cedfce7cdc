"""fmt, validate and build: plan the packer invocations, run them, combine the result.

Every command returns a `Result`, failures and refusals included; nothing here
prints. Checks that need no Packer (paths, names, the secret policy) run first,
so a refused command never starts a packer process.
"""

from __future__ import annotations

import os
import secrets as token_source
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hybridcore.logs import command_context, get_logger, register_redactor
from hybridcore.packer.base.artifact_record import ArtifactRecord
from hybridcore.packer.base.build_drift import BuildDrift
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.registered_version import RegisteredVersion
from hybridcore.packer.base.result import Result, RunResult, severity
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.commands._build_steps import (
    parallel_invocations,
    prepare_cache,
    record_artifacts,
    run_label,
    serial_invocations,
)
from hybridcore.packer.commands._registration import check_labels, open_for, register_builds
from hybridcore.packer.commands._skip_unchanged import plan_inputs, record_inputs, succeeded_builds
from hybridcore.packer.run.argv import fmt_argv, validate_argv
from hybridcore.packer.run.options import (
    BuildOptions,
    FmtOptions,
    ValidateOptions,
    check_build_names,
    freeze_vars,
)
from hybridcore.packer.run.parallel import Progress, run_parallel
from hybridcore.packer.run.runner import Invocation, Session, run_invocation
from hybridcore.packer.run.version import PackerBinary, locate_packer, version_cache
from hybridcore.packer.store.log_summaries import ScrubLedger, retention_policy, write_log_summaries
from hybridcore.packer.store.state_files import atomic_write_text, clean_stale_temp_files, safe_name
from hybridcore.packer.template.facts import (
    Targets,
    TemplateInfo,
    read_template,
    resolve_targets,
    toggle_variables,
)
from hybridcore.packer.template.secret_policy import (
    SecretSet,
    check_command_line_vars,
    check_stored_credentials,
    collect_secrets,
)
from hybridcore.redaction.engine import Redactor

__all__ = ["build", "fmt", "new_command_id", "validate"]

log = get_logger("packer")

_SKIPPED_DIRS = {"packer_cache", "node_modules", "__pycache__"}


def new_command_id() -> str:
    """Sortable and unique: UTC time plus 32 random bits."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{token_source.token_hex(4)}"


def _config_error(message: str, remediation: str, rule: str) -> HybridcoreError:
    return HybridcoreError(message, exit_code=1, rule=rule, remediation=remediation)


def _resolve_targets(targets: Targets, cwd: Path, workdir: Path) -> list[Path]:
    if workdir.exists() and not workdir.is_dir():
        raise _unwritable(workdir, NotADirectoryError(20, "not a directory", str(workdir)))
    return resolve_targets(targets, cwd)


def _check_var_files(var_files: Iterable[str | os.PathLike[str]], cwd: Path) -> tuple[str, ...]:
    files = tuple(str(path) for path in var_files)
    for path in files:
        if not (cwd / path).is_file():
            raise _config_error(
                f"var file '{path}' does not exist.",
                "Pass an existing .pkrvars.hcl (or .json) file with --var-file.",
                "var_file_missing",
            )
    return files


def _check_var_values(variables: Mapping[str, str], secret_set: SecretSet) -> None:
    for name, value in sorted(variables.items()):
        if secret_set.redactor.contains_secret(value):
            raise HybridcoreError(
                f"refusing --var {name}=...: its value holds a secret value.",
                exit_code=3,
                rule="secret_on_command_line",
                remediation="Read the secret in the template with env() and a sensitive "
                "variable instead of passing it on the command line.",
            )


class _Command:
    """State of one command while it runs; `finish` turns it into a Result."""

    def __init__(
        self,
        command: str,
        *,
        workdir: str | os.PathLike[str] | None,
        env: str,
        cwd: str | os.PathLike[str] | None,
        command_id: str | None,
    ) -> None:
        self.command = command
        self.command_id = command_id or new_command_id()
        self.started_at = datetime.now(UTC)
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.workdir = (self.cwd / Path(workdir)) if workdir is not None else self.cwd
        self.env = env
        self.targets: list[str] = []
        self.packer: PackerBinary | None = None
        self.secrets = SecretSet(env={}, redactor=Redactor())
        self.runs: list[RunResult] = []
        self.records: list[ArtifactRecord] = []
        self.cache: dict[str, Any] | None = None
        self.drift: list[BuildDrift] = []
        self.skipped: list[BuildDrift] = []
        self.versions: list[RegisteredVersion] = []
        self.ledger = ScrubLedger()
        clean_stale_temp_files(self.workdir)
        self.retention: dict[str, Any] | None = None  # set by build: log summaries wanted

    def session(
        self,
        packer: PackerBinary,
        *,
        environ: Mapping[str, str],
        cache_dir: Path | None,
        timeout: float | None,
        kill_after: float,
    ) -> Session:
        return Session(
            command=self.command,
            command_id=self.command_id,
            workdir=self.workdir,
            env_name=self.env,
            packer=packer,
            redactor=self.secrets.redactor,
            secret_env=self.secrets.env,
            cache_dir=cache_dir,
            cwd=self.cwd,
            base_environ=environ,
            timeout=timeout,
            kill_after=kill_after,
            ledger=self.ledger,
        )

    def run_all(self, session: Session, invocations: list[Invocation]) -> None:
        try:
            for invocation in _unique_labels(invocations):
                run = run_invocation(session, invocation)
                self.runs.append(run)
                if run.interrupted:
                    break
        finally:
            session.cleanup()

    def finish(self, error: HybridcoreError | None = None) -> Result:
        finished_at = datetime.now(UTC)
        log_dir = self.workdir / "logs" / "packer" / self.command_id
        primary = max(self.runs, key=lambda run: severity(run.exit_code), default=None)
        if error is not None:
            exit_code, klass, rule = error.exit_code, _class_of(error.exit_code), error.rule
            remediation, message = error.remediation, f"{self.command}: {error.message}"
        elif primary is None:
            exit_code, klass, rule, remediation = 0, "ok", "nothing_to_do", None
            message = f"{self.command}: nothing to do."
            if self.skipped:
                rule = "up_to_date"
                message = (
                    f"{self.command}: every selected build is up to date, none started: "
                    + "; ".join(item.message for item in self.skipped)
                )
        else:
            exit_code, klass, rule = primary.exit_code, primary.classification, primary.rule
            remediation, message = primary.remediation, self._summary(primary)
        result = Result(
            command=self.command,  # type: ignore[arg-type]
            command_id=self.command_id,
            env=self.env,
            exit_code=exit_code,
            classification=klass,  # type: ignore[arg-type]
            rule=rule,
            remediation=remediation,
            retryable=klass == "transient",
            message=message,
            argv=primary.argv if primary else [],
            attempts=primary.attempts if primary else 0,
            packer_version=self.packer.version_text if self.packer else None,
            packer_exit_code=primary.packer_exit_code if primary else None,
            stdout=primary.stdout if primary else "",
            stderr=primary.stderr if primary else "",
            manifest_path=next((r.manifest_path for r in self.runs if r.manifest_path), None),
            artifacts=[artifact for run in self.runs for artifact in run.artifacts],
            records=self.records,
            cache=self.cache,
            drift=self.drift,
            skipped=self.skipped,
            versions=self.versions,
            secrets=self.secrets.names,
            log_paths=[path for run in self.runs for path in run.log_paths],
            result_path=str(log_dir / "result.json"),
            workdir=str(self.workdir),
            targets=self.targets,
            started_at=rfc3339(self.started_at),
            finished_at=rfc3339(finished_at),
            duration_s=round((finished_at - self.started_at).total_seconds(), 3),
            runs=self.runs,
        )
        try:
            counts: Counter[str] = Counter()
            text = self.secrets.redactor.scrub(result.to_json(), counts)
            atomic_write_text(log_dir / "result.json", text)
            self.ledger.note(log_dir / "result.json", counts)
            scrub_manifest = self.ledger.write(log_dir, self.command_id)
            if self.retention is not None:
                write_log_summaries(
                    self.workdir,
                    command_id=self.command_id,
                    builds=self._build_facts(),
                    policy=self.retention,
                    scrub_manifest=scrub_manifest,
                    result_path=result.result_path,
                )
        except OSError as exc:
            log.error("could not store the result in %s: %s", log_dir, exc.strerror)
            result = result.model_copy(update={"result_path": None})
        except HybridcoreError as exc:
            result = result.model_copy(
                update={
                    "exit_code": exc.exit_code,
                    "classification": _class_of(exc.exit_code),
                    "rule": exc.rule,
                    "remediation": exc.remediation,
                    "retryable": exc.exit_code == 2,
                    "message": f"{result.message} Then: {exc.message}",
                }
            )
        return result

    def _build_facts(self) -> dict[str, dict[str, Any]]:
        """Per build of this command: what its log summary records."""
        facts: dict[str, dict[str, Any]] = {}
        names = [item.build for item in self.drift] or [run.label for run in self.runs]
        skipped = {item.build for item in self.skipped}
        for build in names:
            if build in skipped:
                continue
            run = next((r for r in self.runs if r.label == build), None) or next(
                (r for r in self.runs if r.workspace is None), None
            )
            if run is None:
                continue
            facts[build] = {
                "exit_code": run.exit_code,
                "classification": run.classification,
                "artifact_ids": [r.artifact_id for r in self.records if r.build == build],
                "manifest_path": run.manifest_path,
                "raw_logs": run.log_paths,
            }
        return facts

    def _summary(self, primary: RunResult) -> str:
        what = f"{self.command} of {', '.join(self.targets)}"
        if primary.exit_code == 0:
            count = sum(len(run.artifacts) for run in self.runs)
            tail = f", {count} artifact(s)" if self.command == "build" else ""
            took = (datetime.now(UTC) - self.started_at).total_seconds()
            return f"{what} succeeded in {took:.1f} s{tail}."
        evidence = f" Packer said: {primary.evidence}" if primary.evidence else ""
        raw_log = primary.log_paths[-1] if primary.log_paths else "-"
        return (
            f"{what} failed ({primary.classification}: {primary.rule}, packer exit status "
            f"{primary.packer_exit_code}, {primary.attempts} attempt(s)).{evidence} "
            f"{primary.remediation} Raw log: {raw_log}"
        )


def _unique_labels(invocations: list[Invocation]) -> list[Invocation]:
    """Runs whose labels give the same directory name (two `main.pkr.hcl` in different
    directories, `a/b` and `a_b`) get numbered labels, so each keeps its own logs."""
    used: set[str] = set()
    unique = []
    for invocation in invocations:
        label, count = invocation.label, 1
        while safe_name(label) in used:
            count += 1
            label = f"{invocation.label}-{count}"
        used.add(safe_name(label))
        unique.append(replace(invocation, label=label) if count > 1 else invocation)
    return unique


def _unwritable(workdir: Path, exc: OSError) -> HybridcoreError:
    return HybridcoreError(
        f"cannot write under --workdir {workdir}: {exc.strerror or exc} "
        f"({exc.filename or 'a record or log'}).",
        exit_code=1,
        rule="workdir_unwritable",
        remediation="Make --workdir an existing, writable directory with free space; records "
        "are written atomically, so nothing partial was left behind.",
    )


def _class_of(exit_code: int) -> str:
    return {0: "ok", 1: "config", 2: "transient", 3: "security"}[exit_code]


def _hcl_dirs(root: Path) -> list[Path]:
    """Directories under `root` holding HCL2 files, for `fmt -recursive` on Packer < 1.7."""
    found = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
        if any(name.endswith((".pkr.hcl", ".pkrvars.hcl")) for name in files):
            found.append(Path(current))
    return found


def fmt(
    targets: Targets,
    *,
    check: bool = False,
    recursive: bool = False,
    diff: bool = False,
    write: bool = True,
    workdir: str | os.PathLike[str] | None = None,
    env: str = "dev",
    packer: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    kill_after: float = 120.0,
    command_id: str | None = None,
) -> Result:
    """``packer fmt`` over each target; `recursive` works on every Packer version."""
    state = _Command("fmt", workdir=workdir, env=env, cwd=cwd, command_id=command_id)
    with command_context(state.command_id):
        try:
            paths = _resolve_targets(targets, state.cwd, state.workdir)
            state.targets = [str(path) for path in paths]
            options = FmtOptions(check=check, recursive=recursive, diff=diff, write=write)
            state.packer = binary = locate_packer(packer, cache=version_cache(state.workdir))
            invocations = []
            for path in paths:
                walk = recursive and not binary.at_least(1, 7) and (state.cwd / path).is_dir()
                for target in _hcl_dirs(state.cwd / path) if walk else [path]:
                    shown = os.path.relpath(target, state.cwd) if walk else str(target)
                    argv = fmt_argv(binary, options, shown)
                    invocations.append(Invocation(label=shown, target=shown, argv=argv))
            session = state.session(
                binary, environ=os.environ, cache_dir=None, timeout=timeout, kill_after=kill_after
            )
            state.run_all(session, invocations)
        except HybridcoreError as error:
            return state.finish(error)
        except OSError as exc:
            return state.finish(_unwritable(state.workdir, exc))
        return state.finish()


def _prepare(
    state: _Command,
    targets: Targets,
    variables: Mapping[str, object] | None,
    provisioners: Iterable[str] | None,
    secrets: Iterable[str],
    environ: Mapping[str, str],
    var_files: Iterable[str | os.PathLike[str]] = (),
) -> tuple[list[Path], dict[Path, TemplateInfo], tuple[tuple[str, str], ...]]:
    """Targets, template facts and the variables to pass, after the secret policy."""
    paths = _resolve_targets(targets, state.cwd, state.workdir)
    state.targets = [str(path) for path in paths]
    frozen = freeze_vars(variables)
    templates = {path: read_template(state.cwd / path) for path in paths}
    merged = TemplateInfo(
        files=(),
        variables={k: v for t in templates.values() for k, v in t.variables.items()},
    )
    check_command_line_vars((name for name, _ in frozen), merged)
    auto = [
        f
        for p in paths
        if (state.cwd / p).is_dir()
        for f in (state.cwd / p).glob("*.auto.pkrvars.*")
    ]
    given = [state.cwd / path for path in var_files if (state.cwd / path).is_file()]
    check_stored_credentials(templates.values(), [*sorted(auto), *given])
    state.secrets = collect_secrets(secrets, templates.values(), environ)
    register_redactor(state.secrets.redactor)
    _check_var_values(dict(frozen), state.secrets)
    toggles = freeze_vars(toggle_variables(provisioners, templates.values()))
    explicit = {name for name, _ in frozen}
    combined = tuple(sorted(frozen + tuple(p for p in toggles if p[0] not in explicit)))
    return paths, templates, combined


def validate(
    targets: Targets,
    vars: Mapping[str, object] | None = None,
    *,
    var_files: Iterable[str | os.PathLike[str]] = (),
    only: Iterable[str] = (),
    except_: Iterable[str] = (),
    syntax_only: bool = False,
    secrets: Iterable[str] = (),
    workdir: str | os.PathLike[str] | None = None,
    env: str = "dev",
    packer: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    kill_after: float = 120.0,
    command_id: str | None = None,
) -> Result:
    """``packer validate`` of each target template."""
    state = _Command("validate", workdir=workdir, env=env, cwd=cwd, command_id=command_id)
    environ = dict(os.environ)
    var_files = tuple(var_files)
    with command_context(state.command_id):
        try:
            paths, _, variables = _prepare(state, targets, vars, None, secrets, environ, var_files)
            options = ValidateOptions(
                vars=variables,
                var_files=_check_var_files(var_files, state.cwd),
                only=check_build_names(only, "--only"),
                except_=check_build_names(except_, "--except"),
                syntax_only=syntax_only,
            )
            state.packer = binary = locate_packer(packer, cache=version_cache(state.workdir))
            invocations = [
                Invocation(
                    label=run_label(path, options.only),
                    target=str(path),
                    argv=validate_argv(binary, options, str(path)),
                )
                for path in paths
            ]
            session = state.session(
                binary, environ=environ, cache_dir=None, timeout=timeout, kill_after=kill_after
            )
            state.run_all(session, invocations)
        except HybridcoreError as error:
            return state.finish(error)
        except OSError as exc:
            return state.finish(_unwritable(state.workdir, exc))
        return state.finish()


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
    workdir: str | os.PathLike[str] | None = None,
    env: str = "dev",
    packer: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    kill_after: float = 120.0,
    command_id: str | None = None,
    progress: Progress | None = None,
    registry: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Result:
    """``packer build`` of each target template; records every artifact.

    With `parallel=N`, each selected build runs as its own packer process, at most
    N at once, each in its own working directory (`fail_fast` stops the others at
    the first failure); `progress(build, state)` is called as builds change state.
    Each successful build registers a version (with `labels`) in the registry at
    `registry` (default: $HYBRIDCORE_REGISTRY_URL, else <workdir>/state/registry.db).
    """
    state = _Command("build", workdir=workdir, env=env, cwd=cwd, command_id=command_id)
    environ = dict(os.environ)
    var_files = tuple(var_files)
    with command_context(state.command_id):
        try:
            _, templates, variables = _prepare(
                state, targets, vars, provisioners, secrets, environ, var_files
            )
            if parallel is not None and parallel < 1:
                raise _config_error(
                    f"--parallel {parallel}: the number of builds at once must be at least 1.",
                    "Use --parallel N with N >= 1 (N builds run at once), or leave it out to "
                    "run the template as one packer process.",
                    "invalid_option",
                )
            options = BuildOptions(
                vars=variables,
                var_files=_check_var_files(var_files, state.cwd),
                only=check_build_names(only, "--only"),
                except_=check_build_names(except_, "--except"),
                force=force,
                on_error=on_error,
                parallel_builds=parallel_builds,
            )
            state.retention = retention_policy(log_keep_days, environ)
            checked_labels = check_labels(labels)
            store = open_for(registry, state.workdir, environ, state.secrets.redactor)
            store.check_writable()
            state.packer = binary = locate_packer(packer, cache=version_cache(state.workdir))
            session = state.session(
                binary, environ=environ, cache_dir=None, timeout=timeout, kill_after=kill_after
            )
            inputs = plan_inputs(
                session,
                templates,
                options,
                secret_names=set(state.secrets.env),
                packer_version=binary.version_text,
                skip_unchanged=skip_unchanged,
                registry=store,
            )
            state.drift, state.skipped = inputs.drift, inputs.skipped
            if inputs.skipped:
                skipped = {item.build for item in inputs.skipped}
                remaining = tuple(b for b in sorted(inputs.current) if b not in skipped)
                if not remaining:
                    return state.finish()
                options = replace(options, only=remaining, except_=())
            cache = None
            if use_cache:
                root = state.cwd / (
                    Path(cache_dir) if cache_dir else state.workdir / "packer_cache"
                )
                cache = prepare_cache(root, session, options, templates)
                session.cache_dir = cache.view(session.log_dir / "cache")
            try:
                if parallel is not None:
                    invocations = parallel_invocations(session, binary, options, templates, cache)
                    state.runs = run_parallel(
                        session,
                        invocations,
                        limit=parallel,
                        fail_fast=fail_fast,
                        progress=progress,
                    )
                else:
                    state.run_all(session, serial_invocations(session, binary, options, templates))
            finally:
                session.cleanup()
                state.cache = cache.summary() if cache else None
            state.records = record_artifacts(session, state.runs, binary, inputs.digests())
            succeeded = succeeded_builds(state.runs, templates, options)
            record_inputs(session, inputs, succeeded, state.records)
            state.versions = register_builds(
                store,
                session,
                templates=templates,
                options=options,
                current=inputs.current,
                builds=succeeded,
                records=state.records,
                labels=checked_labels,
            )
        except HybridcoreError as error:
            return state.finish(error)
        except OSError as exc:
            return state.finish(_unwritable(state.workdir, exc))
        return state.finish()
