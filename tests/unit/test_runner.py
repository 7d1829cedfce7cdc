"""One planned invocation: raw log per attempt, private directories, retry, verdict."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.settings import Settings
from hybridcore.packer.run.runner import Invocation, RunContext, run_invocation
from hybridcore.packer.run.version import PackerBinary
from hybridcore.redaction.engine import PLACEHOLDER, Redactor
from tests.conftest import FakePacker

TRANSIENT = "Build 'null.a' errored after 1 second: dial tcp 10.0.0.1:443: i/o timeout\n"
SECRET = "runner-secret-4711"


def _context(
    tmp_path: Path,
    fake: FakePacker | Path,
    *,
    cache_dir: Path | None = None,
    timeout: float | None = None,
) -> RunContext:
    path = fake if isinstance(fake, Path) else fake.path
    settings = Settings(
        cwd=tmp_path,
        workdir=tmp_path / "work",
        command_id="20250101T000000Z-00000000",
        env="ci",
        timeout=timeout,
    )
    return RunContext(
        settings=settings,
        command="build",
        packer=PackerBinary(str(path), (1, 6, 6)),
        redactor=Redactor([SECRET]),
        secret_env={"RUNNER_SECRET": SECRET},
        environ={"PATH": os.environ.get("PATH", "")},
        deadline=time.monotonic() + timeout if timeout else None,
        cache_dir=cache_dir,
    )


def _invocation(fake: FakePacker | Path, label: str = "null.a") -> Invocation:
    path = fake if isinstance(fake, Path) else fake.path
    return Invocation(label=label, target="t", argv=[str(path), "build", "t"])


def test_one_raw_log_per_attempt_in_the_command_log_dir(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    fake.script(
        [
            {"stderr": TRANSIENT, "log": f"attempt one {SECRET}\n", "exit": 1},
            {"log": "attempt two\n"},
        ]
    )
    context = _context(tmp_path, fake)
    run = run_invocation(context, _invocation(fake, label="null/a b"))
    settings = context.settings
    run_dir = settings.workdir / "logs" / "packer" / settings.command_id / "null%2Fa%20b"
    assert run.log_paths == [
        str(run_dir / "attempt-1.packer.log"),
        str(run_dir / "attempt-2.packer.log"),
    ]
    first, second = (Path(p).read_text() for p in run.log_paths)
    assert first == f"attempt one {PLACEHOLDER}\n"
    assert second == "attempt two\n"
    assert (run.exit_code, run.attempts, run.classification) == (0, 2, "ok")


def test_transient_twice_is_escalated(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    fake.script([{"stderr": TRANSIENT, "exit": 1}])
    run = run_invocation(_context(tmp_path, fake), _invocation(fake))
    assert len(fake.calls) == 2
    assert (run.exit_code, run.classification, run.rule) == (2, "transient", "io_timeout")
    assert run.retryable
    assert run.attempts == 2
    assert run.packer_exit_code == 1
    assert (run.remediation or "").startswith("Failed 2 times; escalate.")


def test_each_attempt_gets_a_private_temp_dir_removed_afterwards(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    fake.script([{"stderr": TRANSIENT, "exit": 1}, {}])
    run_invocation(_context(tmp_path, fake), _invocation(fake))
    temp_dirs = [Path(call["env"]["TMPDIR"]) for call in fake.calls]  # type: ignore[index]
    assert len(temp_dirs) == 2
    assert temp_dirs[0] != temp_dirs[1]
    for temp_dir in temp_dirs:
        assert not temp_dir.exists()
        assert tmp_path not in temp_dir.parents


def test_without_a_cache_dir_each_attempt_gets_a_private_cache_removed_afterwards(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    fake.script([{"stderr": TRANSIENT, "exit": 1}, {}])
    run_invocation(_context(tmp_path, fake), _invocation(fake))
    caches = [Path(call["env"]["PACKER_CACHE_DIR"]) for call in fake.calls]  # type: ignore[index]
    assert len(set(caches)) == 2
    assert not any(cache.exists() for cache in caches)


def test_a_given_cache_dir_is_created_and_kept(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    cache = tmp_path / "shared" / "cache"
    run_invocation(_context(tmp_path, fake, cache_dir=cache), _invocation(fake))
    assert fake.calls[0]["env"]["PACKER_CACHE_DIR"] == str(cache)  # type: ignore[index]
    assert cache.is_dir()


def test_the_child_gets_the_command_environment(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    run_invocation(_context(tmp_path, fake), _invocation(fake))
    env = fake.calls[0]["env"]
    assert isinstance(env, dict)
    assert env["RUNNER_SECRET"] == SECRET
    assert env["HYBRIDCORE_ENV"] == "ci"
    assert env["PACKER_LOG"] == "1"
    assert Path(fake.calls[0]["cwd"]).resolve() == tmp_path.resolve()  # type: ignore[arg-type]


def test_a_packer_that_cannot_start_is_a_configuration_error(tmp_path: Path) -> None:
    not_executable = tmp_path / "packer"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(HybridcoreError) as caught:
        run_invocation(_context(tmp_path, not_executable), _invocation(not_executable))
    assert (caught.value.exit_code, caught.value.rule) == (1, "packer_not_runnable")


def test_timeout_is_transient_and_ends_the_retries(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    """--timeout is a deadline for the whole command: no retry starts after it."""
    fake = fake_packer()
    fake.script([{"sleep": 30}])
    run = run_invocation(_context(tmp_path, fake, timeout=0.3), _invocation(fake))
    assert len(fake.calls) == 1
    assert (run.exit_code, run.rule, run.attempts) == (2, "timeout", 1)
    assert run.timed_out


def test_packer_killed_by_a_signal_is_transient_and_retried(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    """The OOM killer or a preempted runner: class 2, retried once."""
    fake = fake_packer()
    fake.script([{"signal": 9}, {"signal": 9}])
    run = run_invocation(_context(tmp_path, fake), _invocation(fake))
    assert len(fake.calls) == 2
    assert (run.exit_code, run.rule, run.attempts) == (2, "packer_killed", 2)
    assert run.evidence == "packer ended by signal 9"
