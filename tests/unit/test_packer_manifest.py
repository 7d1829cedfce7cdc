"""Artifacts from -machine-readable lines, and this run's share of Packer's manifest."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from hybridcore.packer.run.packer_manifest import (
    artifacts_from_lines,
    capture_manifest,
    resolve_manifest_output,
)
from hybridcore.redaction.engine import PLACEHOLDER, Redactor

# What `packer build -machine-readable` prints per artifact, minus "timestamp," and
# split into (target, rest-after-"artifact,") as the process reader hands it over.
LINES = [
    ("amazon-ebs.ubuntu", "0,builder-id,mitchellh.amazonebs"),
    ("amazon-ebs.ubuntu", "0,id,eu-west-1:ami-0123%!(PACKER_COMMA)us-east-1:ami-0456"),
    ("amazon-ebs.ubuntu", "0,string,AMIs were created:\\neu-west-1: ami-0123\\n"),
    ("amazon-ebs.ubuntu", "0,files-count,0"),
    ("amazon-ebs.ubuntu", "0,end"),
    ("file.seed", "0,builder-id,packer.file"),
    ("file.seed", "0,id,out/seed.txt"),
    ("file.seed", "0,files-count,2"),
    ("file.seed", "0,file,0,out/seed.txt"),
    ("file.seed", "0,file,1,out/with%!(PACKER_COMMA)comma.txt"),
    ("file.seed", "0,end"),
    ("file.seed", "1,builder-id,packer.post-processor.manifest"),
    ("file.seed", "1,end"),
]


def test_artifacts_from_machine_readable_lines() -> None:
    artifacts = artifacts_from_lines(LINES)
    assert [(a.build, a.index) for a in artifacts] == [
        ("amazon-ebs.ubuntu", 0),
        ("file.seed", 0),
        ("file.seed", 1),
    ]
    ami, seed, post = artifacts
    assert ami.builder_id == "mitchellh.amazonebs"
    assert ami.id == "eu-west-1:ami-0123,us-east-1:ami-0456"
    assert ami.description == "AMIs were created:\neu-west-1: ami-0123\n"
    assert ami.files == []
    assert seed.files == ["out/seed.txt", "out/with,comma.txt"]
    assert seed.id == "out/seed.txt"
    assert (post.builder_id, post.id, post.description) == (
        "packer.post-processor.manifest",
        None,
        None,
    )


def test_artifact_lines_order_does_not_change_the_result() -> None:
    assert artifacts_from_lines(reversed(LINES[:5])) == artifacts_from_lines(LINES[:5])


def test_lines_without_a_numeric_index_are_ignored() -> None:
    assert artifacts_from_lines([("null.a", "x,id,foo"), ("null.a", "")]) == []


def test_resolve_manifest_output(tmp_path: Path) -> None:
    template_dir, cwd = tmp_path / "tpl", tmp_path / "cwd"
    assert resolve_manifest_output("${path.root}/m.json", template_dir, cwd) == (
        template_dir / "m.json"
    )
    assert resolve_manifest_output("${path.cwd}/m.json", template_dir, cwd) == cwd / "m.json"
    assert resolve_manifest_output("rel/m.json", template_dir, cwd) == cwd / "rel" / "m.json"
    assert resolve_manifest_output("/abs/m.json", template_dir, cwd) == Path("/abs/m.json")
    assert resolve_manifest_output("${var.out}/m.json", template_dir, cwd) is None
    assert resolve_manifest_output("m-${timestamp()}.json", template_dir, cwd) is None


def _manifest(path: Path, builds: list[dict[str, object]], last_run: str) -> None:
    path.write_text(json.dumps({"builds": builds, "last_run_uuid": last_run}))


def test_capture_keeps_only_this_runs_entries(tmp_path: Path) -> None:
    source, destination = tmp_path / "packer-manifest.json", tmp_path / "out" / "manifest.json"
    builds = [
        {"name": "old", "packer_run_uuid": "run-1", "artifact_id": "ami-old"},
        {"name": "new", "packer_run_uuid": "run-2", "artifact_id": "ami-new"},
        {"name": "new2", "packer_run_uuid": "run-2", "artifact_id": "ami-new2"},
    ]
    _manifest(source, builds, "run-2")
    assert capture_manifest(source, destination, time.time() - 60, Redactor())
    captured = json.loads(destination.read_text())
    assert [b["name"] for b in captured["builds"]] == ["new", "new2"]
    assert captured["last_run_uuid"] == "run-2"
    assert captured["source"] == str(source)


def test_a_manifest_older_than_the_run_is_not_captured(tmp_path: Path) -> None:
    source, destination = tmp_path / "m.json", tmp_path / "copy.json"
    _manifest(source, [{"packer_run_uuid": "u"}], "u")
    an_hour_ago = time.time() - 3600
    os.utime(source, (an_hour_ago, an_hour_ago))
    assert not capture_manifest(source, destination, time.time() - 60, Redactor())
    assert not destination.exists()


def test_missing_or_invalid_manifest_is_not_captured(tmp_path: Path) -> None:
    destination = tmp_path / "copy.json"
    assert not capture_manifest(tmp_path / "none.json", destination, 0, Redactor())
    (tmp_path / "bad.json").write_text("{not json")
    assert not capture_manifest(tmp_path / "bad.json", destination, 0, Redactor())
    (tmp_path / "list.json").write_text("[1, 2]")
    assert not capture_manifest(tmp_path / "list.json", destination, 0, Redactor())
    assert not destination.exists()


def test_captured_manifest_is_scrubbed(tmp_path: Path) -> None:
    secret = 'hunter2,Sup3r"quoted"'
    source, destination = tmp_path / "m.json", tmp_path / "copy.json"
    _manifest(source, [{"packer_run_uuid": "u", "custom_data": {"token": secret, "v": "1.4"}}], "u")
    assert capture_manifest(source, destination, 0, Redactor([secret]))
    text = destination.read_text()
    assert "hunter2" not in text
    assert json.loads(text)["builds"][0]["custom_data"] == {"token": PLACEHOLDER, "v": "1.4"}


def test_captured_manifest_scrubs_a_non_ascii_secret_with_a_control_character(
    tmp_path: Path,
) -> None:
    """The copy is written without ASCII escaping, so a secret such as "Grüße\\tTab"
    appears as `Grüße\\tTab`: non-ASCII kept, the tab JSON-escaped."""
    secret = "Grüße\tTab"
    source, destination = tmp_path / "m.json", tmp_path / "copy.json"
    _manifest(source, [{"packer_run_uuid": "u", "custom_data": {"token": secret}}], "u")
    assert capture_manifest(source, destination, 0, Redactor([secret]))
    token = json.loads(destination.read_text())["builds"][0]["custom_data"]["token"]
    assert token == PLACEHOLDER
