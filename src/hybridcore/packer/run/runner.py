"""Run one planned packer invocation: raw log, environment, retry, classification."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hybridcore.logs import LOG_FILE_NAME, get_logger
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.result import Artifact, RunResult
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.run.classify import Classification, classify
from hybridcore.packer.run.environment import child_environment
from hybridcore.packer.run.packer_manifest import artifacts_from_lines, capture_manifest
from hybridcore.packer.run.private_tmp import PrivateDir, private_dir
from hybridcore.packer.run.process import ProcessOutcome, Stopper, run_process
from hybridcore.packer.run.rawlog import RawLogPipe
from hybridcore.packer.run.version import PackerBinary
from hybridcore.packer.store.log_summaries import ScrubLedger
from hybridcore.packer.store.state_files import atomic_write_text, safe_name
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.structured import scrub_data

__all__ = ["Invocation", "Session", "run_invocation"]

MAX_ATTEMPTS = 2
log = get_logger("packer")

_INTERRUPTED = Classification(
    2,
    "transient",
    "interrupted",
    "The run was interrupted (Ctrl-C or SIGTERM) and Packer was asked to clean up; run the "
    "command again when ready. Check the cloud console for resources a forced kill may leave.",
)
_UNSCRUBBED = Classification(
    3,
    "security",
    "raw_log_unscrubbed",
    "Packer's debug log could not be written through the scrubber, so it is incomplete "
    "and must not be trusted: make the log directory writable (and check free disk space), "
    "then run again.",
)
_TIMED_OUT = Classification(
    2,
    "transient",
    "timeout",
    "Packer did not finish within --timeout; a slow mirror or API retries well. If it "
    "repeats, raise --timeout or look in the raw log for the step that hangs.",
)


@dataclass
class Session:
    """What every invocation of one command shares."""

    command: str
    command_id: str
    workdir: Path
    env_name: str
    packer: PackerBinary
    redactor: Redactor
    secret_env: dict[str, str]
    cache_dir: Path | None
    cwd: Path
    base_environ: Mapping[str, str]
    timeout: float | None = None
    kill_after: float = 120.0
    stopper: Stopper = field(default_factory=Stopper)
    ledger: ScrubLedger = field(default_factory=ScrubLedger)
    private_dirs: list[Path] = field(default_factory=list)
    env_allow: tuple[str, ...] | None = None  # None: the whole caller environment
    declared_vars: frozenset[str] = frozenset()

    @property
    def log_dir(self) -> Path:
        return self.workdir / "logs" / "packer" / self.command_id

    def cleanup(self) -> None:
        for path in self.private_dirs:
            shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Invocation:
    """One packer process to run (and retry once if it fails transiently)."""

    label: str
    target: str
    argv: list[str]
    machine_readable: bool = False
    manifest_outputs: tuple[Path, ...] = ()
    cwd: Path | None = None  # default: the session's
    cache_dir: Path | None = None  # default: the session's


def _classify(command: str, outcome: ProcessOutcome) -> Classification:
    if outcome.interrupted:
        return _INTERRUPTED
    if outcome.timed_out:
        return _TIMED_OUT
    return classify(command, outcome.returncode, outcome.failure_text)


def _cache_dir(session: Session) -> Path:
    if session.cache_dir is not None:
        session.cache_dir.mkdir(parents=True, exist_ok=True)
        return session.cache_dir
    session.cache_dir = Path(tempfile.mkdtemp(prefix="hybridcore-cache-"))
    session.private_dirs.append(session.cache_dir)
    return session.cache_dir


def _harvest_crash_log(session: Session, cwd: Path, run_dir: Path, started: float) -> str | None:
    """Move a crash.log Packer wrote during this attempt into the run's log directory,
    scrubbed (it holds Packer's full debug log), so runs never overwrite each other's."""
    crash = cwd / "crash.log"
    try:
        if crash.stat().st_mtime < started:
            return None
        text = crash.read_text(encoding="utf-8", errors="backslashreplace")
        destination = run_dir / "crash.log"
        counts: Counter[str] = Counter()
        atomic_write_text(destination, session.redactor.scrub(text, counts))
        session.ledger.note(destination, counts)
        crash.unlink()
    except OSError:
        return None
    return f"packer crashed; its crash log is in {destination}"


def _attempt(session: Session, inv: Invocation, raw_log: Path) -> ProcessOutcome:
    started = time.time()
    with private_dir() as private:
        outcome = _attempt_in(session, inv, raw_log, private)
    crashed = _harvest_crash_log(session, inv.cwd or session.cwd, raw_log.parent, started)
    if crashed:
        outcome.warnings.append(crashed)
    return outcome


def _attempt_in(
    session: Session, inv: Invocation, raw_log: Path, owned: PrivateDir
) -> ProcessOutcome:
    private = owned.path
    (private / "tmp").mkdir()
    with RawLogPipe(raw_log, session.redactor, private) as pipe:
        env = child_environment(
            session.base_environ,
            log_path=pipe.path,
            hybridcore_env=session.env_name,
            cache_dir=inv.cache_dir or _cache_dir(session),
            secrets=session.secret_env,
            temp_dir=private / "tmp",
            allowed=session.env_allow,
            declared=session.declared_vars,
        )
        try:
            outcome = run_process(
                inv.argv,
                env=env,
                cwd=inv.cwd or session.cwd,
                redactor=session.redactor,
                label=inv.label,
                command_id=session.command_id,
                timeout=session.timeout,
                kill_after=session.kill_after,
                machine_readable=inv.machine_readable,
                stopper=session.stopper,
                pass_fds=(owned.lock_fd,),
            )
        except OSError as exc:
            raise HybridcoreError(
                f"could not start {inv.argv[0]}: {exc.strerror}.",
                exit_code=1,
                rule="packer_not_runnable",
                remediation="Check that --packer names an executable file you may run.",
            ) from exc
    if pipe.error:
        outcome.warnings.append(f"raw log incomplete: {pipe.error}")
        outcome.unscrubbed_log = pipe.error
    session.ledger.note(raw_log, pipe.counts, pipe.sha256.hexdigest() if not pipe.error else None)
    session.ledger.note(session.log_dir / LOG_FILE_NAME, outcome.scrubbed)
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


def run_invocation(session: Session, inv: Invocation) -> RunResult:
    """Run `inv`, retrying once on a transient failure, and describe what happened."""
    run_dir = session.log_dir / safe_name(inv.label)
    log_paths: list[str] = []
    outcome: ProcessOutcome | None = None
    verdict = _INTERRUPTED
    attempt = 0
    started = time.time()
    first_started_at = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        raw_log = run_dir / f"attempt-{attempt}.packer.log"
        log_paths.append(str(raw_log))
        outcome = _attempt(session, inv, raw_log)
        first_started_at = first_started_at or outcome.started_at
        for warning in outcome.warnings:
            log.warning(warning, extra={"prefix": inv.label})
        verdict = _classify(session.command, outcome)
        if outcome.unscrubbed_log:
            verdict = _UNSCRUBBED
        stopping = outcome.interrupted or session.stopper.requested.is_set()
        if verdict.klass != "transient" or stopping or attempt == MAX_ATTEMPTS:
            break
        log.warning(
            "transient failure (%s): retrying once", verdict.rule, extra={"prefix": inv.label}
        )
    assert outcome is not None and first_started_at is not None

    manifest_path = None
    for index, source in enumerate(inv.manifest_outputs):
        destination = run_dir / ("manifest.json" if index == 0 else f"manifest-{index}.json")
        counts: Counter[str] = Counter()
        if capture_manifest(source, destination, started - 1, session.redactor, counts):
            manifest_path = manifest_path or str(destination)
            session.ledger.note(destination, counts)

    remediation = verdict.remediation
    if verdict.klass == "transient" and attempt > 1:
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
            Artifact.model_validate(scrub_data(artifact.model_dump(), session.redactor))
            for artifact in _real_paths(artifacts_from_lines(outcome.artifact_lines), inv.cwd)
        ],
        log_paths=[p for p in log_paths if Path(p).exists()],
        workspace=str(inv.cwd) if inv.cwd else None,
        started_at=rfc3339(first_started_at),
        finished_at=rfc3339(outcome.finished_at),
        duration_s=round((outcome.finished_at - first_started_at).total_seconds(), 3),
    )
