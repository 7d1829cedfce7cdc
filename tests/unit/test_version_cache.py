"""The Packer version is asked once per binary and remembered while it is unchanged."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from hybridcore.packer.run.version import locate_packer
from tests.conftest import FakePacker


def _retag(fake: FakePacker, old: str, new: str, keep_stat: bool) -> None:
    stat = fake.path.stat()
    fake.path.write_text(fake.path.read_text().replace(old, new))
    if keep_stat:
        os.utime(fake.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_version_is_remembered_while_the_binary_is_unchanged(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer("1.6.6")
    cache = tmp_path / "state" / "packer-version.json"
    assert locate_packer(str(fake.path), cache=cache).version == (1, 6, 6)
    # same size and mtime: the remembered answer is used, packer is not asked again
    _retag(fake, "v1.6.6", "v1.6.7", keep_stat=True)
    assert locate_packer(str(fake.path), cache=cache).version == (1, 6, 6)
    # a changed binary (new mtime) is asked again
    _retag(fake, "v1.6.7", "v1.6.8", keep_stat=False)
    os.utime(fake.path, ns=(fake.path.stat().st_atime_ns, fake.path.stat().st_mtime_ns + 10**9))
    assert locate_packer(str(fake.path), cache=cache).version == (1, 6, 8)


def test_a_damaged_cache_only_costs_a_question(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer("1.7.2")
    cache = tmp_path / "packer-version.json"
    cache.write_text("{not json")
    assert locate_packer(str(fake.path), cache=cache).version == (1, 7, 2)
    assert list(json.loads(cache.read_text()).values()) == [[1, 7, 2]]
