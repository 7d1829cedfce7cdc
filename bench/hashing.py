"""Input hashing throughput and the stat cache's warm re-check.

Part 1, throughput: writes --files files of --mb MB of random bytes each (default
16 x 64 MB = 1 GiB) into a temp dir, reads them once so the page cache is warm for
both contenders, then times, interleaved (order alternating), --runs times each:

  ours       hybridcore.packer.store.hashing.hash_files(paths, None, full=True)
             (chunked reads, several files at once on a thread pool)
  sha256sum  `sha256sum <files>`, output to a pipe this script drains

and reports the medians and ours/sha256sum. Target: ratio <= 1.0. Both must agree on
every digest.

Part 2, stat cache: writes --small-files files of --small-kb KB each (default 5,000 x
20 KB) and times, interleaved, --runs times each:

  cold  an empty HashCache (no cache file): every file read and hashed, cache saved
  warm  the same HashCache loaded from its file, nothing changed: one stat per file

Both run with the files in the page cache, so "cold" is the fastest a from-scratch
hash can be and the ratio is conservative. Reports medians and cold/warm. Target:
ratio >= 5.

Run: .venv/bin/python bench/hashing.py [--mb 64] [--files 16] [--runs 3]
     [--small-files 5000] [--small-kb 20] [--dir /some/tmp]
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
from collections.abc import Callable
from pathlib import Path

from hybridcore.packer.store.hashing import HashCache, hash_files

TARGET_THROUGHPUT_RATIO = 1.0
TARGET_WARM_SPEEDUP = 5.0
WRITE_CHUNK = 1 << 20


def _write_random(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        left = size
        while left > 0:
            count = min(WRITE_CHUNK, left)
            handle.write(os.urandom(count))
            left -= count


def _warm_page_cache(paths: list[Path]) -> None:
    for path in paths:
        with path.open("rb", buffering=0) as handle:
            while handle.read(1 << 22):
                pass


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _sha256sum(binary: str, paths: list[Path]) -> dict[Path, str]:
    proc = subprocess.run(
        [binary, "--", *map(str, paths)], stdout=subprocess.PIPE, check=True, text=True
    )
    found = {}
    for line in proc.stdout.splitlines():
        digest, name = line.split(maxsplit=1)
        found[Path(name.lstrip("*"))] = digest
    return found


def _ours(paths: list[Path]) -> dict[Path, str]:
    return {path: value.sha256 for path, value in hash_files(paths, None, full=True).items()}


def throughput(root: Path, files: int, mb: int, runs: int) -> bool:
    binary = shutil.which("sha256sum")
    if binary is None:
        sys.exit("sha256sum not found on PATH")
    big = root / "big"
    big.mkdir()
    paths = [big / f"blob-{i:03}.bin" for i in range(files)]
    total = files * mb * (1 << 20)
    print(f"== part 1: throughput, {files} files x {mb} MiB = {total / (1 << 30):.2f} GiB")
    started = time.perf_counter()
    for path in paths:
        _write_random(path, mb * (1 << 20))
    print(f"   wrote the files in {time.perf_counter() - started:.1f} s; warming the page cache")
    _warm_page_cache(paths)

    if _ours(paths) != _sha256sum(binary, paths):
        sys.exit("digests differ between hash_files and sha256sum")
    print("   digests agree (hash_files == sha256sum on every file)")

    ours: list[float] = []
    theirs: list[float] = []
    for run in range(runs):
        order = [("ours", ours), ("sha256sum", theirs)]
        if run % 2:
            order.reverse()
        for name, times in order:
            action = (
                (lambda: _ours(paths)) if name == "ours" else (lambda: _sha256sum(binary, paths))
            )
            times.append(_timed(action))
        print(f"   run {run + 1}: ours {ours[-1]:.3f} s, sha256sum {theirs[-1]:.3f} s")
    ours_median = statistics.median(ours)
    theirs_median = statistics.median(theirs)
    ratio = ours_median / theirs_median
    gib = total / (1 << 30)
    print(f"   ours      median {ours_median:.3f} s  ({gib / ours_median:.2f} GiB/s)")
    print(f"   sha256sum median {theirs_median:.3f} s  ({gib / theirs_median:.2f} GiB/s)")
    verdict = "PASS" if ratio <= TARGET_THROUGHPUT_RATIO else "FAIL"
    print(f"   ratio ours/sha256sum = {ratio:.3f} (target <= {TARGET_THROUGHPUT_RATIO}) {verdict}")
    shutil.rmtree(big)
    return ratio <= TARGET_THROUGHPUT_RATIO


def stat_cache(root: Path, count: int, kb: int, runs: int) -> bool:
    small = root / "small"
    paths = []
    for i in range(count):
        directory = small / f"d{i // 250:03}"
        if i % 250 == 0:
            directory.mkdir(parents=True)
        path = directory / f"f{i:05}.txt"
        path.write_bytes(os.urandom(kb * 1024))
        paths.append(path)
    cache_file = root / "state" / "hash-cache.json"
    print(f"== part 2: stat cache, {count} files x {kb} KiB (page cache warm)")

    def cold() -> None:
        cache_file.unlink(missing_ok=True)
        cache = HashCache(cache_file)
        found = hash_files(paths, cache)
        cache.save()
        assert len(found) == count

    def warm() -> None:
        cache = HashCache(cache_file)
        found = hash_files(paths, cache)
        cache.save()
        assert len(found) == count

    cold()  # first pass: page cache and a cache file for the first warm run
    cold_times: list[float] = []
    warm_times: list[float] = []
    for run in range(runs):
        # warm needs the cache file that cold writes: cold, warm, then warm, cold, ...
        if run % 2:
            warm_times.append(_timed(warm))
            cold_times.append(_timed(cold))
        else:
            cold_times.append(_timed(cold))
            warm_times.append(_timed(warm))
        print(f"   run {run + 1}: cold {cold_times[-1]:.3f} s, warm {warm_times[-1]:.3f} s")
    cold_median = statistics.median(cold_times)
    warm_median = statistics.median(warm_times)
    speedup = cold_median / warm_median
    print(f"   cold (empty cache, every file hashed) median {cold_median:.3f} s")
    print(f"   warm (cache loaded from disk, re-check)  median {warm_median:.3f} s")
    verdict = "PASS" if speedup >= TARGET_WARM_SPEEDUP else "FAIL"
    print(f"   ratio cold/warm = {speedup:.2f} (target >= {TARGET_WARM_SPEEDUP}) {verdict}")
    return speedup >= TARGET_WARM_SPEEDUP


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="MiB per large file (default 64)")
    parser.add_argument("--files", type=int, default=16, help="large files (default 16)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--small-files", type=int, default=5000, help="default 5000")
    parser.add_argument("--small-kb", type=int, default=20, help="KiB per small file")
    parser.add_argument("--dir", default=None, help="where to create the temp dir")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-hashing-", dir=args.dir) as tmp:
        root = Path(tmp)
        fast = throughput(root, args.files, args.mb, args.runs)
        cached = stat_cache(root, args.small_files, args.small_kb, args.runs)
    print(
        f"== summary: throughput {'PASS' if fast else 'FAIL'}, stat cache "
        f"{'PASS' if cached else 'FAIL'}"
    )
    return 0 if fast and cached else 1


if __name__ == "__main__":
    sys.exit(main())
