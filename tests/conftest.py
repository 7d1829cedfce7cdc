"""Shared fixtures: a fake packer for argv/environment/classification tests."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# CI runs the property tests with a fixed seed: a failure there is reproducible, never luck
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "hybrid"

FAKE_PACKER = '''#!{python}
"""A stand-in packer: records argv and environment, prints a script, exits."""
import json, os, sys, time
from pathlib import Path
here = Path(__file__).parent
if sys.argv[1:2] == ["version"]:
    print("Packer v{version}")
    sys.exit(0)
calls = here / "calls.jsonl"
with calls.open("a") as f:
    f.write(json.dumps({{"argv": sys.argv, "env": dict(os.environ), "cwd": os.getcwd()}}) + "\\n")
script = json.loads((here / "script.json").read_text())
attempt = sum(1 for _ in calls.open())
step = script[min(attempt, len(script)) - 1]
log_path = os.environ.get("PACKER_LOG_PATH")
if log_path and step.get("log"):
    with open(log_path, "a") as log:
        log.write(step["log"])
for name, text in step.get("write_cwd", {{}}).items():
    Path(name).write_text(text)
sys.stdout.write(step.get("stdout", ""))
sys.stdout.flush()
sys.stderr.write(step.get("stderr", ""))
sys.stderr.flush()
time.sleep(step.get("sleep", 0))
if step.get("signal"):
    os.kill(os.getpid(), step["signal"])
sys.exit(step.get("exit", 0))
'''


class FakePacker:
    """A packer executable whose behaviour per call is scripted."""

    def __init__(self, root: Path, version: str) -> None:
        self.root = root
        self.path = root / "packer"
        self.path.write_text(FAKE_PACKER.format(python=sys.executable, version=version))
        self.path.chmod(self.path.stat().st_mode | stat.S_IEXEC)
        self.script([{}])

    def script(self, steps: list[dict[str, object]]) -> None:
        """One step per call: stdout, stderr, log (raw log text), write_cwd
        ({file name: text} written in the working directory), exit, sleep, signal (sent to
        itself last, as the OOM killer would)."""
        (self.root / "script.json").write_text(json.dumps(steps))

    @property
    def calls(self) -> list[dict[str, object]]:
        path = self.root / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def fake_packer(tmp_path: Path) -> Callable[..., FakePacker]:
    def make(version: str = "1.6.6") -> FakePacker:
        root = tmp_path / f"fake-packer-{version}"
        root.mkdir()
        return FakePacker(root, version)

    return make


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the bundled example project."""
    target = tmp_path / "hybrid"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("out", "*.json"))
    return target


def write_template(directory: Path, text: str, name: str = "main.pkr.hcl") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def packer_on_path_version() -> str:
    """The version of the `packer` on PATH the integration tests run (e.g. "1.9.5")."""
    import shutil
    import subprocess

    found = shutil.which("packer")
    if found is None:
        return "none"
    first = subprocess.run([found, "version"], capture_output=True, text=True).stdout
    return first.split()[1].lstrip("v") if first.startswith("Packer v") else "unknown"


PLUGIN = Path("github.com/hashicorp/qemu/packer-plugin-qemu_v1.0.9_x5.0_linux_amd64")


def _script(*argv: str) -> str:
    done = subprocess.run(
        [str(REPO / "scripts" / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


@pytest.fixture(scope="session")
def packer_195() -> str:
    """Packer 1.9.5, built once (scripts/install-packer.sh reuses the cached binary)."""
    return _script("install-packer.sh", "1.9.5")


@pytest.fixture(scope="session")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("mirror")
    _script("plugin-mirror.sh", str(directory))
    assert (directory / PLUGIN).is_file()
    return directory


from tests.iso_server import iso_server  # noqa: E402, F401
from tests.registry_pg import PostgresServer, postgres_server  # noqa: E402, F401


@dataclass(frozen=True)
class RegistryBackend:
    """A registry for one test: `url` for --registry (None: the embedded SQLite file)."""

    name: str
    url: str | None
    server: PostgresServer | None = None


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_backend(request: pytest.FixtureRequest, tmp_path: Path) -> RegistryBackend:
    """The same test on the embedded SQLite registry and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return RegistryBackend("sqlite", f"sqlite:///{tmp_path / 'shared' / 'registry.db'}")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return RegistryBackend("postgresql", server.url(server.create_database()), server)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands set up process-wide logging (handlers, secrets to scrub): put it back after
    each test, so no test writes into another's log or scrubs with its secrets."""
    import logging

    import hybridcore.logs as logs

    logger = logging.getLogger(logs.LOGGER_NAME)
    handlers, propagate, level = list(logger.handlers), logger.propagate, logger.level
    state = dict(logs._state)
    redactors = list(logs._state["redactors"])
    yield
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.propagate, logger.level = propagate, level
    logs._state.update(state)
    logs._state["redactors"][:] = redactors
