"""One command while it runs: the state every step adds to, and the `Result` it becomes.

`execute` runs a command's steps and turns any refusal into a result; every command
(`fmt`, `validate`, `build`) is a short list of named steps inside it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hybridcore.logs import command_context, get_logger, record_traceback
from hybridcore.packer.base.artifact_record import ArtifactRecord
from hybridcore.packer.base.build_drift import BuildDrift
from hybridcore.packer.base.errors import HybridcoreError, disk_full_error, is_disk_full
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.registered_version import RegisteredVersion
from hybridcore.packer.base.result import Result, RunResult
from hybridcore.packer.base.settings import Settings
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.commands._workdir import open_workdir
from hybridcore.packer.run.runner import Invocation, RunContext, run_invocation
from hybridcore.packer.run.version import PackerBinary, locate_packer
from hybridcore.packer.store.layout import Workdir, safe_name
from hybridcore.packer.store.log_summaries import write_log_summaries
from hybridcore.packer.store.scrub_ledger import ScrubLedger
from hybridcore.packer.store.state_files import atomic_write_text
from hybridcore.packer.template.secret_policy import SecretSet
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.structured import scrub_data

__all__ = ["Command", "execute", "unwritable"]

log = get_logger("packer")


class Command:
    """State of one command while it runs; `finish` turns it into a Result."""

    def __init__(self, command: str, settings: Settings) -> None:
        self.command = command
        self.settings = settings
        self.layout = Workdir(settings.workdir)
        self.command_dir = self.layout.command(settings.command_id)
        self.started_at = datetime.now(UTC)
        self.clock = time.monotonic()  # --timeout counts from here
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
        self.retention: dict[str, Any] | None = None  # set by build: log summaries wanted
        self.env_allow: tuple[str, ...] | None = None  # --env-allow: None passes everything
        self.declared: frozenset[str] = frozenset()  # variables the templates declare

    def find_packer(self) -> PackerBinary:
        """The command's Packer (its version remembered per workdir), kept on the command."""
        self.packer = locate_packer(self.settings.packer, cache=self.layout.version_cache_file)
        return self.packer

    def context(self, packer: PackerBinary, environ: Mapping[str, str]) -> RunContext:
        """What the packer runs of this command share."""
        timeout = self.settings.timeout
        return RunContext(
            settings=self.settings,
            command=self.command,
            packer=packer,
            redactor=self.secrets.redactor,
            secret_env=self.secrets.env,
            environ=environ,
            deadline=self.clock + timeout if timeout else None,
            ledger=self.ledger,
            env_allow=self.env_allow,
            declared_vars=self.declared,
        )

    def run_all(self, context: RunContext, invocations: list[Invocation]) -> None:
        """Run `invocations` one after the other; stop after an interrupted one."""
        for invocation in _unique_labels(invocations):
            run = run_invocation(context, invocation)
            self.runs.append(run)
            if run.interrupted:
                break

    def internal_error(self, exc: Exception) -> HybridcoreError:
        """`exc` as class internal; its traceback goes to the log file, never the console."""
        try:
            where: Path | None = record_traceback(exc, self.command_dir.path)
        except OSError:
            where = None
        return HybridcoreError.internal(exc, where)

    def finish(self, error: HybridcoreError | None = None, *, keep: bool = True) -> Result:
        """The command's Result; stored (result.json, scrub.json, log summaries) unless not
        `keep`, as for a workdir that may not be written to."""
        finished_at = datetime.now(UTC)
        log_dir = self.command_dir.path
        primary = max(
            self.runs, key=lambda run: ExitClass.named(run.classification).severity, default=None
        )
        if error is not None:
            klass, rule = error.klass, error.rule
            remediation, message = error.remediation, f"{self.command}: {error.message}"
        elif primary is None:
            klass, rule, remediation = ExitClass.OK, "nothing_to_do", None
            message = f"{self.command}: nothing to do."
            if self.skipped:
                rule = "up_to_date"
                message = (
                    f"{self.command}: every selected build is up to date, none started: "
                    + "; ".join(item.message for item in self.skipped)
                )
        else:
            klass, rule = ExitClass.named(primary.classification), primary.rule
            remediation, message = primary.remediation, self._summary(primary)
        result = Result(
            command=self.command,  # type: ignore[arg-type]
            command_id=self.settings.command_id,
            env=self.settings.env,
            exit_code=klass.code,
            classification=klass.name,  # type: ignore[arg-type]
            rule=rule,
            evidence=primary.evidence if primary and error is None else None,
            remediation=remediation,
            retryable=klass.retryable,
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
            inherited_secrets=self.secrets.inherited_names,
            weak_secrets=list(self.secrets.weak),
            log_paths=[path for run in self.runs for path in run.log_paths],
            result_path=str(self.command_dir.result_file),
            workdir=str(self.settings.workdir),
            targets=self.targets,
            started_at=rfc3339(self.started_at),
            finished_at=rfc3339(finished_at),
            duration_s=round((finished_at - self.started_at).total_seconds(), 3),
            runs=self.runs,
        )
        # scrubbed as data, so the --json output and result.json are the same valid JSON
        counts: Counter[str] = Counter()
        result = Result.model_validate(
            scrub_data(result.model_dump(mode="json"), self.secrets.redactor, counts)
        )
        if not keep:
            return result.model_copy(update={"result_path": None})
        try:
            atomic_write_text(self.command_dir.result_file, result.to_json())
            self.ledger.note(self.command_dir.result_file, counts)
            scrub_manifest = self.ledger.write(self.command_dir, self.settings.command_id)
            if self.retention is not None:
                write_log_summaries(
                    self.settings.workdir,
                    command_id=self.settings.command_id,
                    builds=self._build_facts(),
                    policy=self.retention,
                    scrub_manifest=scrub_manifest,
                    result_path=result.result_path,
                    redactor=self.secrets.redactor,
                )
        except OSError as exc:
            log.error("could not store the result in %s: %s", log_dir, exc.strerror)
            result = result.model_copy(update={"result_path": None})
            if is_disk_full(exc) and result.exit_code == 0:
                full = disk_full_error(log_dir, exc)
                result = result.model_copy(
                    update={
                        "exit_code": full.klass.code,
                        "classification": full.klass.name,
                        "rule": full.rule,
                        "remediation": full.remediation,
                        "retryable": full.klass.retryable,
                        "message": f"{result.message} Then: {full.message}",
                    }
                )
        except HybridcoreError as exc:
            result = result.model_copy(
                update={
                    "exit_code": exc.klass.code,
                    "classification": exc.klass.name,
                    "rule": exc.rule,
                    "remediation": exc.remediation,
                    "retryable": exc.klass.retryable,
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
            count = len(_distinct_artifacts(self.runs))
            tail = f", {count} artifact(s)" if self.command == "build" else ""
            took = (datetime.now(UTC) - self.started_at).total_seconds()
            return f"{what} succeeded in {took:.1f} s{tail}."
        evidence = f' Packer said: "{primary.evidence}".' if primary.evidence else ""
        raw_log = primary.log_paths[-1] if primary.log_paths else "-"
        return (
            f"{what} failed ({primary.classification}: {primary.rule}, packer exit status "
            f"{primary.packer_exit_code}, {primary.attempts} attempt(s)).{evidence} "
            f"{primary.remediation} Raw log: {raw_log}"
        )


def _distinct_artifacts(runs: list[RunResult]) -> set[tuple[object, ...]]:
    """Artifacts as a person counts them: a post-processor that passes an artifact on
    (e.g. `manifest`) makes Packer report it again under the next index."""
    return {
        (artifact.build, artifact.builder_id, artifact.id, tuple(artifact.files))
        for run in runs
        for artifact in run.artifacts
    }


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


def unwritable(workdir: Path, exc: OSError) -> HybridcoreError:
    if is_disk_full(exc):
        return disk_full_error(workdir, exc)
    return HybridcoreError(
        f"cannot write under --workdir {workdir}: {exc.strerror or exc} "
        f"({exc.filename or 'a record or log'}).",
        klass=ExitClass.CONFIG,
        rule="workdir_unwritable",
        remediation="Make --workdir an existing, writable directory with free space; records "
        "are written atomically, so nothing partial was left behind.",
    )


def execute(command: Command, steps: Callable[[], None]) -> Result:
    """Run `steps` for `command`; a refusal, an unwritable workdir or a bug (class
    internal) becomes the result."""
    with command_context(command.settings.command_id):
        try:
            open_workdir(command.settings.workdir)
        except HybridcoreError as error:
            return command.finish(error, keep=False)  # never written through a link out
        try:
            steps()
        except HybridcoreError as error:
            return command.finish(error)
        except OSError as exc:
            return command.finish(unwritable(command.settings.workdir, exc))
        except Exception as exc:  # a bug: still a Result, with the traceback in the log
            return command.finish(command.internal_error(exc))
        return command.finish()
