"""Several builds at once, each its own packer process, up to a limit.

A thread pool runs one `run_invocation` per build. The main thread keeps the
Ctrl-C: the first one asks every running packer to stop (and starts nothing
new), the second kills them. With `fail_fast`, the first failed build does the
same for the others. Builds that never started are reported as cancelled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime

from hybridcore.logs import command_context, get_logger
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.result import RunResult
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.run.runner import Invocation, RunContext, run_invocation

__all__ = ["Progress", "run_parallel"]

Progress = Callable[[str, str], None]  # (build label, state)
log = get_logger("parallel")

_CANCELLED_HINT = (
    "This build did not start: the run was interrupted, or --fail-fast stopped it after "
    "another build failed. Run it again on its own with --only."
)


def _not_run(
    invocation: Invocation,
    *,
    klass: ExitClass = ExitClass.TRANSIENT,
    rule: str = "cancelled",
    remediation: str = _CANCELLED_HINT,
) -> RunResult:
    """The result of a build whose packer process never ran."""
    now = rfc3339(datetime.now(UTC))
    return RunResult(
        label=invocation.label,
        target=invocation.target,
        argv=invocation.argv,
        exit_code=klass.code,
        classification=klass.name,  # type: ignore[arg-type]
        rule=rule,
        evidence=None,
        remediation=remediation,
        retryable=klass.retryable,
        attempts=0,
        packer_exit_code=None,
        stdout="",
        stderr="",
        stdout_truncated=False,
        stderr_truncated=False,
        timed_out=False,
        interrupted=rule == "cancelled",
        manifest_path=None,
        artifacts=[],
        log_paths=[],
        started_at=now,
        finished_at=now,
        duration_s=0.0,
    )


def _run_one(
    context: RunContext, invocation: Invocation, progress: Progress, fail_fast: bool
) -> RunResult:
    if context.stopper.requested.is_set():
        progress(invocation.label, "cancelled")
        return _not_run(invocation)
    progress(invocation.label, "running")
    try:
        with command_context(context.settings.command_id):
            run = run_invocation(context, invocation)
    except HybridcoreError as error:
        run = _not_run(
            invocation, klass=error.klass, rule=error.rule, remediation=error.remediation
        )
    if fail_fast and run.exit_code != 0 and not context.stopper.requested.is_set():
        log.warning("%s failed and --fail-fast is set: stopping the other builds", run.label)
        context.stopper.request()
    progress(invocation.label, "ok" if run.exit_code == 0 else f"failed ({run.rule})")
    return run


def _wait_all(futures: Sequence[Future[RunResult]]) -> None:
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)


def run_parallel(
    context: RunContext,
    invocations: Sequence[Invocation],
    *,
    limit: int,
    fail_fast: bool = False,
    progress: Progress | None = None,
) -> list[RunResult]:
    """Run every invocation, at most `limit` at once; results in the given order."""
    report = progress or (lambda label, state: None)
    for invocation in invocations:
        report(invocation.label, "queued")
    pool = ThreadPoolExecutor(max_workers=max(limit, 1), thread_name_prefix="packer-build")
    futures = [pool.submit(_run_one, context, inv, report, fail_fast) for inv in invocations]
    try:
        try:
            _wait_all(futures)
        except KeyboardInterrupt:
            log.warning("interrupted: stopping every build (interrupt again to kill them)")
            context.stopper.request()
            try:
                _wait_all(futures)
            except KeyboardInterrupt:
                log.warning("interrupted again: killing every build")
                context.stopper.force()
                while not all(f.done() for f in futures):
                    time.sleep(0.1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [
        f.result() if f.done() and not f.cancelled() else _not_run(inv)
        for f, inv in zip(futures, invocations, strict=True)
    ]
