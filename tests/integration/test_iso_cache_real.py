"""The shared ISO cache with the real packer: two qemu builds (fake QEMU binaries) share one
ISO that was fetched once, each through its own cache view, and a version bump purges it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hybridcore.packer.store.iso_cache import SharedIsoCache
from hybridcore.packer.template.iso_sources import iso_sources
from tests.conftest import write_template
from tests.iso_server import IsoServer

pytestmark = pytest.mark.integration

# The "VM" runs 3 s: Packer 1.6.6's qemu driver waits 2 s for an early failure, and a VM
# that exits within those 2 s can leave Packer waiting for a shutdown it already missed.
FAKE_QEMU = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = "-version" ]; then echo "QEMU emulator version 5.2.0"; exit 0; fi
done
sleep 3
exit 0
"""
FAKE_QEMU_IMG = """#!/bin/sh
# create: touch the second-to-last argument; convert: touch the last one
command="$1"
last=""; previous=""
for arg in "$@"; do previous="$last"; last="$arg"; done
case "$command" in
  create) touch "$previous" ;;
  convert) touch "$last" ;;
esac
exit 0
"""

TEMPLATE = """
variable "iso_url" {
  default = "%(url)s"
}
variable "iso_checksum" {
  default = "%(checksum)s"
}
source "qemu" "lab1" {
  iso_url          = var.iso_url
  iso_checksum     = var.iso_checksum
  communicator     = "none"
  qemu_binary      = "%(qemu)s"
  headless         = true
  disk_size        = "100M"
  output_directory = "out-lab1"
  shutdown_timeout = "30s"
  disable_vnc      = true
  boot_wait        = "0s"
}
source "qemu" "lab2" {
  iso_url          = var.iso_url
  iso_checksum     = var.iso_checksum
  communicator     = "none"
  qemu_binary      = "%(qemu)s"
  headless         = true
  disk_size        = "100M"
  output_directory = "out-lab2"
  shutdown_timeout = "30s"
  disable_vnc      = true
  boot_wait        = "0s"
}
build {
  sources = ["source.qemu.lab1", "source.qemu.lab2"]
}
"""


@pytest.fixture
def fakebin(tmp_path: Path) -> Path:
    directory = tmp_path / "fakebin"
    directory.mkdir()
    for name, text in (("qemu-system-x86_64", FAKE_QEMU), ("qemu-img", FAKE_QEMU_IMG)):
        (directory / name).write_text(text)
        (directory / name).chmod(0o755)
    return directory


def _packer_build(
    template: Path, build: str, view: Path, fakebin: Path, tmp: Path, *extra: str
) -> subprocess.Popen[str]:
    (tmp / build).mkdir(parents=True)
    env = {
        **os.environ,
        "PATH": f"{fakebin}{os.pathsep}{os.environ['PATH']}",
        "PACKER_CACHE_DIR": str(view),
        "CHECKPOINT_DISABLE": "1",
        "PACKER_NO_COLOR": "1",
        "TMPDIR": str(tmp / build),
    }
    env.pop("PACKER_LOG", None)
    return subprocess.Popen(
        [
            shutil.which("packer") or "packer",
            "build",
            "-color=false",
            f"-only={build}",
            *extra,
            ".",
        ],
        cwd=template,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_parallel_qemu_builds_share_one_fetched_iso_then_a_bump_purges_it(
    tmp_path: Path, iso_server: IsoServer, fakebin: Path
) -> None:
    assert shutil.which("packer"), "integration tests need packer on PATH"
    directory, base = iso_server.root, iso_server.base
    iso = b"tiny iso, version 1\n" * 5000
    (directory / "tiny.iso").write_bytes(iso)
    checksum = "sha256:" + hashlib.sha256(iso).hexdigest()
    project = tmp_path / "project"
    write_template(
        project,
        TEMPLATE
        % {
            "url": f"{base}/tiny.iso",
            "checksum": checksum,
            "qemu": fakebin / "qemu-system-x86_64",
        },
    )
    cache = SharedIsoCache(tmp_path / "work" / "packer_cache")

    sources = iso_sources(project, variables={}, var_files=[])
    assert [s.build for s in sources] == ["qemu.lab1", "qemu.lab2"]
    report = cache.prepare(sources)
    assert len(report.fetched) == 1
    assert iso_server.gets("tiny.iso") == 1
    before = cache.fingerprint()

    builds = {}
    for source in sources:
        view = cache.view(tmp_path / "views" / source.build, [source])
        builds[source.build] = _packer_build(project, source.build, view, fakebin, tmp_path)
    outputs = {name: child.communicate(timeout=300)[0] for name, child in builds.items()}

    for name, child in builds.items():
        assert child.returncode == 0, outputs[name]
        assert f"--> {name}: VM files in directory: out-" in outputs[name], outputs[name]
        assert (project / f"out-{name.split('.')[1]}").is_dir()
        assert (tmp_path / "views" / name / f"{sources[0].cache_name}.lock").exists()
    assert iso_server.gets("tiny.iso") == 1  # the builds fetched nothing
    assert iso_server.heads("tiny.iso") == 0
    assert cache.modified_since(before) == []
    assert cache.fingerprint() == before
    assert not list(cache.root.glob("*.lock"))  # Packer locked in the views only

    # version bump through a var file: new URL and checksum
    iso2 = b"tiny iso, version 2\n" * 5000
    (directory / "tiny-2.iso").write_bytes(iso2)
    checksum2 = "sha256:" + hashlib.sha256(iso2).hexdigest()
    bump = project / "v2.pkrvars.hcl"
    bump.write_text(f'iso_url = "{base}/tiny-2.iso"\niso_checksum = "{checksum2}"\n')
    bumped = iso_sources(project, variables={}, var_files=[bump])

    report = cache.prepare(bumped)

    (purged,) = report.purged
    assert purged.cache_name == sources[0].cache_name
    assert (purged.url, purged.checksum) == (f"{base}/tiny.iso", checksum)
    assert purged.template == str(project)
    assert [f.cache_name for f in report.fetched] == [bumped[0].cache_name]
    assert not (cache.root / sources[0].cache_name).exists()
    assert iso_server.gets("tiny-2.iso") == 1
    assert cache.fingerprint() == {bumped[0].cache_name: cache.fingerprint()[bumped[0].cache_name]}

    # and a build of the new version still downloads nothing itself
    view = cache.view(tmp_path / "views2" / "qemu.lab1", bumped[:1])
    child = _packer_build(
        project, "qemu.lab1", view, fakebin, tmp_path / "again", "-force", f"-var-file={bump}"
    )
    output = child.communicate(timeout=300)[0]
    assert child.returncode == 0, output
    assert iso_server.gets("tiny-2.iso") == 1


def test_parallel_build_through_the_tool_shares_the_cache_and_purges_a_bump(
    tmp_path: Path,
    iso_server: IsoServer,
    fakebin: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole path: `build(parallel=2)` fetches the ISO once before the builds, each
    build sees it through its own view, nothing changes the shared copy, and a bumped
    ISO is purged before the next builds start (the result says so)."""
    from hybridcore import packer

    directory, base = iso_server.root, iso_server.base
    iso = b"tiny iso, version 1\n" * 5000
    (directory / "tiny.iso").write_bytes(iso)
    checksum = "sha256:" + hashlib.sha256(iso).hexdigest()
    project = tmp_path / "project"
    write_template(
        project,
        TEMPLATE
        % {"url": f"{base}/tiny.iso", "checksum": checksum, "qemu": fakebin / "qemu-system-x86_64"},
    )
    monkeypatch.setenv("PATH", f"{fakebin}{os.pathsep}{os.environ['PATH']}")
    workdir = tmp_path / "wd"

    first = packer.build(".", parallel=2, workdir=workdir, cwd=project)

    assert first.exit_code == 0, first.message
    assert first.cache is not None
    assert [f["url"] for f in first.cache["fetched"]] == [f"{base}/tiny.iso"]
    assert first.cache["modified_during_builds"] == []
    assert iso_server.gets("tiny.iso") == 1 and iso_server.heads("tiny.iso") == 0
    assert sorted(r.build for r in first.records) == ["qemu.lab1", "qemu.lab2"]
    assert {r.platform for r in first.records} == {"qemu"}
    assert len({run.workspace or run.label for run in first.runs}) == 2

    iso2 = b"tiny iso, version 2\n" * 5000
    (directory / "tiny-2.iso").write_bytes(iso2)
    bump = project / "v2.pkrvars.hcl"
    bump.write_text(
        f'iso_url = "{base}/tiny-2.iso"\n'
        f'iso_checksum = "sha256:{hashlib.sha256(iso2).hexdigest()}"\n'
    )
    second = packer.build(
        ".", var_files=["v2.pkrvars.hcl"], force=True, parallel=2, workdir=workdir, cwd=project
    )

    assert second.exit_code == 0, second.message
    assert second.cache is not None
    assert [p["url"] for p in second.cache["purged"]] == [f"{base}/tiny.iso"]
    assert [f["url"] for f in second.cache["fetched"]] == [f"{base}/tiny-2.iso"]
    assert iso_server.gets("tiny-2.iso") == 1
    assert iso_server.gets("tiny.iso") == 1
