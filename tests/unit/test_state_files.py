"""State files: atomic JSON writes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from hybridcore.packer.store.state_files import atomic_write_json, atomic_write_text

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
