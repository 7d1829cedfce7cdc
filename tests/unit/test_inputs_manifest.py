"""hash_manifest: one stable digest, atomic files that detect edits, one previous kept."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.store.hashing import HashCache
from hybridcore.packer.store.inputs_manifest import (
    BuildInputs,
    HashManifest,
    InputEntry,
    InputFile,
    combined_digest,
    hash_inputs,
    load_hash_manifest,
    manifest_path,
    write_hash_manifest,
)

VARIABLES = {"image_name": '"golden"', "count": '"3"', "token": "<secret: set>"}


def _entry(path: str, kind: str = "script", data: bytes = b"x") -> InputEntry:
    return InputEntry(path=path, kind=kind, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def _project(tmp_path: Path) -> tuple[Path, BuildInputs]:
    """A workdir and, beside it, a template project with a few inputs."""
    workdir = tmp_path / "wd"
    workdir.mkdir()
    project = tmp_path / "project"
    files = {
        "main.pkr.hcl": ("template", b'source "null" "a" {}\n'),
        "prod.pkrvars.hcl": ("var-file", b'image_name = "golden"\n'),
        "scripts/setup.sh": ("script", b"#!/bin/sh\necho setup\n"),
        "http/preseed.cfg": ("config", b"d-i foo\n"),
        "iso/local.iso": ("iso", b"\0" * 4096),
    }
    inputs = []
    for name, (kind, data) in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        inputs.append(InputFile(path, kind))
    return workdir, BuildInputs(build="null.a", files=tuple(inputs), variables=dict(VARIABLES))


def _hash(workdir: Path, found: BuildInputs, version: str = "1.6.6") -> HashManifest:
    return hash_inputs(found, workdir=workdir, packer_version=version, cache=HashCache(None))


def test_digest_is_order_independent() -> None:
    entries = [_entry(f"scripts/{i}.sh", data=str(i).encode()) for i in range(12)]
    entries.append(_entry("main.pkr.hcl", "template"))
    expected = combined_digest(entries, VARIABLES, "1.6.6")
    rng = random.Random(7)
    for _ in range(20):
        shuffled = entries[:]
        rng.shuffle(shuffled)
        variables = dict(rng.sample(sorted(VARIABLES.items()), len(VARIABLES)))
        assert combined_digest(shuffled, variables, "1.6.6") == expected


def test_digest_changes_with_every_part() -> None:
    entries = [_entry("a.sh"), _entry("main.pkr.hcl", "template", b"t")]
    base = combined_digest(entries, VARIABLES, "1.6.6")
    variants = [
        combined_digest([_entry("a.sh", data=b"y"), entries[1]], VARIABLES, "1.6.6"),
        combined_digest([_entry("b.sh"), entries[1]], VARIABLES, "1.6.6"),
        combined_digest([_entry("a.sh", "config"), entries[1]], VARIABLES, "1.6.6"),
        combined_digest(
            [entries[0].model_copy(update={"size": 2}), entries[1]], VARIABLES, "1.6.6"
        ),
        combined_digest(entries[:1], VARIABLES, "1.6.6"),
        combined_digest(entries, {**VARIABLES, "image_name": '"other"'}, "1.6.6"),
        combined_digest(entries, {**VARIABLES, "new": '"v"'}, "1.6.6"),
        combined_digest(entries, VARIABLES, "1.7.0"),
    ]
    assert base not in variants
    assert len(set(variants)) == len(variants)


def test_hash_inputs_lists_every_input_relative_to_the_workdir(tmp_path: Path) -> None:
    workdir, found = _project(tmp_path)
    manifest = _hash(workdir, found)
    assert [(e.path, e.kind, e.size) for e in manifest.inputs] == [
        ("../project/http/preseed.cfg", "config", 8),
        ("../project/iso/local.iso", "iso", 4096),
        ("../project/main.pkr.hcl", "template", 21),
        ("../project/prod.pkrvars.hcl", "var-file", 22),
        ("../project/scripts/setup.sh", "script", 21),
    ]
    for entry in manifest.inputs:
        data = (workdir / entry.path).read_bytes()
        assert entry.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.variables == VARIABLES
    assert manifest.packer_version == "1.6.6"
    assert manifest.digest == combined_digest(manifest.inputs, VARIABLES, "1.6.6")


def test_hash_inputs_digest_is_stable_across_runs_and_input_order(tmp_path: Path) -> None:
    workdir, found = _project(tmp_path)
    first = _hash(workdir, found)
    reordered = BuildInputs(found.build, tuple(reversed(found.files)), dict(found.variables))
    assert _hash(workdir, reordered).digest == first.digest
    assert _hash(workdir, found).digest == first.digest
    assert _hash(workdir, found, "1.6.7").digest != first.digest
    (tmp_path / "project" / "scripts" / "setup.sh").write_text("#!/bin/sh\necho other\n")
    assert _hash(workdir, found).digest != first.digest


def test_a_missing_input_is_left_out_and_changes_the_digest(tmp_path: Path) -> None:
    workdir, found = _project(tmp_path)
    before = _hash(workdir, found)
    (tmp_path / "project" / "http" / "preseed.cfg").unlink()
    after = _hash(workdir, found)
    assert [e.path for e in after.inputs] == [
        e.path for e in before.inputs if e.path != "../project/http/preseed.cfg"
    ]
    assert after.digest != before.digest


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    workdir, found = _project(tmp_path)
    manifest = _hash(workdir, found)
    path = write_hash_manifest(
        workdir,
        manifest,
        None,
        artifact_ids=["Null"],
        command_id="20250101T000000Z-abcd0123",
        git_sha="0" * 40,
        created_at="2025-01-01T00:00:00.000Z",
    )
    assert path == manifest_path(workdir, "null.a") == workdir / "artifacts" / "null.a.hash.json"
    data = json.loads(path.read_text())
    assert data["schema_version"] == "1.0"
    assert data["digest"] == manifest.digest
    assert data["artifact_ids"] == ["Null"]
    assert data["previous"] is None
    assert {"path", "kind", "sha256", "size"} == set(data["inputs"][0])
    loaded = load_hash_manifest(workdir, "null.a")
    assert loaded is not None
    assert loaded.seal == data["seal"] and len(data["seal"]) == 64
    assert loaded.model_dump(exclude={"seal"}) == {
        **manifest.model_dump(exclude={"seal"}),
        "artifact_ids": ["Null"],
        "command_id": "20250101T000000Z-abcd0123",
        "git_sha": "0" * 40,
        "created_at": "2025-01-01T00:00:00.000Z",
    }
    assert not list((workdir / "artifacts").glob(".*.tmp"))  # atomic: no temp file left


def test_no_manifest_yet_is_none(tmp_path: Path) -> None:
    assert load_hash_manifest(tmp_path, "null.a") is None


def test_build_names_become_safe_file_names(tmp_path: Path) -> None:
    assert manifest_path(tmp_path, "../../etc/x").parent == tmp_path / "artifacts"
    assert manifest_path(tmp_path, "named.null.a").name == "named.null.a.hash.json"


def test_previous_manifest_is_kept_one_level_deep(tmp_path: Path) -> None:
    workdir, found = _project(tmp_path)
    script = tmp_path / "project" / "scripts" / "setup.sh"
    digests = []
    for round_ in range(3):
        script.write_text(f"#!/bin/sh\necho round {round_}\n")
        current = _hash(workdir, found)
        previous = load_hash_manifest(workdir, "null.a")
        write_hash_manifest(workdir, current, previous, command_id=f"cmd-{round_}")
        digests.append(current.digest)
    latest = load_hash_manifest(workdir, "null.a")
    assert latest is not None
    assert (latest.digest, latest.command_id) == (digests[2], "cmd-2")
    assert latest.previous is not None
    assert (latest.previous.digest, latest.previous.command_id) == (digests[1], "cmd-1")
    assert latest.previous.previous is None
    raw = json.loads(manifest_path(workdir, "null.a").read_text())
    assert raw["previous"]["previous"] is None


def _edit_input_sha(data: dict[str, Any]) -> None:
    data["inputs"][0]["sha256"] = "0" * 64


_EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "digest": lambda d: d.update(digest="f" * 64),
    "input-sha256": _edit_input_sha,
    "input-size": lambda d: d["inputs"][1].update(size=d["inputs"][1]["size"] + 1),
    "input-path": lambda d: d["inputs"][2].update(path="../project/other.pkr.hcl"),
    "input-kind": lambda d: d["inputs"][3].update(kind="config"),
    "input-removed": lambda d: d["inputs"].pop(),
    "input-added": lambda d: d["inputs"].append(dict(d["inputs"][0], path="x")),
    "variable-value": lambda d: d["variables"].update(image_name='"tampered"'),
    "variable-added": lambda d: d["variables"].update(extra='"1"'),
    "packer-version": lambda d: d.update(packer_version="1.11.2"),
    "artifact-ids": lambda d: d.update(artifact_ids=["ami-tampered"]),
    "artifact-ids-emptied": lambda d: d.update(artifact_ids=[]),
    "command-id": lambda d: d.update(command_id="20990101T000000Z-ffffffff"),
    "git-sha": lambda d: d.update(git_sha="1" * 40),
    "created-at": lambda d: d.update(created_at="2099-01-01T00:00:00.000Z"),
    "build": lambda d: d.update(build="null.other"),
    "previous-digest": lambda d: d["previous"].update(digest="e" * 64),
    "previous-dropped": lambda d: d.update(previous=None),
    "schema-version": lambda d: d.update(schema_version="2.0"),
    "unknown-field": lambda d: d.update(note="hello"),
}


@pytest.mark.parametrize("edit", list(_EDITS.values()), ids=list(_EDITS))
def test_editing_any_field_is_a_tampering_signal(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None]
) -> None:
    workdir, found = _project(tmp_path)
    first = _hash(workdir, found)
    write_hash_manifest(workdir, first, None, artifact_ids=["Null"], command_id="cmd-1")
    (tmp_path / "project" / "scripts" / "setup.sh").write_text("echo changed\n")
    second = _hash(workdir, found)
    write_hash_manifest(
        workdir,
        second,
        load_hash_manifest(workdir, "null.a"),
        artifact_ids=["Null"],
        command_id="cmd-2",
        git_sha="a" * 40,
        created_at="2025-01-01T00:00:00.000Z",
    )
    path = manifest_path(workdir, "null.a")
    assert load_hash_manifest(workdir, "null.a") is not None
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    with pytest.raises(HybridcoreError) as caught:
        load_hash_manifest(workdir, "null.a")
    assert caught.value.exit_code == 3
    assert caught.value.rule == "hash_manifest_tampered"


@pytest.mark.parametrize(
    "text",
    ["", "{", "not json", "[]", "null", '{"schema_version": "1.0"}', "\x00\x01binary"],
    ids=["empty", "truncated", "not-json", "list", "null", "partial", "binary"],
)
def test_an_unparseable_manifest_is_exit_3(tmp_path: Path, text: str) -> None:
    path = manifest_path(tmp_path, "null.a")
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(HybridcoreError) as caught:
        load_hash_manifest(tmp_path, "null.a")
    assert caught.value.exit_code == 3


def test_reformatting_the_json_is_not_tampering(tmp_path: Path) -> None:
    workdir, found = _project(tmp_path)
    write_hash_manifest(workdir, _hash(workdir, found), None, artifact_ids=["Null"])
    path = manifest_path(workdir, "null.a")
    path.write_text(json.dumps(json.loads(path.read_text())))  # on one line
    assert load_hash_manifest(workdir, "null.a") is not None
