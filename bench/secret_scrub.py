"""Scrubbing with many secrets: MB/s of machine-readable lines through `build`.

A stand-in `packer` (a shell script) answers `version` with `Packer v1.6.6` and
otherwise `cat`s --mb MB (default 128) of Packer's `-machine-readable` lines
(`ts,target,ui,message,text`, ~110 bytes). --secrets values (default 50) are
registered with `--secret-env`, chosen so every encoder family has work (commas,
quotes, backslashes, tabs, non-ASCII, emoji, multi-line); one line in
--secret-every (default 20) holds one of them, in a form of a family taken in
turn (plain, JSON, shell-quoted, URL, base64, hex, ...). Measured in one run,
interleaved, median of --runs:

  cat-pipe  stand-in | cat > /dev/null
  wrapper   hybridcore-packer --workdir <tmp> build --secret-env S00 ... <dir>

Prints MB/s of both and their ratio, then checks that no file under a wrapper
workdir holds a secret form. Target: >= 150 MB/s through the wrapper.

Run: .venv/bin/python bench/secret_scrub.py [--runs 3] [--mb 128] [--secrets 50]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

TARGET_MBS = 150.0
MB = 1_000_000
LINE_BYTES = 110
SPICE = [",", '"', "\\", "\t", "é", "🔑", "\n", "'", " ", "$"]

STANDIN = """\
#!/bin/sh
if [ "$1" = version ]; then
  echo "Packer v1.6.6"
  exit 0
fi
cat "{data}"
"""

TEMPLATE = """\
source "null" "bench" {
  communicator = "none"
}

build {
  sources = ["source.null.bench"]
}
"""

FAMILIES = [
    lambda v: v,
    lambda v: json.dumps(v)[1:-1],
    lambda v: json.dumps(json.dumps(v))[1:-1],
    shlex.quote,
    lambda v: quote(v, safe=""),
    lambda v: base64.b64encode(v.encode()).decode(),
    lambda v: v.encode().hex(),
    lambda v: v.encode("unicode_escape").decode(),
]


def secret_values(count: int) -> list[str]:
    return [
        f"bench{index:02d}-{os.urandom(6).hex()}{SPICE[index % len(SPICE)]}{os.urandom(3).hex()}"
        for index in range(count)
    ]


def machine_line(index: int, text: str) -> str:
    """One `-machine-readable` UI line, escaped as Packer escapes it."""
    text = text.replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r").replace("\n", "\\n")
    line = f"{1_700_000_000 + index // 1000},null.bench,ui,message,    null.bench: {text}"
    return line + " " * max(0, LINE_BYTES - 1 - len(line.encode())) + "\n"


def generate(path: Path, size: int, values: list[str], every: int) -> tuple[int, int]:
    """Write ~`size` bytes of lines; return (bytes, lines holding a secret)."""
    lines = []
    held = 0
    for index in range(10_000):
        if index % every == 0:
            value = values[(index // every) % len(values)]
            form = FAMILIES[(index // every) % len(FAMILIES)](value)
            lines.append(machine_line(index, f"token {form} step {index}"))
            held += 1
        else:
            lines.append(machine_line(index, f"step {index:07d} output: lorem ipsum dolor sit"))
    block = "".join(lines).encode()
    blocks = max(1, -(-size // len(block)))
    with path.open("wb") as out:
        for _ in range(blocks):
            out.write(block)
    return len(block) * blocks, held * blocks


def timed(argv: list[str], env: dict[str, str], cwd: Path, *, shell: bool = False) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv if not shell else " ".join(argv),
        cwd=cwd,
        env=env,
        shell=shell,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"error: {argv} exited with {done.returncode}")
    return wall


def leaks(workdir: Path, values: list[str]) -> list[str]:
    needles = {form(v).encode() for v in values for form in FAMILIES}
    found = []
    for path in workdir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [str(path) for needle in needles if needle in data][:1]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mb", type=float, default=128)
    parser.add_argument("--secrets", type=int, default=50)
    parser.add_argument("--secret-every", type=int, default=20)
    parser.add_argument("--cli", default=str(Path(sys.executable).with_name("hybridcore-packer")))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-scrub-") as tmp_name:
        tmp = Path(tmp_name)
        values = secret_values(args.secrets)
        data = tmp / "machine.txt"
        size, held = generate(data, int(args.mb * MB), values, args.secret_every)
        standin = tmp / "packer"
        standin.write_text(STANDIN.format(data=data), encoding="utf-8")
        standin.chmod(0o755)
        (tmp / "template").mkdir()
        (tmp / "template" / "bench.pkr.hcl").write_text(TEMPLATE, encoding="utf-8")
        names = [f"HC_BENCH_S{index:02d}" for index in range(len(values))]
        env = {**os.environ, **dict(zip(names, values, strict=True))}
        flags = [f"--secret-env={name}" for name in names]
        print(
            f"{size / MB:.1f} MB of machine-readable lines, {held} holding one of "
            f"{len(values)} secrets (families taken in turn)",
            flush=True,
        )
        walls: dict[str, list[float]] = {"cat-pipe": [], "wrapper": []}
        leaked: list[str] = []
        for run in range(args.runs):
            for name in ["cat-pipe", "wrapper"] if run % 2 == 0 else ["wrapper", "cat-pipe"]:
                if name == "cat-pipe":
                    wall = timed([str(standin), "build", "|", "cat"], env, tmp, shell=True)
                else:
                    workdir = tmp / f"wd-{run}"
                    argv = [args.cli, "--workdir", str(workdir), "--packer", str(standin)]
                    wall = timed([*argv, "build", *flags, str(tmp / "template")], env, tmp)
                    leaked += leaks(workdir, values)
                    shutil.rmtree(workdir, ignore_errors=True)
                walls[name].append(wall)
            print(
                f"  run {run + 1}/{args.runs}: "
                + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in walls.items()),
                flush=True,
            )
    rate = {name: size / MB / statistics.median(wall) for name, wall in walls.items()}
    print(f"  cat-pipe  {rate['cat-pipe']:8.1f} MB/s (median of {args.runs})")
    print(f"  wrapper   {rate['wrapper']:8.1f} MB/s (median of {args.runs})")
    print(f"  ratio wrapper/cat-pipe: {rate['wrapper'] / rate['cat-pipe']:.4f}")
    verdict = "PASS" if rate["wrapper"] >= TARGET_MBS else "FAIL"
    target = f"target >= {TARGET_MBS:.0f}"
    print(f"  wrapper {rate['wrapper']:.1f} MB/s end to end ({target}): {verdict}")
    print(f"  secret check: {'PASS' if not leaked else 'FAIL: ' + ', '.join(leaked[:5])}")
    return 0 if not leaked else 1


if __name__ == "__main__":
    sys.exit(main())
