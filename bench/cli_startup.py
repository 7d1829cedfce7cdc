"""CLI start-up: wall time of `hybridcore-packer --version` vs `packer version`.

Both are run --runs times (default 20), interleaved, output to /dev/null; the report
gives the median, min and max of each and the ratio of medians (target <= 3). Two
context lines, not part of the target: the bare interpreter (`python -c pass` with the
same Python the CLI uses) as the floor any Python CLI pays, and `hybridcore-packer
--help`, which builds the whole argument parser. `packer version` runs with
CHECKPOINT_DISABLE=1 (as the wrapper runs Packer), so no update check goes to the network.

Run: .venv/bin/python bench/cli_startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_RATIO = 3.0


def wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    code = subprocess.run(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    ).returncode
    elapsed = time.perf_counter() - start
    if code != 0:
        sys.exit(f"error: {' '.join(argv)} exited with status {code}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per command (default 20)")
    parser.add_argument("--packer", default=shutil.which("packer") or "/usr/bin/packer")
    parser.add_argument(
        "--cli",
        default=str(Path(sys.executable).with_name("hybridcore-packer")),
        help="hybridcore-packer executable (default: next to this Python)",
    )
    args = parser.parse_args()
    env = {**os.environ, "CHECKPOINT_DISABLE": "1"}
    commands = {
        "packer version": [args.packer, "version"],
        "hybridcore-packer --version": [args.cli, "--version"],
        "python -c pass": [sys.executable, "-c", "pass"],
        "hybridcore-packer --help": [args.cli, "--help"],
    }
    for argv in commands.values():  # warm the page cache; not measured
        wall(argv, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for run in range(args.runs):
        for name in names[run % len(names) :] + names[: run % len(names)]:
            times[name].append(wall(commands[name], env))

    base = statistics.median(times["packer version"])
    print(f"{args.runs} runs each, interleaved; wall ms")
    print(f"{'command':<28} {'median':>8} {'min':>8} {'max':>8} {'/packer':>8}")
    for name in names:
        values = times[name]
        median = statistics.median(values)
        print(
            f"{name:<28} {median * 1000:8.1f} {min(values) * 1000:8.1f} "
            f"{max(values) * 1000:8.1f} {median / base:8.2f}"
        )
    ratio = statistics.median(times["hybridcore-packer --version"]) / base
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(
        f"ratio hybridcore-packer --version / packer version = {ratio:.2f} "
        f"(target <= {TARGET_RATIO:g}): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
