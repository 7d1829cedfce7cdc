"""Parallel builds: wall time of N one-second builds run with --parallel N over one.

A template with N `null` sources, each with a `shell-local` provisioner that sleeps
1 s, is built through `hybridcore-packer build --parallel N` (every build its own
packer process), against the same tool building one of them (`--only`, --parallel 1)
in the same run, interleaved. Target for N=4: at most 1.3 times the wall time of one.

Run: .venv/bin/python bench/parallel_builds.py [--builds 4] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-m", "hybridcore.cli"]


def _template(directory: Path, builds: int) -> None:
    sources = "\n".join(
        f'source "null" "b{i}" {{\n  communicator = "none"\n}}\n' for i in range(builds)
    )
    names = ", ".join(f'"source.null.b{i}"' for i in range(builds))
    build = (
        f"build {{\n  sources = [{names}]\n"
        '  provisioner "shell-local" {\n    inline = ["sleep 1"]\n  }\n}\n'
    )
    (directory / "bench.pkr.hcl").write_text(sources + build)


def _timed(args: list[str], workdir: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [*CLI, "--workdir", str(workdir), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=4, help="builds in parallel (default 4)")
    parser.add_argument("--runs", type=int, default=5, help="runs per variant (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hc-bench-parallel-") as tmp:
        root = Path(tmp)
        template = root / "template"
        template.mkdir()
        _template(template, args.builds)
        one, many = [], []
        for run in range(args.runs):
            one.append(
                _timed(
                    ["build", "--parallel", "1", "--only", "null.b0", str(template)],
                    root / f"one-{run}",
                )
            )
            many.append(
                _timed(
                    ["build", "--parallel", str(args.builds), str(template)], root / f"many-{run}"
                )
            )
            print(
                f"run {run + 1}/{args.runs}: one {one[-1]:.2f} s, "
                f"{args.builds} in parallel {many[-1]:.2f} s",
                flush=True,
            )
    ratio = statistics.median(many) / statistics.median(one)
    print(f"median one build:            {statistics.median(one):.2f} s")
    print(f"median {args.builds} builds in parallel: {statistics.median(many):.2f} s")
    verdict = "PASS" if ratio <= 1.3 else "FAIL"
    print(f"ratio parallel/one = {ratio:.3f} (target <= 1.3 for 4 builds): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
