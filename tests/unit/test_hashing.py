"""hashing: sha256 of input files, the stat cache, vanished files, a damaged cache."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hybridcore.packer.store import hashing
from hybridcore.packer.store.hashing import FileHash, HashCache, hash_files, sha256_file


def _files(root: Path, contents: dict[str, bytes]) -> list[Path]:
    paths = []
    for name, data in contents.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


def _rewrite_keeping_stat(path: Path, data: bytes) -> None:
    """New content of the same size, in place (same inode), with the old mtime_ns."""
    before = path.stat()
    assert len(data) == before.st_size
    with path.open("r+b") as handle:
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )


def _counting_sha256(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every file `hash_files` actually reads."""
    read: list[Path] = []
    real = hashing.sha256_file

    def counting(path: Path) -> FileHash:
        read.append(path)
        return real(path)

    monkeypatch.setattr(hashing, "sha256_file", counting)
    return read


@pytest.mark.parametrize(
    "data",
    [b"", b"x", b"hello world\n", bytes(range(256)) * 5000, os.urandom((1 << 20) * 3 + 17)],
    ids=["empty", "one-byte", "line", "1.2MB-pattern", "3MB-random-unaligned"],
)
def test_sha256_file_equals_hashlib(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert sha256_file(path) == FileHash(hashlib.sha256(data).hexdigest(), len(data))


def test_hash_files_equals_sha256sum(tmp_path: Path) -> None:
    sha256sum = shutil.which("sha256sum")
    assert sha256sum, "coreutils sha256sum is needed for this test"
    paths = _files(
        tmp_path,
        {
            "a.sh": b"#!/bin/sh\necho a\n",
            "empty": b"",
            "sub/dir/big.bin": os.urandom(5 * (1 << 20) + 3),
            "name with spaces.txt": b"spaces\n",
            **{f"many/{i:03}.txt": os.urandom(i * 37) for i in range(40)},
        },
    )
    ours = hash_files(paths, None, full=True)
    out = subprocess.run(
        [sha256sum, "--", *map(str, paths)], capture_output=True, text=True, check=True
    ).stdout
    theirs = {}
    for line in out.splitlines():
        digest, name = line.split(maxsplit=1)
        theirs[Path(name.lstrip("*"))] = digest
    assert set(ours) == set(paths)
    assert {path: value.sha256 for path, value in ours.items()} == theirs
    assert all(ours[path].size == path.stat().st_size for path in paths)


def test_stat_cache_hit_does_not_reread_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (path,) = _files(tmp_path, {"script.sh": b"echo old\n"})
    old = hashlib.sha256(b"echo old\n").hexdigest()
    new = hashlib.sha256(b"echo new\n").hexdigest()
    cache = HashCache(tmp_path / "cache.json")
    assert hash_files([path], cache)[path].sha256 == old

    _rewrite_keeping_stat(path, b"echo new\n")
    read = _counting_sha256(monkeypatch)
    # Same (device, inode, size, mtime_ns): the cached, now stale, value comes back unread.
    assert hash_files([path], cache)[path] == FileHash(old, 9)
    assert read == []
    # full=True ignores the cache, reads the file and corrects the cache.
    assert hash_files([path], cache, full=True)[path] == FileHash(new, 9)
    assert read == [path]
    assert hash_files([path], cache)[path].sha256 == new
    assert read == [path]


def test_stat_cache_survives_save_and_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _files(tmp_path, {f"f{i}.txt": f"content {i}\n".encode() for i in range(20)})
    cache_file = tmp_path / "state" / "hash-cache.json"
    first = HashCache(cache_file)
    cold = hash_files(paths, first)
    first.save()
    assert json.loads(cache_file.read_text())["version"] == 1

    for path in paths[:3]:
        _rewrite_keeping_stat(path, path.read_bytes().upper())
    read = _counting_sha256(monkeypatch)
    warm = hash_files(paths, HashCache(cache_file))
    assert warm == cold  # stale values for the 3 rewritten files: proof nothing was read
    assert read == []


def test_changed_stat_is_a_cache_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c = _files(tmp_path, {"a": b"aaaa", "b": b"bbbb", "c": b"cccc"})
    cache = HashCache(None)
    hash_files([a, b, c], cache)
    a.write_bytes(b"aaaaa")  # size changes
    stat = b.stat()
    os.utime(b, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # mtime changes only
    c.unlink()
    c.write_bytes(b"CCCC")  # same size, new inode (and new mtime)
    read = _counting_sha256(monkeypatch)
    found = hash_files([a, b, c], cache)
    assert sorted(read) == sorted([a, b, c])
    assert found[a] == FileHash(hashlib.sha256(b"aaaaa").hexdigest(), 5)
    assert found[b] == FileHash(hashlib.sha256(b"bbbb").hexdigest(), 4)
    assert found[c] == FileHash(hashlib.sha256(b"CCCC").hexdigest(), 4)


def test_a_vanished_file_is_left_out(tmp_path: Path) -> None:
    present, gone = _files(tmp_path, {"present": b"here", "gone": b"soon gone"})
    cache = HashCache(None)
    hash_files([present, gone], cache)
    gone.unlink()
    for full in (False, True):
        found = hash_files([present, gone, tmp_path / "never-existed"], cache, full=full)
        assert set(found) == {present}


def test_a_file_that_vanishes_while_hashing_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep, drop = _files(tmp_path, {"keep": b"k", "drop": b"d"})
    real = hashing.sha256_file

    def vanishing(path: Path) -> FileHash:
        if path == drop:
            path.unlink()
        return real(path)

    monkeypatch.setattr(hashing, "sha256_file", vanishing)
    cache = HashCache(None)
    assert set(hash_files([keep, drop], cache, full=True)) == {keep}
    assert cache.get(drop, keep.stat()) is None


def test_a_directory_or_unreadable_path_is_left_out(tmp_path: Path) -> None:
    (ok,) = _files(tmp_path, {"ok": b"ok"})
    (tmp_path / "dir").mkdir()
    assert set(hash_files([ok, tmp_path / "dir"], HashCache(None), full=True)) == {ok}


_DAMAGED = {
    "empty-file": "",
    "truncated-json": '{"version": 1, "entries": {',
    "not-json": "not json at all",
    "json-list": "[]",
    "json-null": "null",
    "json-number": "42",
    "entries-a-list": '{"version": 1, "entries": []}',
    "entries-a-string": '{"version": 1, "entries": "garbage"}',
    "other-version": '{"version": 99, "entries": {}}',
    "entry-wrong-key": '{"version": 1, "entries": {"@PATH@": ["x"]}}',
    "entry-nulls": '{"version": 1, "entries": {"@PATH@": [null, null]}}',
    "entry-a-number": '{"version": 1, "entries": {"@PATH@": 7}}',
    "entry-an-object": '{"version": 1, "entries": {"@PATH@": {"sha256": "abc"}}}',
    "entry-without-hash": '{"version": 1, "entries": {"@PATH@": [@KEY@]}}',
}


@pytest.mark.parametrize("damage", list(_DAMAGED.values()), ids=list(_DAMAGED))
def test_a_damaged_cache_file_only_costs_a_rehash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    (path,) = _files(tmp_path, {"input.sh": b"echo hi\n"})
    cache_file = tmp_path / "cache.json"
    stat = path.stat()
    key = json.dumps([stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns])  # a hit
    cache_file.write_text(damage.replace("@PATH@", str(path)).replace("@KEY@", key))
    read = _counting_sha256(monkeypatch)
    cache = HashCache(cache_file)
    found = hash_files([path], cache)
    assert found == {path: FileHash(hashlib.sha256(b"echo hi\n").hexdigest(), 8)}
    assert read == [path]
    cache.save()  # the damaged file is replaced by a good one
    assert HashCache(cache_file).get(path, path.stat()) == found[path]


def test_save_writes_only_when_something_changed(tmp_path: Path) -> None:
    (path,) = _files(tmp_path, {"f": b"f"})
    cache_file = tmp_path / "cache.json"
    cache = HashCache(cache_file)
    cache.save()
    assert not cache_file.exists()  # nothing hashed yet: nothing written
    hash_files([path], cache)
    cache.save()
    written = cache_file.stat().st_mtime_ns
    warm = HashCache(cache_file)
    hash_files([path], warm)
    warm.save()
    assert cache_file.stat().st_mtime_ns == written  # all hits: not rewritten


def test_cache_none_path_is_memory_only(tmp_path: Path) -> None:
    (path,) = _files(tmp_path, {"f": b"f"})
    cache = HashCache(None)
    hash_files([path], cache)
    cache.save()  # no file to write, no error
    assert cache.get(path, path.stat()) == FileHash(hashlib.sha256(b"f").hexdigest(), 1)
    assert list(tmp_path.iterdir()) == [path]


def test_many_files_in_parallel_match_serial_hashing(tmp_path: Path) -> None:
    paths = _files(tmp_path, {f"d{i % 7}/f{i}": os.urandom(i * 101 % 9000) for i in range(300)})
    found = hash_files(paths, HashCache(None), full=True)
    assert found == {path: sha256_file(path) for path in paths}
