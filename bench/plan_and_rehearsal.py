"""Past one machine: `plan` time for 200 builds against a warm registry, and the wall time
of the pipeline rehearsal with 3 runners against 1.

plan: a generated template of --builds `null` builds (20 provisioner scripts, each run by
a tenth of the builds), all built once so the registry holds a version of each and the
stat cache is warm. Measured interleaved, median of --runs:

  validate  packer validate TEMPLATE                     (the baseline: Packer reads it)
  plan      hybridcore-packer plan --format github       (hash inputs, query the registry)

rehearsal: the fleet example (12 builds) through tests/pipeline_rehearsal.py as the
integration test runs it (plan -> shards -> gate), every build its own process on a fresh
checkout, all runners sharing one registry; --runners N against 1, median of --runs. Each
build waits --build-seconds (FLEET_BUILD_SECONDS) as a real one waits on its cloud: with
0 the builds are the wrapper's and Packer's CPU alone, which 2 cores cannot run 3 at a time.

Registry: a private PostgreSQL server as the tests start one (scripts/install-postgres.sh),
or --registry URL, or --sqlite for a shared SQLite file.

Run: .venv/bin/python bench/plan_and_rehearsal.py [--runs 3] [--builds 200] [--runners 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.pipeline_rehearsal import FLEET, Pipeline  # noqa: E402

SCRIPTS = 20


def _template(root: Path, builds: int) -> Path:
    """`builds` null sources; script k runs for the builds whose index is k modulo SCRIPTS."""
    project = root / "many"
    (project / "scripts").mkdir(parents=True)
    names = [f"image-{index:03d}" for index in range(builds)]
    lines = [f'source "null" "{name}" {{\n  communicator = "none"\n}}\n' for name in names]
    sources = ",\n".join(f'    "source.null.{name}"' for name in names)
    block = f"build {{\n  sources = [\n{sources},\n  ]\n"
    for script in range(SCRIPTS):
        path = project / "scripts" / f"role-{script:02d}.sh"
        path.write_text(f"#!/bin/sh\necho role {script}\n")
        path.chmod(0o755)
        only = ", ".join(f'"null.{n}"' for i, n in enumerate(names) if i % SCRIPTS == script)
        block += (
            f'\n  provisioner "shell-local" {{\n    only   = [{only}]\n'
            f'    script = "${{path.root}}/scripts/role-{script:02d}.sh"\n  }}\n'
        )
    (project / "many.pkr.hcl").write_text("\n".join(lines) + "\n" + block + "}\n")
    return project


def _cli(cwd: Path, registry: str, *args: str) -> None:
    env = {**os.environ, "HYBRIDCORE_REGISTRY_URL": registry, "CHECKPOINT_DISABLE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "hybridcore.cli", "--workdir", "out", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"error: hybridcore-packer {' '.join(args)}: {proc.stderr[-2000:]}")


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _plan_bench(root: Path, registry: str, builds: int, runs: int) -> None:
    project = _template(root, builds)
    packer = shutil.which("packer") or sys.exit("error: no packer on PATH")
    print(f"plan: {builds} builds, warming the registry (one build of all of them) ...")
    _cli(root, registry, "build", project.name)
    _cli(root, registry, "plan", project.name)  # the stat cache is warm from here on

    def validate() -> None:
        subprocess.run(
            [packer, "validate", project.name], cwd=root, capture_output=True, check=True
        )

    def plan() -> None:
        _cli(root, registry, "plan", "--format", "github", project.name)

    times: dict[str, list[float]] = {"validate": [], "plan": []}
    for _ in range(runs):
        times["validate"].append(_timed(validate))
        times["plan"].append(_timed(plan))
    v, p = statistics.median(times["validate"]), statistics.median(times["plan"])
    print(f"  packer validate  median {v:6.2f} s  ({_series(times['validate'])})")
    print(f"  plan             median {p:6.2f} s  ({_series(times['plan'])})")
    print(f"  plan / validate  {p / v:.2f}")


def _rehearsal(root: Path, registry: str, runners: int, wait: float) -> float:
    pipeline = Pipeline(root, registry, FLEET)
    start = time.perf_counter()
    planned = pipeline.plan()
    env = {f"runner-{i + 1}": {"FLEET_BUILD_SECONDS": str(wait)} for i in range(runners)}
    steps = pipeline.shards(planned, runners=runners, env=env)
    gate, _ = pipeline.gate()
    elapsed = time.perf_counter() - start
    if len(planned) != 12 or any(s.code for s in steps) or gate.code:
        sys.exit(f"error: rehearsal with {runners} runner(s) failed: {gate.stderr[-2000:]}")
    return elapsed


def _series(values: list[float]) -> str:
    return ", ".join(f"{value:.1f}" for value in values)


def _rehearsal_bench(
    root: Path, registry_for: Callable[[], str], runners: int, runs: int, wait: float
) -> None:
    print(
        f"rehearsal: 12 builds of {wait:g} s wait each, plan -> shards -> gate, "
        f"{runners} runners against 1 ..."
    )
    times: dict[int, list[float]] = {1: [], runners: []}
    for run in range(runs):
        for count in (1, runners):
            where = root / f"r{run}-{count}"
            times[count].append(_rehearsal(where, registry_for(), count, wait))
    one, many = statistics.median(times[1]), statistics.median(times[runners])
    print(f"  1 runner   median {one:6.1f} s  ({_series(times[1])})")
    print(f"  {runners} runners  median {many:6.1f} s  ({_series(times[runners])})")
    print(f"  speed-up   {one / many:.2f}x on {os.cpu_count()} cores")


@contextmanager
def _registries(args: argparse.Namespace, root: Path) -> Iterator[Callable[[], str]]:
    """A function giving a fresh, empty registry per use."""
    if args.registry:
        yield lambda: str(args.registry)
        return
    if args.sqlite:
        counter = iter(range(10_000))
        yield lambda: f"sqlite:///{root / f'registry-{next(counter)}.db'}"
        return
    from tests.registry_pg import running_server

    with running_server() as server:
        yield lambda: str(server.url(server.create_database()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--builds", type=int, default=200)
    parser.add_argument("--runners", type=int, default=3)
    parser.add_argument("--registry", default=None, help="an empty registry URL to use")
    parser.add_argument("--sqlite", action="store_true", help="a shared SQLite file, not PG")
    parser.add_argument("--build-seconds", type=float, default=5.0)
    parser.add_argument("--skip-rehearsal", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as temp:
        root = Path(temp)
        with _registries(args, root) as registry_for:
            (root / "plan").mkdir()
            _plan_bench(root / "plan", registry_for(), args.builds, args.runs)
            if not args.skip_rehearsal:
                _rehearsal_bench(
                    root / "rehearsal", registry_for, args.runners, args.runs, args.build_seconds
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
