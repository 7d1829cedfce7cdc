"""Run one planned packer invocation: raw log, environment, retry, classification."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from hybridcore.logs import get_logger
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.result import Artifact, RunResult
from hybridcore.packer.base.settings import Settings
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.run.classify import Classification, classify
from hybridcore.packer.run.environment import child_environment
from hybridcore.packer.run.packer_manifest import artifacts_from_lines, capture_manifest
from hybridcore.packer.run.private_tmp import TEMP, PrivateDir, private_dir
from hybridcore.packer.run.process import ProcessOutcome, Stopper, run_process
from hybridcore.packer.run.rawlog import RawLogPipe
from hybridcore.packer.run.version import PackerBinary
from hybridcore.packer.store.layout import command_dir, plugin_dir
from hybridcore.packer.store.scrub_ledger import ScrubLedger
from hybridcore.packer.store.state_files import atomic_write_text
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.structured import scrub_data

__all__ = ["Invocation", "RunContext", "run_invocation", "run_label"]

MAX_ATTEMPTS = 2
log = get_logger("packer")

_INTERRUPTED = Classification(
    ExitClass.TRANSIENT,
    "interrupted",
    "The run was interrupted (Ctrl-C or SIGTERM) and Packer was asked to clean up; run the "
    "command again when ready. Check the cloud console for resources a forced kill may leave.",
)
_UNSCRUBBED = Classification(
    ExitClass.SECURITY,
    "raw_log_unscrubbed",
    "Packer's debug log could not be written through the scrubber, so it is incomplete "
    "and must not be trusted: make the log directory writable (and check free disk space), "
    "then run again.",
)
_TIMED_OUT = Classification(
    ExitClass.TRANSIENT,
    "timeout",
    "The command did not finish within --timeout (one bound for the whole command, retry "
    "included); a slow mirror or API retries well. If it repeats, raise --timeout or look "
    "in the raw log for the step that hangs.",
)
_DISK_FULL = Classification(
    ExitClass.TRANSIENT,
    "disk_full",
    "No space left for the logs of this run, so it was stopped: free space on the runner "
    "(`hybridcore-packer retention purge`) or run on another runner.",
)
_KILLED = Classification(
    ExitClass.TRANSIENT,
    "packer_killed",
    "Packer was killed by a signal it did not expect (the OOM killer or a preempted runner "
    "does this): check the runner's memory and logs (dmesg); a retry usually succeeds.",
)


@dataclass(frozen=True)
class RunContext:
    """What every packer run of one command shares."""

    settings: Settings
    command: str
    packer: PackerBinary
    redactor: Redactor
    secret_env: Mapping[str, str]
    environ: Mapping[str, str]
    deadline: float | None = None  # time.monotonic() at which --timeout ends the command
    cache_dir: Path | None = None  # the shared ISO cache's view; None: a private one per attempt
    stopper: Stopper = field(default_factory=Stopper)
    ledger: ScrubLedger = field(default_factory=ScrubLedger)
    env_allow: tuple[str, ...] | None = None  # None: the whole caller environment
    declared_vars: frozenset[str] = frozenset()

    def remaining(self) -> float | None:
        """Seconds left of --timeout (never below a tick), None without one."""
        if self.deadline is None:
            return None
        return max(self.deadline - time.monotonic(), 0.01)


@dataclass(frozen=True)
class Invocation:
    """One packer process to run (and retry once if it fails transiently)."""

    label: str
    target: str
    argv: list[str]
    machine_readable: bool = False
    manifest_outputs: tuple[Path, ...] = ()
    cwd: Path | None = None  # default: the command's
    cache_dir: Path | None = None  # default: the command's


def run_label(path: Path, only: tuple[str, ...]) -> str:
    """Log prefix of a run: the build name when exactly one is selected, else the template."""
    if len(only) == 1 and "*" not in only[0]:
        return only[0]
    return path.name or str(path)


def _classify(command: str, outcome: ProcessOutcome) -> Classification:
    if outcome.interrupted:
        return _INTERRUPTED
    if outcome.timed_out:
        return _TIMED_OUT
    if outcome.returncode is not None and outcome.returncode < 0:
        return replace(_KILLED, evidence=f"packer ended by signal {-outcome.returncode}")
    return classify(command, outcome.returncode, outcome.failure_text)


def _cache_dir(context: RunContext, inv: Invocation, private: Path) -> Path:
    """The invocation's cache view, the command's, or an empty one that ends with the attempt."""
    chosen = inv.cache_dir or context.cache_dir or private / "cache"
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def _harvest_crash_log(
    context: RunContext, cwd: Path, destination: Path, started: float
) -> str | None:
    """Move a crash.log Packer wrote during this attempt into the run's log directory,
    scrubbed (it holds Packer's full debug log), so runs never overwrite each other's."""
    crash = cwd / "crash.log"  # where Packer writes it
    try:
        if crash.stat().st_mtime < started:
            return None
        text = crash.read_text(encoding="utf-8", errors="backslashreplace")
        counts: Counter[str] = Counter()
        atomic_write_text(destination, context.redactor.scrub(text, counts))
        context.ledger.note(destination, counts)
        crash.unlink()
    except OSError:
        return None
    return f"packer crashed; its crash log is in {destination}"


def _attempt(context: RunContext, inv: Invocation, raw_log: Path) -> ProcessOutcome:
    started = time.time()
    with private_dir() as private:
        outcome = _attempt_in(context, inv, raw_log, private)
    crashed = _harvest_crash_log(
        context,
        inv.cwd or context.settings.cwd,
        command_dir(context.settings).crash_log_file(inv.label),
        started,
    )
    if crashed:
        outcome.warnings.append(crashed)
    return outcome


def _attempt_in(
    context: RunContext, inv: Invocation, raw_log: Path, owned: PrivateDir
) -> ProcessOutcome:
    private = owned.path
    (private / TEMP).mkdir()
    with RawLogPipe(raw_log, context.redactor, private) as pipe:
        env = child_environment(
            context.environ,
            log_path=pipe.path,
            hybridcore_env=context.settings.env,
            cache_dir=_cache_dir(context, inv, private),
            secrets=context.secret_env,
            temp_dir=private / TEMP,
            plugin_dir=plugin_dir(context.settings),
            allowed=context.env_allow,
            declared=context.declared_vars,
        )
        try:
            outcome = run_process(
                inv.argv,
                env=env,
                cwd=inv.cwd or context.settings.cwd,
                redactor=context.redactor,
                label=inv.label,
                command_id=context.settings.command_id,
                timeout=context.remaining(),
                kill_after=context.settings.kill_after,
                machine_readable=inv.machine_readable,
                stopper=context.stopper,
                on_start=owned.note_child,
                pass_fds=(owned.lock_fd,),
            )
        except OSError as exc:
            raise HybridcoreError(
                f"could not start {inv.argv[0]}: {exc.strerror}.",
                klass=ExitClass.CONFIG,
                rule="packer_not_runnable",
                remediation="Check that --packer names an executable file you may run.",
            ) from exc
    if pipe.error:
        outcome.warnings.append(f"raw log incomplete: {pipe.error}")
        outcome.unscrubbed_log = pipe.error
        outcome.disk_full = pipe.disk_full
    context.ledger.note(raw_log, pipe.counts, pipe.sha256.hexdigest() if not pipe.error else None)
    context.ledger.note(command_dir(context.settings).tool_log_file, outcome.scrubbed)
    return outcome


def _real_paths(artifacts: list[Artifact], workspace: Path | None) -> list[Artifact]:
    """Artifact files reached through a build's workspace mirror, as their real paths."""
    if workspace is None:
        return artifacts
    resolved = []
    for artifact in artifacts:
        files = []
        for name in artifact.files:
            path = Path(name) if Path(name).is_absolute() else workspace / name
            files.append(str(path.resolve()) if path.is_relative_to(workspace) else name)
        resolved.append(artifact.model_copy(update={"files": files}))
    return resolved


def run_invocation(context: RunContext, inv: Invocation) -> RunResult:
    """Run `inv`, retrying once on a transient failure, and describe what happened."""
    files = command_dir(context.settings)
    log_paths: list[str] = []
    outcome: ProcessOutcome | None = None
    verdict = _INTERRUPTED
    attempt = 0
    started = time.time()
    first_started_at = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        raw_log = files.raw_log_file(inv.label, attempt)
        log_paths.append(str(raw_log))
        outcome = _attempt(context, inv, raw_log)
        first_started_at = first_started_at or outcome.started_at
        for warning in outcome.warnings:
            log.warning(warning, extra={"prefix": inv.label})
        verdict = _classify(context.command, outcome)
        if outcome.unscrubbed_log:
            verdict = _DISK_FULL if outcome.disk_full else _UNSCRUBBED
        stopping = outcome.interrupted or context.stopper.requested.is_set()
        out_of_time = context.deadline is not None and time.monotonic() >= context.deadline
        if not verdict.retryable or stopping or out_of_time or attempt == MAX_ATTEMPTS:
            break
        log.warning(
            "transient failure (%s): retrying once", verdict.rule, extra={"prefix": inv.label}
        )
    assert outcome is not None and first_started_at is not None

    manifest_path = None
    for index, source in enumerate(inv.manifest_outputs):
        destination = files.manifest_copy_file(inv.label, index)
        counts: Counter[str] = Counter()
        if capture_manifest(source, destination, started - 1, context.redactor, counts):
            manifest_path = manifest_path or str(destination)
            context.ledger.note(destination, counts)

    remediation = verdict.remediation
    if verdict.retryable and attempt > 1:
        remediation = f"Failed {attempt} times; escalate. {remediation}"
    return RunResult(
        label=inv.label,
        target=inv.target,
        argv=inv.argv,
        exit_code=verdict.exit_code,
        classification=verdict.klass,  # type: ignore[arg-type]
        rule=verdict.rule,
        evidence=verdict.evidence,
        remediation=remediation,
        retryable=verdict.retryable,
        attempts=attempt,
        packer_exit_code=outcome.returncode,
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        stdout_truncated=outcome.stdout_truncated,
        stderr_truncated=outcome.stderr_truncated,
        timed_out=outcome.timed_out,
        interrupted=outcome.interrupted,
        manifest_path=manifest_path,
        artifacts=[
            Artifact.model_validate(scrub_data(artifact.model_dump(), context.redactor))
            for artifact in _real_paths(artifacts_from_lines(outcome.artifact_lines), inv.cwd)
        ],
        log_paths=[p for p in log_paths if Path(p).exists()],
        workspace=str(inv.cwd) if inv.cwd else None,
        started_at=rfc3339(first_started_at),
        finished_at=rfc3339(outcome.finished_at),
        duration_s=round((outcome.finished_at - first_started_at).total_seconds(), 3),
    )
