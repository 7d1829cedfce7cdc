"""Registry: channel-lookup latency and registration throughput, SQLite and PostgreSQL.

For each backend (the embedded SQLite file, and a private PostgreSQL server started
as the tests start it, or --pg-url): a registry with --versions versions of one
build (three Azure regions each) and a `production` channel, then

- lookup latency in-process (`hybridcore.packer.registry_lookup`, --lookups calls)
  and through the CLI (`hybridcore-packer registry lookup`, stdin JSON, --cli-lookups
  runs): median and p99;
- registration throughput: 16 writer processes (--writers) each register --per-writer
  versions of one build at once, after a start barrier; versions per second of wall time.

Run: .venv/bin/python bench/registry.py [--lookups 2000] [--cli-lookups 40]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hybridcore import packer  # noqa: E402
from hybridcore.packer.base.artifact_record import ArtifactRecord, Image, Provenance  # noqa: E402
from hybridcore.packer.store.registry.store import open_registry  # noqa: E402
from hybridcore.packer.store.registry.target import resolve_target  # noqa: E402
from hybridcore.packer.store.registry.versions import NewVersion  # noqa: E402

REGIONS = ("northeurope", "westeurope", "swedencentral")
QUERY = {"build": "azure-arm.app", "channel": "production", "platform": "azure"}

WRITER = textwrap.dedent(
    """
    import sys, time, uuid
    from pathlib import Path
    from hybridcore.packer.base.artifact_record import ArtifactRecord, Image, Provenance
    from hybridcore.packer.store.registry.store import open_registry
    from hybridcore.packer.store.registry.target import resolve_target
    from hybridcore.packer.store.registry.versions import NewVersion
    url, worker, signals, count = sys.argv[1:5]
    store = open_registry(resolve_target(url, workdir=Path("."), environ={}))
    provenance = Provenance(command_id=None, source="build", git_sha=None, git_dirty=None,
        packer_version=None, packer_run_uuid=None, inputs_digest=None, started_at=None,
        finished_at=None)
    Path(signals, f"ready.{worker}").touch()
    while not Path(signals, "go").exists():
        time.sleep(0.002)
    for n in range(int(count)):
        image = f"ami-{worker}-{n}"
        record = ArtifactRecord(record_id=uuid.uuid4().hex, build="bench.writers",
            builder_type="amazon-ebs", builder_id=None, platform="aws",
            artifact_id=f"eu-west-1:{image}", images=[Image(region="eu-west-1", id=image)],
            details={}, files=[], custom_data=None, provenance=provenance)
        store.register(NewVersion(build="bench.writers", source="build", records=[record]))
    """
)


def _record(n: int) -> ArtifactRecord:
    image = f"/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Compute/images/app-{n}"
    return ArtifactRecord(
        record_id=uuid.uuid4().hex,
        build="azure-arm.app",
        builder_type="azure-arm",
        builder_id=None,
        platform="azure",
        artifact_id=image,
        images=[Image(region=region, id=f"{image}-{region}") for region in REGIONS],
        details={},
        files=[],
        custom_data=None,
        provenance=Provenance(
            command_id=None,
            source="build",
            git_sha=None,
            git_dirty=None,
            packer_version="1.6.6",
            packer_run_uuid=None,
            inputs_digest=None,
            started_at=None,
            finished_at=None,
        ),
    )


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms"


def _populate(url: str, workdir: Path, versions: int) -> None:
    store = open_registry(resolve_target(url, workdir=workdir, environ={}))
    for n in range(versions):
        store.register(NewVersion(build="azure-arm.app", source="build", records=[_record(n)]))
    store.assign("azure-arm.app", "production", str(versions // 2))


def _lookups_in_process(url: str, workdir: Path, count: int) -> list[float]:
    samples = []
    for region in REGIONS * (count // len(REGIONS)):
        start = time.perf_counter()
        report = packer.registry_lookup({**QUERY, "region": region}, registry=url, workdir=workdir)
        samples.append(time.perf_counter() - start)
        assert report.exit_code == 0, report.message
    return samples


def _lookups_cli(url: str, workdir: Path, count: int) -> list[float]:
    cli = str(Path(sys.executable).with_name("hybridcore-packer"))
    samples = []
    for n in range(count):
        query = json.dumps({**QUERY, "region": REGIONS[n % len(REGIONS)]})
        start = time.perf_counter()
        proc = subprocess.run(
            [cli, "--workdir", str(workdir), "--registry", url, "registry", "lookup"],
            input=query,
            capture_output=True,
            text=True,
            check=False,
        )
        samples.append(time.perf_counter() - start)
        assert proc.returncode == 0, proc.stderr
    return samples


def _throughput(url: str, workdir: Path, writers: int, per_writer: int) -> tuple[float, int]:
    signals = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, str(w), str(signals), str(per_writer)])
        for w in range(writers)
    ]
    while len(list(signals.glob("ready.*"))) < writers:
        if any(p.poll() not in (None, 0) for p in procs):
            sys.exit("error: a writer failed before the start")
        time.sleep(0.01)
    start = time.perf_counter()
    (signals / "go").touch()
    for proc in procs:
        if proc.wait() != 0:
            sys.exit("error: a writer failed")
    elapsed = time.perf_counter() - start
    store = open_registry(resolve_target(url, workdir=workdir, environ={}))
    found = len(store.versions("bench.writers"))
    if found != writers * per_writer:
        sys.exit(f"error: {found} versions registered, expected {writers * per_writer}")
    return elapsed, found


@contextmanager
def _postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.registry_pg import running_server

    with running_server() as server:
        yield server.url(server.create_database())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--cli-lookups", type=int, default=40)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--per-writer", type=int, default=25)
    parser.add_argument("--pg-url", default=None, help="an empty PostgreSQL database to use")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as temp:
        root = Path(temp)
        backends = {"sqlite": f"sqlite:///{root / 'registry.db'}", "postgresql": None}
        for name, fixed in backends.items():
            if args.only and name != args.only:
                continue
            with _postgres(args.pg_url) if fixed is None else _fixed(fixed) as url:
                workdir = root / name
                workdir.mkdir()
                _populate(url, workdir, args.versions)
                inproc = _lookups_in_process(url, workdir, args.lookups)
                cli = _lookups_cli(url, workdir, args.cli_lookups)
                elapsed, count = _throughput(url, workdir, args.writers, args.per_writer)
                print(f"{name}:")
                print(f"  lookup in-process ({len(inproc)} calls)  {_ms(inproc)}")
                print(f"  lookup via CLI ({len(cli)} runs)        {_ms(cli)}")
                print(
                    f"  registration, {args.writers} writer processes: {count} versions in "
                    f"{elapsed:.2f} s = {count / elapsed:.1f} versions/s"
                )
    return 0


@contextmanager
def _fixed(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    raise SystemExit(main())
