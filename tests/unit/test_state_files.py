"""State files: read (missing, damaged), atomic writes, locked updates; every store uses them."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.artifact_records import ArtifactRegistry
from hybridcore.packer.store.inputs_manifest import load_hash_manifest
from hybridcore.packer.store.layout import Workdir
from hybridcore.packer.store.log_summaries import write_log_summaries
from hybridcore.packer.store.state_files import (
    atomic_write_json,
    atomic_write_text,
    locked_update,
    read_json_cache,
    read_json_state,
)
from tests.conftest import REPO

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


# --- read_json_state -------------------------------------------------------------------------


def _object(data: object) -> dict[str, object]:
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object")
    return data


def _read(path: Path) -> dict[str, object] | None:
    return read_json_state(path, _object, what="test file", rule="test_unreadable")


def test_a_missing_state_file_is_none(tmp_path: Path) -> None:
    assert _read(tmp_path / "absent.json") is None


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda p: p.write_text("{not json"), "is not JSON"),
        (lambda p: p.write_bytes(b"\xff\xfe"), "cannot be read"),
        (lambda p: p.mkdir(), "cannot be read"),
        (lambda p: p.write_text("[1, 2]"), "is not a JSON object"),
    ],
    ids=["not-json", "not-utf8", "a-directory", "wrong-shape"],
)
def test_a_damaged_state_file_is_exit_3_naming_it(
    tmp_path: Path, damage: Callable[[Path], object], why: str
) -> None:
    path = tmp_path / "state.json"
    damage(path)
    with pytest.raises(HybridcoreError) as caught:
        _read(path)
    error = caught.value
    assert (error.klass, error.rule) == (ExitClass.SECURITY, "test_unreadable")
    assert error.message.startswith(f"test file {path} {why}")
    assert "\n" not in error.message and error.remediation


@pytest.mark.parametrize("text", [None, "{not json", "[1]", "\xff"], ids=str)
def test_a_missing_or_damaged_cache_is_empty(tmp_path: Path, text: str | None) -> None:
    path = tmp_path / "cache.json"
    if text is not None:
        path.write_text(text, encoding="latin-1")
    assert read_json_cache(path) == {}


# --- every store reads through it ------------------------------------------------------------


def _record_file(workdir: Path) -> Path:
    return Workdir(workdir).record_file("null.a")


def _summarise(workdir: Path) -> object:
    return write_log_summaries(
        workdir,
        command_id="c1",
        builds={"null.a": {"exit_code": 0}},
        policy={"keep_days": 1, "source": "default"},
        scrub_manifest=workdir / "scrub.json",
        result_path=None,
    )


@pytest.mark.parametrize(
    ("where", "read", "rule"),
    [
        (_record_file, lambda w: ArtifactRegistry(w).load("null.a"), "record_unreadable"),
        (_record_file, lambda w: ArtifactRegistry(w).builds(), "record_unreadable"),
        (
            lambda w: Workdir(w).inputs_manifest_file("null.a"),
            lambda w: load_hash_manifest(w, "null.a"),
            "hash_manifest_tampered",
        ),
        (lambda w: Workdir(w).log_summary_file("null.a"), _summarise, "summary_unreadable"),
    ],
    ids=["records", "record-builds", "inputs-manifest", "log-summary"],
)
def test_each_store_refuses_its_damaged_file(
    tmp_path: Path,
    where: Callable[[Path], Path],
    read: Callable[[Path], object],
    rule: str,
) -> None:
    path = where(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"truncated": ')
    with pytest.raises(HybridcoreError) as caught:
        read(tmp_path)
    assert (caught.value.exit_code, caught.value.rule) == (3, rule)
    assert str(path) in caught.value.message
    assert path.read_text() == '{"truncated": '  # never overwritten


# --- locked_update ---------------------------------------------------------------------------

_APPENDER = """
import json, sys
from pathlib import Path
from hybridcore.packer.store.state_files import locked_update

path, lock, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

def appended():
    items = json.loads(path.read_text()) if path.exists() else []
    return [*items, name]

for _ in range(40):
    locked_update(path, lock=lock, update=appended)
"""


def test_two_processes_updating_one_file_keep_every_update(tmp_path: Path) -> None:
    path, lock = tmp_path / "list.json", tmp_path / "locks" / "list.json.lock"
    procs = [
        subprocess.Popen([sys.executable, "-c", _APPENDER, str(path), str(lock), name], cwd=REPO)
        for name in ("a", "b")
    ]
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0]
    items = json.loads(path.read_text())
    assert sorted(items) == ["a"] * 40 + ["b"] * 40


def test_an_update_that_returns_none_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "kept.json"
    assert locked_update(path, lock=tmp_path / "kept.lock", update=lambda: None) is False
    assert not path.exists()
