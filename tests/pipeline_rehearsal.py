"""A CI pipeline rehearsed on one machine: plan -> shards on several runners -> gate ->
promote, each step a separate `hybridcore-packer` process on its own fresh copy of the
project with its own workdir, sharing nothing but the registry (as CI jobs do).

Used by tests/integration/test_rehearsal.py and bench/plan_and_rehearsal.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FLEET = REPO / "examples" / "fleet"
PROJECT = "fleet"  # the templates' directory inside each checkout


@dataclass(frozen=True)
class Step:
    """One finished command of one runner."""

    runner: str
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


class Pipeline:
    """Checkouts of `source` under `root`, one per job, all pointed at `registry_url`."""

    def __init__(self, root: Path, registry_url: str, source: Path = FLEET) -> None:
        self.root = root
        self.registry_url = registry_url
        self.source = source
        self._checkouts = 0

    def checkout(self, runner: str) -> Path:
        """A fresh runner: a new copy of the project (as `actions/checkout` gives)."""
        self._checkouts += 1
        home = self.root / f"{self._checkouts:02d}-{runner}"
        home.mkdir(parents=True)
        shutil.copytree(self.source, home / PROJECT, ignore=shutil.ignore_patterns("out"))
        return home

    def run(
        self, home: Path, runner: str, *args: str, env: Mapping[str, str] | None = None
    ) -> Step:
        """`hybridcore-packer --workdir out ARGS` in the checkout `home`, as `runner`."""
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PKR_VAR_", "HYBRIDCORE_", "PACKER_", "GITHUB_", "FLEET_"))
        }
        environ.update(
            {
                "CHECKPOINT_DISABLE": "1",
                "HYBRIDCORE_REGISTRY_URL": self.registry_url,
                "HYBRIDCORE_RUNNER": runner,
                **(env or {}),
            }
        )
        argv = (sys.executable, "-m", "hybridcore.cli", "--workdir", "out", *args)
        proc = subprocess.run(
            argv, cwd=home, env=environ, capture_output=True, text=True, timeout=600, check=False
        )
        return Step(runner, argv[3:], proc.returncode, proc.stdout, proc.stderr)

    def plan(self, runner: str = "planner") -> list[str]:
        """The GitHub matrix's builds, read back from $GITHUB_OUTPUT as Actions would."""
        home = self.checkout(runner)
        output = home / "github_output"
        step = self.run(
            home, runner, "plan", PROJECT, "--format", "github", env={"GITHUB_OUTPUT": str(output)}
        )
        assert step.code == 0, step.stderr
        line = next(x for x in output.read_text().splitlines() if x.startswith("matrix="))
        matrix: dict[str, list[dict[str, str]]] = json.loads(line.removeprefix("matrix="))
        return [item["build"] for item in matrix["include"]]

    def shards(
        self,
        builds: Sequence[str],
        runners: int,
        env: Mapping[str, Mapping[str, str]] | None = None,
    ) -> list[Step]:
        """Deal `builds` to `runners` in order (shards of len/runners); each runner
        builds its shard one job at a time (`build --only B`), all runners at once.
        `env`: extra environment per runner name."""
        size = -(-len(builds) // runners) if builds else 0
        shards = [list(builds[i * size : (i + 1) * size]) for i in range(runners)]

        def work(index: int) -> list[Step]:
            runner = f"runner-{index + 1}"
            steps = []
            for build in shards[index]:
                home = self.checkout(runner)
                extra = (env or {}).get(runner, {})
                steps.append(self.run(home, runner, "build", "--only", build, PROJECT, env=extra))
            return steps

        with ThreadPoolExecutor(max_workers=max(runners, 1)) as pool:
            done = list(pool.map(work, range(runners)))
        return [step for steps in done for step in steps]

    def gate(self, runner: str = "gate") -> tuple[Step, Path]:
        home = self.checkout(runner)
        step = self.run(home, runner, "gate", PROJECT, "--junit", "junit-gate.xml")
        return step, home / "junit-gate.xml"

    def promote(self, builds: Sequence[str], channel: str, runner: str = "promote") -> Step:
        """The GitHub recipe's promote step, its shell as written (bash, jq): each
        planned build's `latest` version onto `channel`."""
        import yaml

        recipe = yaml.safe_load((REPO / "docs" / "ci" / "github-actions.yml").read_text())
        script = next(
            s["run"]
            for s in recipe["jobs"]["promote"]["steps"]
            if "run" in s and "channel set" in s["run"]
        )
        home = self.checkout(runner)
        environ = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "HOME": str(home),
            "CHECKPOINT_DISABLE": "1",
            "HYBRIDCORE_REGISTRY_URL": self.registry_url,
            "HYBRIDCORE_RUNNER": runner,
            "MATRIX": json.dumps({"include": [{"build": b} for b in builds]}),
            "CHANNEL": channel,
        }
        proc = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            cwd=home,
            env=environ,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        return Step(runner, ("promote",), proc.returncode, proc.stdout, proc.stderr)

    def json(self, *args: str) -> Any:
        home = self.checkout("reader")
        step = self.run(home, "reader", "--json", *args)
        assert step.code == 0, step.stderr
        return json.loads(step.stdout)
