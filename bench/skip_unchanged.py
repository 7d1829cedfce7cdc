"""`build --skip-unchanged` on an unchanged tree vs a plain rebuild.

Generates (in a temp dir) a template with one `null` source whose `shell-local`
provisioner runs a script that sleeps --sleep seconds (default 5). Builds it once with
the CLI, then times, interleaved (order alternating), --runs times each (default 3):

  rebuild  `hybridcore-packer build --force DIR`
  skip     `hybridcore-packer build --skip-unchanged DIR` (nothing changed)

each as a fresh `python -m hybridcore.cli` process, and reports both medians and the
speed-up rebuild/skip. Target: >= 10. Packer runs through a wrapper script that logs
every invocation's argv and execs the real packer, so the script also checks (and
prints) that no skip run started a `packer build` and that every skip run reported
the build as skipped.

Run: .venv/bin/python bench/skip_unchanged.py [--runs 3] [--sleep 5] [--packer PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_SPEEDUP = 10.0

TEMPLATE = """\
source "null" "slow" {
  communicator = "none"
}

build {
  sources = ["source.null.slow"]

  provisioner "shell-local" {
    script = "${path.root}/scripts/slow.sh"
  }
}
"""

WRAPPER = """\
#!/bin/sh
printf '%s\\n' "$*" >> "{log}"
exec "{real}" "$@"
"""


def _project(root: Path, sleep: float, real_packer: str) -> tuple[Path, Path]:
    template_dir = root / "template"
    (template_dir / "scripts").mkdir(parents=True)
    (template_dir / "main.pkr.hcl").write_text(TEMPLATE)
    script = template_dir / "scripts" / "slow.sh"
    script.write_text(f"#!/bin/sh\necho provisioning\nsleep {sleep}\necho done\n")
    script.chmod(0o755)
    log = root / "packer-calls.log"
    wrapper = root / "packer-wrapper"
    wrapper.write_text(WRAPPER.format(log=log, real=real_packer))
    wrapper.chmod(0o755)
    return wrapper, log


def _cli(root: Path, wrapper: Path, *args: str) -> tuple[float, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PKR_VAR_", "PACKER_"))}
    env["CHECKPOINT_DISABLE"] = "1"
    command = [sys.executable, "-m", "hybridcore.cli", "--workdir", "wd", "--packer"]
    started = time.perf_counter()
    proc = subprocess.run(
        [*command, str(wrapper), "--json", "build", *args, "template"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = json.loads(proc.stdout)
    if proc.returncode != 0:
        sys.exit(f"build {' '.join(args)} failed ({proc.returncode}): {result['message']}")
    return elapsed, result


def _packer_builds(log: Path) -> int:
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if line.split()[:1] == ["build"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--sleep", type=float, default=5.0, help="provisioner sleep, seconds")
    parser.add_argument("--packer", default=shutil.which("packer"), help="the real packer")
    args = parser.parse_args()
    if not args.packer:
        sys.exit("packer not found on PATH (pass --packer)")
    with tempfile.TemporaryDirectory(prefix="bench-skip-") as tmp:
        root = Path(tmp)
        wrapper, log = _project(root, args.sleep, args.packer)
        first, _ = _cli(root, wrapper)
        print(f"first build (provisioner sleeps {args.sleep:g} s): {first:.2f} s")

        rebuild: list[float] = []
        skip: list[float] = []
        skip_started_builds = 0
        skipped_ok = True
        for run in range(args.runs):
            order = ["rebuild", "skip"] if run % 2 == 0 else ["skip", "rebuild"]
            for variant in order:
                if variant == "rebuild":
                    elapsed, result = _cli(root, wrapper, "--force")
                    rebuild.append(elapsed)
                    continue
                before = _packer_builds(log)
                elapsed, result = _cli(root, wrapper, "--skip-unchanged")
                skip.append(elapsed)
                skip_started_builds += _packer_builds(log) - before
                names = [item["build"] for item in result["skipped"]]
                skipped_ok &= names == ["null.slow"] and result["runs"] == []
            print(f"run {run + 1}: rebuild {rebuild[-1]:.3f} s, skip-unchanged {skip[-1]:.3f} s")

    rebuild_median = statistics.median(rebuild)
    skip_median = statistics.median(skip)
    speedup = rebuild_median / skip_median
    print(f"rebuild (build --force)        median {rebuild_median:.3f} s")
    print(f"skip (build --skip-unchanged)  median {skip_median:.3f} s")
    verdict = "PASS" if speedup >= TARGET_SPEEDUP else "FAIL"
    print(f"speed-up rebuild/skip = {speedup:.1f}x (target >= {TARGET_SPEEDUP:g}x) {verdict}")
    print(
        f"packer build processes started by the {args.runs} skip runs: {skip_started_builds} "
        f"({'PASS' if skip_started_builds == 0 else 'FAIL'}); result.skipped named the build "
        f"every time: {'yes' if skipped_ok else 'NO'}"
    )
    return 0 if speedup >= TARGET_SPEEDUP and skip_started_builds == 0 and skipped_ok else 1


if __name__ == "__main__":
    sys.exit(main())
