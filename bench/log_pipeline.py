"""Log pipeline ceiling: MB/s of Packer output through `hybridcore-packer build`.

A stand-in `packer` (a shell script generated into a temp dir) answers `version` with
`Packer v1.6.6`; for anything else it `cat`s a pre-generated file of ~100-byte lines
(--mb MB, default 128) to stdout as fast as the kernel allows, and the first
--rawlog-mb MB (default 1) of it to $PACKER_LOG_PATH (the raw-log pipe). One line in
--secret-every (default 20) holds a secret value. Measured, interleaved, median of --runs:

  devnull   stand-in > /dev/null                         (producer ceiling)
  cat-pipe  stand-in | cat > /dev/null                   (cost of a pipe)
  empty     hybridcore-packer build, stand-in prints nothing (fixed cost of the wrapper)
  wrapper   hybridcore-packer --workdir <tmp> build --secret-env NAME <dir>
            (NAME exported with the secret value; console output to /dev/null)

MB/s is stdout bytes (1 MB = 10^6 bytes) over wall time; "net" MB/s takes off the median
fixed cost of the wrapper. Line formats (--formats, default both):

  machine   Packer's -machine-readable shape (`ts,target,ui,message,text`), which is what
            the wrapper gets from a real Packer (it always passes -machine-readable)
  plain     human text without commas (the machine-readable rendering is skipped)

After every wrapper run, every file under its workdir is searched for the secret and
the placeholders in hybridcore.log and the raw log are counted against the number of
secret lines sent; the outcome is printed. Target: >= 100 MB/s through the wrapper.

Run: .venv/bin/python bench/log_pipeline.py [--runs 3] [--mb 128] [--formats machine,plain]
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MBS = 100.0
SECRET_ENV = "HYBRIDCORE_BENCH_SECRET"
PLACEHOLDER = b"<sensitive>"
MB = 1_000_000
LINE_BYTES = 100

STANDIN = """\
#!/bin/sh
if [ "$1" = version ]; then
  echo "Packer v1.6.6"
  exit 0
fi
if [ -n "$PACKER_LOG_PATH" ] && [ {rawlog_bytes} -gt 0 ]; then
  head -c {rawlog_bytes} "{data}" > "$PACKER_LOG_PATH" &
fi
cat "{data}"
wait
"""

EMPTY_STANDIN = """\
#!/bin/sh
if [ "$1" = version ]; then
  echo "Packer v1.6.6"
fi
exit 0
"""

TEMPLATE = """\
source "null" "bench" {
  communicator = "none"
}

build {
  sources = ["source.null.bench"]
}
"""


def make_line(fmt: str, index: int, secret: str | None) -> str:
    """One line of about LINE_BYTES bytes (newline included)."""
    if secret is not None:
        text = f"null.bench: login with token {secret} for step {index:07d}, then continue"
    else:
        text = f"null.bench: step {index:07d} output: lorem ipsum dolor sit amet consectetur"
    if fmt == "machine":
        head = f"{1_700_000_000 + index // 1000},null.bench,ui,message,    "
        text = text.replace(",", "%!(PACKER_COMMA)")
    else:
        head = "    "
        text = text.replace(",", ";")
    line = head + text
    return line + " " * max(0, LINE_BYTES - 1 - len(line)) + "\n"


def generate(path: Path, fmt: str, size: int, secret: str, every: int) -> tuple[int, int, int]:
    """Write ~`size` bytes of whole lines; return (bytes, lines, secret lines)."""
    lines = [make_line(fmt, i, secret if i % every == 0 else None) for i in range(10_000)]
    block = "".join(lines).encode()
    per_block = sum(1 for i in range(10_000) if i % every == 0)
    blocks = max(1, -(-size // len(block)))
    with path.open("wb") as out:
        for _ in range(blocks):
            out.write(block)
    return len(block) * blocks, 10_000 * blocks, per_block * blocks


def secret_lines_in_prefix(path: Path, size: int, secret: bytes) -> int:
    """Whole lines holding `secret` in the first `size` bytes of `path`."""
    with path.open("rb") as f:
        head = f.read(size)
    return head.count(secret)


def count_in_file(path: Path, needle: bytes) -> int:
    """Occurrences of a newline-free `needle`, reading in chunks cut at newlines."""
    count = 0
    carry = b""
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            buf = carry + chunk
            cut = buf.rfind(b"\n") + 1
            if cut == 0:
                carry = buf
                continue
            count += buf.count(needle, 0, cut)
            carry = buf[cut:]
    return count + carry.count(needle)


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(procs: list[list[str]], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run a pipeline of one or two commands, last stdout and all stderr to /dev/null."""
    cpu0 = _cpu_children()
    start = time.perf_counter()
    running: list[subprocess.Popen[bytes]] = []
    stdin: int | None = subprocess.DEVNULL
    for index, argv in enumerate(procs):
        last = index == len(procs) - 1
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=subprocess.DEVNULL if last else subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        if proc.stdout is not None:
            stdin = proc.stdout.fileno()
        if running and running[-1].stdout is not None:
            running[-1].stdout.close()
        running.append(proc)
    codes = [proc.wait() for proc in running]
    wall = time.perf_counter() - start
    cpu = _cpu_children() - cpu0
    if any(codes):
        sys.exit(f"error: {procs} exited with {codes}")
    return wall, cpu


def check_workdir(
    workdir: Path, secret: bytes, sent_stdout: int, sent_rawlog: int
) -> tuple[bool, str]:
    leaks = [
        str(path.relative_to(workdir))
        for path in sorted(workdir.rglob("*"))
        if path.is_file() and count_in_file(path, secret)
    ]
    logs = list(workdir.rglob("hybridcore.log"))
    raws = list(workdir.rglob("*.packer.log"))
    in_log = sum(count_in_file(path, PLACEHOLDER) for path in logs)
    in_raw = sum(count_in_file(path, PLACEHOLDER) for path in raws)
    ok = not leaks and in_log == sent_stdout and in_raw == sent_rawlog and bool(logs)
    detail = (
        f"files holding the secret: {', '.join(leaks) or 'none'}; placeholders in "
        f"hybridcore.log {in_log} (secret lines sent {sent_stdout}), in raw log {in_raw} "
        f"(sent {sent_rawlog})"
    )
    return ok, detail


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per variant (default 3)")
    parser.add_argument("--mb", type=float, default=128, help="stdout MB (default 128)")
    parser.add_argument("--rawlog-mb", type=float, default=1, help="raw log MB (default 1)")
    parser.add_argument("--secret-every", type=int, default=20, help="1 line in N holds it")
    parser.add_argument("--formats", default="machine,plain", help="machine,plain (default)")
    parser.add_argument(
        "--cli",
        default=str(Path(sys.executable).with_name("hybridcore-packer")),
        help="hybridcore-packer executable (default: next to this Python)",
    )
    args = parser.parse_args()
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if not args.formats or set(args.formats) - {"machine", "plain"}:
        parser.error("--formats takes machine and/or plain")
    return args


def bench_format(args: argparse.Namespace, tmp: Path, fmt: str) -> tuple[float, bool]:
    secret = f"hcbench-{secrets.token_hex(8)}"
    data = tmp / f"{fmt}.txt"
    size, lines, secret_lines = generate(data, fmt, int(args.mb * MB), secret, args.secret_every)
    rawlog_bytes = min(int(args.rawlog_mb * MB), size)
    sent_raw = secret_lines_in_prefix(data, rawlog_bytes, secret.encode())
    standin = tmp / f"packer-{fmt}"
    standin.write_text(STANDIN.format(data=data, rawlog_bytes=rawlog_bytes), encoding="utf-8")
    empty = tmp / "packer-empty"
    empty.write_text(EMPTY_STANDIN, encoding="utf-8")
    for script in (standin, empty):
        script.chmod(0o755)
    template = tmp / "template"
    template.mkdir(exist_ok=True)
    (template / "bench.pkr.hcl").write_text(TEMPLATE, encoding="utf-8")
    env = {**os.environ, SECRET_ENV: secret}

    def wrapper(packer: Path, workdir: Path) -> list[str]:
        return [
            args.cli,
            "--workdir",
            str(workdir),
            "--packer",
            str(packer),
            "build",
            "--secret-env",
            SECRET_ENV,
            str(template),
        ]

    print(
        f"[{fmt}] {size / MB:.1f} MB, {lines} lines of {size / lines:.0f} bytes, "
        f"{secret_lines} holding the secret; raw log {rawlog_bytes / MB:.1f} MB",
        flush=True,
    )
    names = ["devnull", "cat-pipe", "empty", "wrapper"]
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    checks: list[tuple[bool, str]] = []
    for run in range(args.runs):
        order = names[run % len(names) :] + names[: run % len(names)]
        for name in order:
            workdir = tmp / f"wd-{fmt}-{name}-{run}"
            if name == "devnull":
                wall, cpu = timed([[str(standin), "build"]], env, tmp)
            elif name == "cat-pipe":
                wall, cpu = timed([[str(standin), "build"], ["cat"]], env, tmp)
            elif name == "empty":
                wall, cpu = timed([wrapper(empty, workdir)], env, tmp)
            else:
                wall, cpu = timed([wrapper(standin, workdir)], env, tmp)
                checks.append(check_workdir(workdir, secret.encode(), secret_lines, sent_raw))
            shutil.rmtree(workdir, ignore_errors=True)
            walls[name].append(wall)
            cpus[name].append(cpu)
        print(
            f"  run {run + 1}/{args.runs}: "
            + ", ".join(f"{name} {walls[name][-1]:.2f}s" for name in names),
            flush=True,
        )

    med = {name: statistics.median(walls[name]) for name in names}
    cpu_med = {name: statistics.median(cpus[name]) for name in names}
    rate = {name: size / MB / med[name] for name in ("devnull", "cat-pipe", "wrapper")}
    net_wall = med["wrapper"] - med["empty"]
    net_rate = size / MB / net_wall if net_wall > 0 else float("inf")
    print(f"  {'variant':<9} {'wall s':>8} {'cpu s':>8} {'MB/s':>9} {'wrapper/this':>13}")
    for name in ("devnull", "cat-pipe", "wrapper"):
        print(
            f"  {name:<9} {med[name]:8.3f} {cpu_med[name]:8.3f} {rate[name]:9.1f} "
            f"{rate['wrapper'] / rate[name]:13.4f}"
        )
    print(f"  {'empty':<9} {med['empty']:8.3f} {cpu_med['empty']:8.3f}   (fixed cost)")
    print(
        f"  net of fixed cost: {net_rate:.1f} MB/s "
        f"({(cpu_med['wrapper'] - cpu_med['empty']) / (size / MB) * 1000:.1f} ms CPU per MB)"
    )
    verdict = "PASS" if rate["wrapper"] >= TARGET_MBS else "FAIL"
    print(
        f"  wrapper {rate['wrapper']:.1f} MB/s end to end (target >= {TARGET_MBS:.0f}): {verdict}"
    )
    leak_ok = all(ok for ok, _ in checks)
    print(f"  secret check ({len(checks)} runs): {'PASS' if leak_ok else 'FAIL'}: {checks[-1][1]}")
    for ok, detail in checks:
        if not ok:
            print(f"    failed run: {detail}")
    return rate["wrapper"], leak_ok


def main() -> int:
    args = parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-logpipe-") as tmp_name:
        for fmt in args.formats:
            results[fmt] = bench_format(args, Path(tmp_name), fmt)
            (Path(tmp_name) / f"{fmt}.txt").unlink()
    print()
    for fmt, (rate, leak_ok) in results.items():
        verdict = "PASS" if rate >= TARGET_MBS else "FAIL"
        print(
            f"{fmt:<8} wrapper {rate:7.1f} MB/s ({verdict} vs {TARGET_MBS:.0f}); "
            f"secret check {'PASS' if leak_ok else 'FAIL'}"
        )
    return 0 if all(ok for _, ok in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
