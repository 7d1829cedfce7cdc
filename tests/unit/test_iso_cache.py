"""The shared ISO cache: template resolution, fetch-once, verification, purge, views."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.store.iso_cache import INDEX_NAME, CacheReport, SharedIsoCache
from hybridcore.packer.template.iso_sources import (
    IsoSource,
    cache_name,
    iso_sources,
    normalize_checksum,
)
from tests.conftest import REPO, write_template
from tests.iso_server import IsoServer


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "work" / "packer_cache"
    yield path
    if path.is_dir():
        path.chmod(0o755)


def _source(template: str, build: str, url: str, checksum: str) -> IsoSource:
    normalized = normalize_checksum(checksum)
    assert normalized is not None
    return IsoSource(build, template, (url,), normalized, cache_name(normalized))


# --- checksum and cache name -----------------------------------------------------------------

HEX = "b026930023cf556b7361722e97c336341dfd3feaf0e76c910f7d5815c0ae3251"


def test_cache_name_is_sha1_of_the_normalised_checksum_string() -> None:
    # Packer 1.6.6 stored an ISO with this checksum as 39f8df4b...iso (seen in its cache dir).
    assert cache_name(f"sha256:{HEX}") == "39f8df4b17b5be9c336fdc1d9fd03fd9cfdd5098.iso"
    expected = hashlib.sha1(f"sha256:{HEX}".encode()).hexdigest() + ".iso"
    assert cache_name(f"sha256:{HEX}") == expected
    assert cache_name(f"sha256:{HEX}", "IMG") == expected.removesuffix(".iso") + ".img"


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        (f"sha256:{HEX}", f"sha256:{HEX}"),
        (HEX, f"sha256:{HEX}"),  # type guessed from the length, as Packer does
        (f"SHA256:{HEX.upper()}", f"sha256:{HEX}"),
        ("md5:" + "A" * 32, "md5:" + "a" * 32),
        ("b" * 40, "sha1:" + "b" * 40),
        ("c" * 128, "sha512:" + "c" * 128),
        ("none", None),
        ("file:http://127.0.0.1/SHA256SUMS", None),
        ("sha256:abc", None),
        ("crc32:" + "0" * 8, None),
        ("sha256:" + "z" * 64, None),
    ],
)
def test_normalize_checksum(given: str, normalized: str | None) -> None:
    assert normalize_checksum(given) == normalized


# --- resolving the templates -----------------------------------------------------------------

TEMPLATE = """
variable "version" {
  default = "1.0"
}
variable "iso_checksum" {
  default = "sha256:%s"
}
variable "mirrors" {
  default = ["http://127.0.0.1:1/a.iso", "ftp://mirror/a.iso"]
}
locals {
  base = "http://127.0.0.1:1/v${var.version}"
}
source "qemu" "a" {
  iso_url      = "${local.base}/a.iso"
  iso_checksum = var.iso_checksum
}
source "qemu" "b" {
  iso_urls     = var.mirrors
  iso_checksum = upper(var.iso_checksum)
}
source "qemu" "c" {
  iso_url      = "http://127.0.0.1:1/c.iso"
  iso_checksum = "none"
}
source "qemu" "d" {
  iso_url      = "http://127.0.0.1:1/d.iso"
  iso_checksum = "file:http://127.0.0.1:1/SHA256SUMS"
}
source "qemu" "unused" {
  iso_url      = "http://127.0.0.1:1/unused.iso"
  iso_checksum = var.iso_checksum
}
source "null" "plain" {
  communicator = "none"
}
build {
  sources = ["source.qemu.a", "source.qemu.b", "source.qemu.c", "source.qemu.d",
             "source.null.plain"]
}
build {
  name = "second"
  source "source.qemu.a" {
    name = "renamed"
  }
}
"""


def _template(tmp_path: Path) -> Path:
    return write_template(tmp_path / "tpl", TEMPLATE % ("1" * 64))


def test_iso_sources_resolve_defaults_locals_and_build_names(tmp_path: Path) -> None:
    target = _template(tmp_path)
    found = iso_sources(target, variables={}, var_files=[])
    # b (a function call), c ("none"), d ("file:") and unused (no build) are not shared
    assert [s.build for s in found] == ["qemu.a", "second.qemu.renamed"]
    first = found[0]
    assert first.template == str(target)
    assert first.urls == ("http://127.0.0.1:1/v1.0/a.iso",)
    assert first.checksum == "sha256:" + "1" * 64
    assert first.cache_name == cache_name("sha256:" + "1" * 64)
    assert found[1].urls == first.urls


def test_var_files_then_variables_win_over_defaults(tmp_path: Path) -> None:
    target = _template(tmp_path)
    hcl = tmp_path / "v2.pkrvars.hcl"
    hcl.write_text(f'version = "2.0"\niso_checksum = "sha256:{"2" * 64}"\n')
    as_json = tmp_path / "v3.json"
    as_json.write_text(json.dumps({"version": "3.0"}))

    after_files = iso_sources(target, variables={}, var_files=[hcl, as_json])
    assert after_files[0].urls == ("http://127.0.0.1:1/v3.0/a.iso",)  # the later file wins
    assert after_files[0].checksum == "sha256:" + "2" * 64

    with_vars = iso_sources(
        target, variables={"version": "4.0", "iso_checksum": "3" * 64}, var_files=[hcl]
    )
    assert with_vars[0].urls == ("http://127.0.0.1:1/v4.0/a.iso",)
    assert with_vars[0].checksum == "sha256:" + "3" * 64


def test_directory_targets_read_auto_var_files_and_pkr_var_environment(tmp_path: Path) -> None:
    target = _template(tmp_path).parent
    from_env = iso_sources(target, variables={}, var_files=[], environ={"PKR_VAR_version": "5"})
    assert from_env[0].urls == ("http://127.0.0.1:1/v5/a.iso",)
    (target / "x.auto.pkrvars.hcl").write_text('version = "6"\n')
    auto = iso_sources(target, variables={}, var_files=[], environ={"PKR_VAR_version": "5"})
    assert auto[0].urls == ("http://127.0.0.1:1/v6/a.iso",)
    assert auto[0].template == str(target)


def test_a_list_variable_feeds_iso_urls_and_unfetchable_urls_are_dropped(tmp_path: Path) -> None:
    target = write_template(
        tmp_path / "t",
        """
        variable "mirrors" {
          default = ["/srv/a.iso", "ftp://mirror/a.iso", "relative/a.iso", "https://m/a.iso"]
        }
        source "qemu" "b" {
          iso_urls     = var.mirrors
          iso_checksum = "%s"
        }
        build { sources = ["source.qemu.b"] }
        """
        % ("e" * 64),
    )
    (found,) = iso_sources(target, variables={}, var_files=[])
    assert found.urls == ("file:///srv/a.iso", "https://m/a.iso")
    assert found.checksum == "sha256:" + "e" * 64


def test_unparsable_templates_and_unknown_variables_give_no_sources(tmp_path: Path) -> None:
    broken = write_template(tmp_path / "broken", 'source "qemu" "x" {\n')
    assert iso_sources(broken, variables={}, var_files=[]) == []
    unknown = write_template(
        tmp_path / "unknown",
        """
        variable "url" {}
        source "qemu" "x" {
          iso_url      = var.url
          iso_checksum = "%s"
          iso_target_extension = "img"
        }
        build { sources = ["source.qemu.x"] }
        """
        % ("e" * 64),
    )
    assert iso_sources(unknown, variables={}, var_files=[]) == []
    (given,) = iso_sources(unknown, variables={"url": "http://127.0.0.1:1/x"}, var_files=[])
    assert given.cache_name.endswith(".img")


# --- prepare: fetch, verify, reuse -----------------------------------------------------------


def test_two_sources_with_the_same_iso_are_fetched_once(iso_server: IsoServer, root: Path) -> None:
    checksum = iso_server.add("tiny.iso", b"iso-1" * 1000)
    url = iso_server.url("tiny.iso")
    sources = [_source("a.pkr.hcl", "qemu.a", url, checksum), _source("b", "qemu.b", url, checksum)]

    report = SharedIsoCache(root).prepare(sources)

    name = sources[0].cache_name
    assert [f.cache_name for f in report.fetched] == [name]
    assert report.fetched[0].size == 5000
    assert report.reused == [] and report.purged == []
    assert iso_server.gets("tiny.iso") == 1
    assert (root / name).read_bytes() == b"iso-1" * 1000
    assert stat.S_IMODE((root / name).stat().st_mode) == 0o444
    assert stat.S_IMODE(root.stat().st_mode) == 0o555
    assert not list(root.glob(".*.part"))
    json.dumps(report.to_dict())

    again = SharedIsoCache(root).prepare(sources)  # a new instance: the index is on disk
    assert again.fetched == [] and again.reused == [name]
    assert iso_server.gets("tiny.iso") == 1
    index = json.loads((root / INDEX_NAME).read_text())
    assert index["schema_version"] == 1
    users = index["entries"][name]["users"]
    assert [u["build"] for u in users] == ["qemu.a", "qemu.b"]
    assert all(Path(u["template"]).is_absolute() for u in users)


def test_a_checksum_mismatch_is_exit_1_and_leaves_nothing(
    iso_server: IsoServer, root: Path
) -> None:
    iso_server.add("tiny.iso", b"real content")
    wrong = "sha256:" + hashlib.sha256(b"other content").hexdigest()
    source = _source("a", "qemu.a", iso_server.url("tiny.iso"), wrong)

    with pytest.raises(HybridcoreError) as caught:
        SharedIsoCache(root).prepare([source])

    assert caught.value.exit_code == 1
    assert caught.value.rule == "iso_checksum"
    assert sorted(p.name for p in root.iterdir()) == [INDEX_NAME]
    assert json.loads((root / INDEX_NAME).read_text())["entries"] == {}
    assert stat.S_IMODE(root.stat().st_mode) == 0o555


def test_download_failures_are_transient_unless_the_file_is_missing(
    iso_server: IsoServer, root: Path
) -> None:
    checksum = iso_server.add("tiny.iso", b"x")
    missing = _source("a", "qemu.a", iso_server.url("missing.iso"), checksum)
    with pytest.raises(HybridcoreError) as not_found:
        SharedIsoCache(root).prepare([missing])
    assert (not_found.value.exit_code, not_found.value.rule) == (1, "iso_download")

    refused = _source("a", "qemu.a", "http://127.0.0.1:9/tiny.iso", checksum)  # discard port
    with pytest.raises(HybridcoreError) as network:
        SharedIsoCache(root, fetch_timeout=5).prepare([refused])
    assert (network.value.exit_code, network.value.rule) == (2, "iso_download")


def test_the_next_url_is_tried_when_one_fails(iso_server: IsoServer, root: Path) -> None:
    checksum = iso_server.add("tiny.iso", b"mirror")
    normalized = checksum
    source = IsoSource(
        "qemu.a",
        "a",
        (iso_server.url("gone.iso"), iso_server.url("tiny.iso")),
        normalized,
        cache_name(normalized),
    )
    report = SharedIsoCache(root).prepare([source])
    assert report.fetched[0].url == iso_server.url("tiny.iso")


def test_a_file_url_works(tmp_path: Path, root: Path) -> None:
    iso = tmp_path / "local.iso"
    iso.write_bytes(b"local iso")
    checksum = "sha1:" + hashlib.sha1(b"local iso").hexdigest()
    source = _source("a", "qemu.a", iso.as_uri(), checksum)
    report = SharedIsoCache(root).prepare([source])
    assert report.fetched[0].url == iso.as_uri()
    assert (root / source.cache_name).read_bytes() == b"local iso"


def test_a_modified_shared_copy_is_verified_and_fetched_again(
    iso_server: IsoServer, root: Path
) -> None:
    checksum = iso_server.add("tiny.iso", b"good")
    source = _source("a", "qemu.a", iso_server.url("tiny.iso"), checksum)
    cache = SharedIsoCache(root)
    cache.prepare([source])
    shared = root / source.cache_name
    root.chmod(0o755)
    shared.chmod(0o644)
    shared.write_bytes(b"evil")
    root.chmod(0o555)

    report = cache.prepare([source])

    assert [f.cache_name for f in report.fetched] == [source.cache_name]
    assert shared.read_bytes() == b"good"
    assert iso_server.gets("tiny.iso") == 2


def test_an_unindexed_file_with_the_right_content_is_adopted(
    iso_server: IsoServer, root: Path
) -> None:
    checksum = iso_server.add("tiny.iso", b"adopt me")
    source = _source("a", "qemu.a", iso_server.url("tiny.iso"), checksum)
    root.mkdir(parents=True)
    (root / source.cache_name).write_bytes(b"adopt me")  # e.g. Packer downloaded it itself
    report = SharedIsoCache(root).prepare([source])
    assert report.reused == [source.cache_name]
    assert iso_server.gets("tiny.iso") == 0


# --- invalidation ----------------------------------------------------------------------------


def test_a_bumped_iso_is_purged_before_the_new_one_is_fetched(
    iso_server: IsoServer, root: Path
) -> None:
    old = _source("a.pkr.hcl", "qemu.a", iso_server.url("v1.iso"), iso_server.add("v1.iso", b"v1"))
    cache = SharedIsoCache(root)
    cache.prepare([old])

    # the new ISO's download fails: the old entry must already be gone (purge comes first)
    missing = _source("a.pkr.hcl", "qemu.a", iso_server.url("v2.iso"), "sha256:" + "2" * 64)
    with pytest.raises(HybridcoreError):
        cache.prepare([missing])
    assert not (root / old.cache_name).exists()
    assert old.cache_name not in json.loads((root / INDEX_NAME).read_text())["entries"]


def test_the_purge_is_listed_in_the_report(iso_server: IsoServer, root: Path) -> None:
    old = _source("a.pkr.hcl", "qemu.a", iso_server.url("v1.iso"), iso_server.add("v1.iso", b"v1"))
    new = _source("a.pkr.hcl", "qemu.a", iso_server.url("v2.iso"), iso_server.add("v2.iso", b"v2"))
    cache = SharedIsoCache(root)
    cache.prepare([old])

    report = cache.prepare([new])

    (purged,) = report.purged
    assert purged.cache_name == old.cache_name
    assert purged.url == iso_server.url("v1.iso")
    assert purged.checksum == old.checksum
    assert purged.template == "a.pkr.hcl"
    assert "qemu.a" in purged.reason and iso_server.url("v2.iso") in purged.reason
    assert [f.cache_name for f in report.fetched] == [new.cache_name]
    assert sorted(p.name for p in root.iterdir()) == sorted([INDEX_NAME, "port", new.cache_name])


def test_an_entry_another_template_still_wants_is_kept(iso_server: IsoServer, root: Path) -> None:
    v1 = iso_server.add("v1.iso", b"v1")
    v2 = iso_server.add("v2.iso", b"v2")
    cache = SharedIsoCache(root)
    cache.prepare(
        [
            _source("a.pkr.hcl", "qemu.a", iso_server.url("v1.iso"), v1),
            _source("b.pkr.hcl", "qemu.b", iso_server.url("v1.iso"), v1),
        ]
    )

    report = cache.prepare([_source("a.pkr.hcl", "qemu.a", iso_server.url("v2.iso"), v2)])

    assert report.purged == []
    kept = cache_name(v1)
    assert (root / kept).exists()
    users = json.loads((root / INDEX_NAME).read_text())["entries"][kept]["users"]
    assert [u["build"] for u in users] == ["qemu.b"]

    # once b moves on too, nothing wants v1
    report = cache.prepare([_source("b.pkr.hcl", "qemu.b", iso_server.url("v2.iso"), v2)])
    assert [p.cache_name for p in report.purged] == [kept]
    assert report.purged[0].template == "b.pkr.hcl"


def test_a_template_bump_through_a_var_file_is_seen(iso_server: IsoServer, root: Path) -> None:
    v1_url, v1 = iso_server.url("v1.iso"), iso_server.add("v1.iso", b"v1")
    v2_url, v2 = iso_server.url("v2.iso"), iso_server.add("v2.iso", b"v2")
    template = write_template(
        root.parent / "tpl",
        """
        variable "iso_url" { default = "V1_URL" }
        variable "iso_checksum" { default = "V1_SUM" }
        source "qemu" "lab" {
          iso_url      = var.iso_url
          iso_checksum = var.iso_checksum
        }
        build { sources = ["source.qemu.lab"] }
        """.replace("V1_URL", v1_url).replace("V1_SUM", v1),
    )
    bump = root.parent / "v2.pkrvars.hcl"
    bump.write_text(f'iso_url = "{v2_url}"\niso_checksum = "{v2}"\n')
    cache = SharedIsoCache(root)
    first = cache.prepare(iso_sources(template, variables={}, var_files=[]))
    second = cache.prepare(iso_sources(template, variables={}, var_files=[bump]))
    assert [p.cache_name for p in second.purged] == [first.fetched[0].cache_name]
    assert len(second.fetched) == 1


def test_a_removed_build_releases_its_iso(iso_server: IsoServer, root: Path) -> None:
    x = _source("a.pkr.hcl", "qemu.x", iso_server.url("x.iso"), iso_server.add("x.iso", b"x"))
    y = _source("a.pkr.hcl", "qemu.y", iso_server.url("y.iso"), iso_server.add("y.iso", b"y"))
    cache = SharedIsoCache(root)
    cache.prepare([x, y])
    report = cache.prepare([x])
    (purged,) = report.purged
    assert purged.cache_name == y.cache_name
    assert purged.reason == "qemu.y no longer names a shared ISO"
    assert report.reused == [x.cache_name]


def test_a_deleted_shared_file_is_fetched_again(iso_server: IsoServer, root: Path) -> None:
    x = _source("a", "qemu.x", iso_server.url("x.iso"), iso_server.add("x.iso", b"x"))
    cache = SharedIsoCache(root)
    cache.prepare([x])
    root.chmod(0o755)
    (root / x.cache_name).unlink()
    assert [f.cache_name for f in cache.prepare([x]).fetched] == [x.cache_name]
    assert iso_server.gets("x.iso") == 2


# --- concurrency -----------------------------------------------------------------------------


def test_two_threads_preparing_at_once_fetch_once(iso_server: IsoServer, root: Path) -> None:
    checksum = iso_server.add("big.iso", os.urandom(3 << 20))
    source = _source("a", "qemu.a", iso_server.url("big.iso"), checksum)
    reports: list[CacheReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(SharedIsoCache(root).prepare([source]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert iso_server.gets("big.iso") == 1
    assert sorted(len(r.fetched) for r in reports) == [0, 1]


def test_two_processes_preparing_at_once_fetch_once(iso_server: IsoServer, root: Path) -> None:
    checksum = iso_server.add("big.iso", os.urandom(3 << 20))
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from hybridcore.packer.store.iso_cache import SharedIsoCache\n"
        "from hybridcore.packer.store.iso_cache import IsoSource\n"
        "from hybridcore.packer.template.iso_sources import cache_name\n"
        f"s = IsoSource('qemu.a', 'a', ({iso_server.url('big.iso')!r},), {checksum!r}, "
        f"cache_name({checksum!r}))\n"
        "r = SharedIsoCache(Path(sys.argv[1])).prepare([s])\n"
        "print(len(r.fetched))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(root)], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    outputs = sorted(child.communicate(timeout=60)[0].strip() for child in children)
    assert [child.returncode for child in children] == [0, 0]
    assert outputs == ["0", "1"]
    assert iso_server.gets("big.iso") == 1


# --- views and fingerprints ------------------------------------------------------------------


def test_a_view_links_the_builds_isos_and_is_writable(iso_server: IsoServer, root: Path) -> None:
    a = _source("a", "qemu.a", iso_server.url("a.iso"), iso_server.add("a.iso", b"a"))
    b = _source("a", "qemu.b", iso_server.url("b.iso"), iso_server.add("b.iso", b"b"))
    cache = SharedIsoCache(root)
    cache.prepare([a, b])

    view = cache.view(root.parent / "views" / "qemu.a", [a])

    assert sorted(p.name for p in view.iterdir()) == sorted([a.cache_name, "port"])
    link = view / a.cache_name
    assert link.is_symlink() and link.resolve() == (root / a.cache_name).resolve()
    assert (view / "port").resolve() == (root / "port").resolve()
    (view / f"{a.cache_name}.lock").touch()  # what Packer does
    assert not (root / f"{a.cache_name}.lock").exists()
    if os.geteuid() != 0:  # root ignores the modes
        with pytest.raises(PermissionError):
            (root / "new.iso").touch()
    with pytest.raises(FileExistsError):
        cache.view(view, [a])


def test_a_view_leaves_unshared_isos_to_packer(iso_server: IsoServer, root: Path) -> None:
    cache = SharedIsoCache(root)
    other = _source("a", "qemu.x", iso_server.url("x.iso"), "sha256:" + "9" * 64)
    view = cache.view(root.parent / "view", [other])
    assert list(view.iterdir()) == []


def test_fingerprint_notices_a_modified_shared_file(iso_server: IsoServer, root: Path) -> None:
    a = _source("a", "qemu.a", iso_server.url("a.iso"), iso_server.add("a.iso", b"a"))
    cache = SharedIsoCache(root)
    cache.prepare([a])
    before = cache.fingerprint()
    assert set(before) == {a.cache_name}
    assert cache.modified_since(before) == []

    os.utime(root / a.cache_name, ns=(1, 1))
    assert cache.modified_since(before) == [a.cache_name]


def test_clear_removes_everything(iso_server: IsoServer, root: Path) -> None:
    a = _source("a", "qemu.a", iso_server.url("a.iso"), iso_server.add("a.iso", b"a"))
    cache = SharedIsoCache(root)
    cache.prepare([a])
    assert cache.clear() == sorted([INDEX_NAME, a.cache_name])
    assert not root.exists()
    assert cache.fingerprint() == {}
