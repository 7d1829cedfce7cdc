"""Records: atomic JSON writes and file-name-safe build names."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcore.packer.store.state_files import atomic_write_json, atomic_write_text, safe_name

# --- safe_name -----------------------------------------------------------------------------


@settings(deadline=None)
@given(st.text())
def test_safe_name_is_always_one_harmless_path_component(name: str) -> None:
    cleaned = safe_name(name)
    assert cleaned
    assert cleaned not in {".", ".."}
    assert "/" not in cleaned
    assert "\\" not in cleaned
    assert os.sep not in cleaned
    assert "\0" not in cleaned
    assert len(cleaned) <= 120
    base = Path("/logs/packer/cmd")
    assert (base / cleaned).parent == base
    assert Path(cleaned).name == cleaned


@settings(deadline=None)
@given(st.text(), st.text())
def test_safe_name_is_deterministic_and_injective(name: str, other: str) -> None:
    """Two builds never share a file (it used to be idempotent and lossy instead)."""
    assert safe_name(name) == safe_name(name)
    if name != other:
        assert safe_name(name) != safe_name(other)


@pytest.mark.parametrize(
    "name", [".", "..", "../..", "/", "a/../../b", "..\\x", "", " ", "\0", "./."]
)
def test_safe_name_of_path_tricks(name: str) -> None:
    cleaned = safe_name(name)
    assert cleaned not in {".", "..", ""}
    assert "/" not in cleaned and "\\" not in cleaned


@pytest.mark.parametrize("name", ["null.vsphere", "vsphere-iso.ubuntu", "azure-arm.ubuntu_2204"])
def test_safe_name_keeps_ordinary_build_names(name: str) -> None:
    assert safe_name(name) == name


# --- atomic writes ---------------------------------------------------------------------------


def _leftovers(directory: Path, keep: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != keep)


def test_atomic_write_json_sorted_keys_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "record.json"
    atomic_write_json(path, {"zeta": 1, "alpha": {"b": 2, "a": "ü"}, "schema_version": "1.0"})
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == {"zeta": 1, "alpha": {"b": 2, "a": "ü"}, "schema_version": "1.0"}
    keys = [line.strip().split('"')[1] for line in text.splitlines() if line.startswith('  "')]
    assert keys == sorted(keys)
    assert _leftovers(path.parent, "record.json") == []


def test_atomic_write_replaces_the_old_content(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    atomic_write_json(path, {"v": 1})
    atomic_write_json(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 2}
    assert _leftovers(tmp_path, "r.json") == []


def test_failure_mid_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    atomic_write_json(path, {"v": "old"})
    before = path.read_bytes()
    # A lone surrogate passes json.dumps(ensure_ascii=False) but cannot be encoded as
    # UTF-8: the write fails after the temp file was created and partly written.
    with pytest.raises(UnicodeEncodeError):
        atomic_write_json(path, {"v": "x" * 100_000 + "\ud800"})
    assert path.read_bytes() == before
    assert _leftovers(tmp_path, "r.json") == []


def test_failure_on_first_write_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "text \udcff")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_concurrent_writers_never_leave_a_torn_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.json"
    payloads = [{"writer": n, "data": str(n) * 20_000} for n in range(8)]
    errors: list[BaseException] = []

    def write(payload: dict[str, object]) -> None:
        try:
            for _ in range(5):
                atomic_write_json(path, payload)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    readings = []
    while any(thread.is_alive() for thread in threads):
        if path.exists():
            readings.append(json.loads(path.read_text()))
    for thread in threads:
        thread.join()
    assert errors == []
    readings.append(json.loads(path.read_text()))
    for reading in readings:
        assert reading in payloads
    assert _leftovers(tmp_path, "shared.json") == []


def test_safe_name_is_injective_for_names_that_used_to_collide() -> None:
    from hybridcore.packer.store.state_files import safe_name

    names = ["a b", "a_b", "a/b", "a%20b", "semi,comma", ".", "..", ".x", "", "ünï", "a" * 300]
    files = [safe_name(name) for name in names]
    assert len(set(files)) == len(names)
    for file in files:
        assert "/" not in file and file not in {".", ".."} and not file.startswith(".")
        assert len(file) <= 120
    assert safe_name("null.vsphere") == "null.vsphere"  # plain names keep their files


def test_records_under_a_legacy_name_are_still_read(tmp_path: Path) -> None:
    from hybridcore.packer.store.artifact_records import ArtifactRegistry
    from hybridcore.packer.store.state_files import legacy_safe_name

    legacy = tmp_path / "artifacts" / f"{legacy_safe_name('null.a b')}.json"
    legacy.parent.mkdir()
    legacy.write_text('{"schema_version": "1.0", "build": "null.a_b", "records": []}')
    registry = ArtifactRegistry(tmp_path)
    assert registry.load("null.a b") == []  # the legacy file holds another build's records
    assert registry.path_for("null.a b").name == "null.a%20b.json"
