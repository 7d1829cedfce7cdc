"""Wrapper overhead: `hybridcore-packer build` vs raw `packer build` on the same template.

Measures wall time and CPU time (user+sys of all waited-for children, from
RUSAGE_CHILDREN deltas) of:

  raw      `packer build <dir>`, stdout to a pipe this script drains
  flags    `packer build -color=false -machine-readable -on-error=cleanup <dir>` with
           PACKER_LOG=1 and PACKER_LOG_PATH=<file>: what the wrapper asks Packer to do,
           without the wrapper (splits the overhead into "Packer does more" and "our
           pipeline"); only with --flags-baseline (adds a third of the run time)
  wrapper  `hybridcore-packer --workdir <tmp> build <dir>`, console output to /dev/null;
           run as the console script does (`sys.exit(hybridcore.cli.main())`, same
           interpreter) plus an atexit hook that records the wrapper process's own CPU
           (RUSAGE_SELF, all its threads), so our share can be told from Packer's

The template (generated into a temp dir) has one `null` source whose `shell-local`
provisioner sleeps and then prints --lines lines (default 20,000); sleeping first keeps
the sleep from overlapping with Packer's slow processing of the output. The sleep is
calibrated at start-up (fastest of --calibration-runs raw builds without the sleep) so that
the raw build takes about --target-s seconds (default 13):
Packer 1.6.6's output path is slow (~50 s per 200,000 lines), so the printing alone
already takes several seconds. Variants are interleaved (order rotated each run); the
report gives medians and the ratios against the raw build. Target: wall ratio <= 1.05.

Run: .venv/bin/python bench/wrapper_overhead.py [--runs 3] [--lines 20000] [--target-s 13]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TARGET_WALL_RATIO = 1.05

# The console script's body, plus a report of this process's own CPU time at exit.
LAUNCHER = """\
import atexit, resource, sys
_out = sys.argv.pop(1)
def _report():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(_out, "w") as f:
        f.write(f"{usage.ru_utime + usage.ru_stime}\\n")
atexit.register(_report)
from hybridcore.cli.main import main
sys.argv[0] = "hybridcore-packer"
sys.exit(main())
"""

TEMPLATE = """\
source "null" "bench" {{
  communicator = "none"
}}

build {{
  sources = ["source.null.bench"]

  provisioner "shell-local" {{
    inline = [
      "sleep {sleep:.2f}",
      "seq -f 'bench output line %06g: lorem ipsum dolor sit amet, consectetur' {lines}",
    ]
  }}
}}
"""


@dataclass
class Sample:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def median_wall(self) -> float:
        return statistics.median(self.wall)

    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(
    argv: list[str], *, env: dict[str, str], cwd: Path, drain: bool
) -> tuple[float, float, int]:
    """Run argv to the end; return (wall s, children CPU s, stdout bytes drained).

    With `drain`, stdout is a pipe read here (like a CI log collector would); otherwise
    stdout and stderr go to /dev/null.
    """
    cpu0 = _cpu_children()
    start = time.perf_counter()
    drained = 0
    if drain:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while data := os.read(fd, 1 << 16):
            drained += len(data)
        proc.stdout.close()
        code = proc.wait()
    else:
        code = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        ).returncode
    wall = time.perf_counter() - start
    cpu = _cpu_children() - cpu0
    if code != 0:
        sys.exit(f"error: {' '.join(argv)} exited with status {code}")
    return wall, cpu, drained


def interpreter_of(script: str) -> str:
    """The Python a console script runs with (its #! line), else this Python."""
    with Path(script).open("rb") as f:
        first = f.readline().decode(errors="replace").strip()
    if first.startswith("#!") and "python" in first:
        return first[2:].strip().split()[0]
    return sys.executable


def write_template(directory: Path, lines: int, sleep: float) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = TEMPLATE.format(lines=lines, sleep=sleep)
    (directory / "bench.pkr.hcl").write_text(text, encoding="utf-8")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per variant (default 3)")
    parser.add_argument("--lines", type=int, default=20_000, help="lines printed (default 20000)")
    parser.add_argument(
        "--target-s", type=float, default=13.0, help="raw build duration to aim for (default 13)"
    )
    parser.add_argument(
        "--sleep", type=float, default=None, help="fixed provisioner sleep; skips calibration"
    )
    parser.add_argument(
        "--calibration-runs", type=int, default=2, help="raw runs without sleep (default 2)"
    )
    parser.add_argument(
        "--flags-baseline", action="store_true", help="also time packer with the wrapper's flags"
    )
    parser.add_argument("--packer", default=shutil.which("packer") or "/usr/bin/packer")
    parser.add_argument(
        "--cli",
        default=str(Path(sys.executable).with_name("hybridcore-packer")),
        help="hybridcore-packer executable (default: next to this Python)",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    base_env = {**os.environ, "CHECKPOINT_DISABLE": "1"}
    for name in ("PACKER_LOG", "PACKER_LOG_PATH"):
        base_env.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp_name:
        tmp = Path(tmp_name)
        template = tmp / "template"

        write_template(template, 100, 0.0)  # warm-up, not measured: the first build is slow
        run_timed([args.packer, "build", str(template)], env=base_env, cwd=tmp, drain=True)
        sleep = args.sleep
        if sleep is None:
            write_template(template, args.lines, 0.0)
            walls = []
            for _ in range(max(1, args.calibration_runs)):
                wall, _, drained = run_timed(
                    [args.packer, "build", str(template)], env=base_env, cwd=tmp, drain=True
                )
                walls.append(wall)
            printing = min(walls)
            sleep = max(0.0, args.target_s - printing)
            print(
                f"calibration: {args.lines} lines take {printing:.2f} s in raw packer "
                f"(fastest of {len(walls)}; {drained / 1e6:.1f} MB of output) "
                f"-> sleep {sleep:.2f} s"
            )
        write_template(template, args.lines, sleep)

        flags_env = {
            **base_env,
            "PACKER_LOG": "1",
            "PACKER_LOG_PATH": str(tmp / "flags-packer.log"),
            "PACKER_NO_COLOR": "1",
        }
        variants: dict[str, tuple[list[str], dict[str, str], bool]] = {
            "raw": ([args.packer, "build", str(template)], base_env, True),
        }
        if args.flags_baseline:
            flags_argv = [
                args.packer,
                "build",
                "-color=false",
                "-machine-readable",
                "-on-error=cleanup",
                str(template),
            ]
            variants["flags"] = (flags_argv, flags_env, True)
        own_cpu_file = tmp / "wrapper-own-cpu"
        wrapper_argv = [
            interpreter_of(args.cli),
            "-c",
            LAUNCHER,
            str(own_cpu_file),
            "--packer",
            args.packer,
            "--workdir",
        ]
        own_cpu: list[float] = []
        names = [*variants, "wrapper"]
        samples = {name: Sample() for name in names}

        for run in range(args.runs):
            order = names[run % len(names) :] + names[: run % len(names)]
            shown = []
            for name in order:
                if name == "wrapper":
                    workdir = tmp / f"wd-{run}"
                    argv = [*wrapper_argv, str(workdir), "build", str(template)]
                    wall, cpu, _ = run_timed(argv, env=base_env, cwd=tmp, drain=False)
                    shutil.rmtree(workdir, ignore_errors=True)
                    own_cpu.append(float(own_cpu_file.read_text(encoding="utf-8")))
                else:
                    argv, env, drain = variants[name]
                    wall, cpu, drained = run_timed(argv, env=env, cwd=tmp, drain=drain)
                    if name == "raw" and drained < args.lines * 40:
                        sys.exit(f"error: raw packer printed only {drained} bytes")
                samples[name].wall.append(wall)
                samples[name].cpu.append(cpu)
                shown.append(f"{name} {wall:.2f}s/{cpu:.2f}cpu")
            print(f"run {run + 1}/{args.runs}: " + ", ".join(shown), flush=True)

    raw = samples["raw"]
    print()
    print(f"template: {args.lines} lines + sleep {sleep:.2f} s; {args.runs} runs, medians")
    print(f"{'variant':<9} {'wall s':>8} {'cpu s':>8} {'wall/raw':>9} {'cpu/raw':>8}")
    for name in names:
        sample = samples[name]
        print(
            f"{name:<9} {sample.median_wall():8.2f} {sample.median_cpu():8.2f} "
            f"{sample.median_wall() / raw.median_wall():9.3f} "
            f"{sample.median_cpu() / raw.median_cpu():8.3f}"
        )
    wrapper = samples["wrapper"]
    if "flags" in samples:
        flags = samples["flags"]
        print(
            f"wrapper/flags: wall {wrapper.median_wall() / flags.median_wall():.3f}, "
            f"cpu {wrapper.median_cpu() / flags.median_cpu():.3f} "
            "(cost of our pipeline alone)"
        )
    own = statistics.median(own_cpu)
    print(
        f"wrapper process's own CPU (all threads, packer excluded): {own:.2f} s median "
        f"= {own / raw.median_cpu():.3f} of raw packer's CPU"
    )
    ratio = wrapper.median_wall() / raw.median_wall()
    verdict = "PASS" if ratio <= TARGET_WALL_RATIO else "FAIL"
    print(
        f"wall ratio wrapper/raw = {ratio:.3f} (target <= {TARGET_WALL_RATIO}): {verdict}; "
        f"extra wall {wrapper.median_wall() - raw.median_wall():+.2f} s, "
        f"extra cpu {wrapper.median_cpu() - raw.median_cpu():+.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
