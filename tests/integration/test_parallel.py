"""Parallel builds with the real packer: isolation, records, failures, Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from hybridcore import packer
from hybridcore.packer.store.artifact_records import ArtifactRegistry
from tests.conftest import REPO, write_template

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "hybridcore.cli"]


def _schema(name: str) -> dict[str, object]:
    path = REPO / "src" / "hybridcore" / "packer" / "schemas" / f"{name}.schema.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_vsphere_and_azure_in_parallel_write_two_records(example: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "wd"
    result = packer.build(
        [str(example)],
        var_files=[str(example / "ci.pkrvars.hcl")],
        only=["null.vsphere", "null.azure"],
        parallel=2,
        workdir=workdir,
        cwd=tmp_path,
    )
    assert result.exit_code == 0, result.message
    jsonschema.validate(result.model_dump(mode="json"), _schema("result"))
    assert sorted(run.label for run in result.runs) == ["null.azure", "null.vsphere"]
    assert {record.build for record in result.records} == {"null.vsphere", "null.azure"}
    assert len({record.record_id for record in result.records}) == len(result.records) == 2
    assert result.cache is not None and result.cache["modified_during_builds"] == []
    for build in ("null.vsphere", "null.azure"):
        stored = ArtifactRegistry(workdir).load(build)
        assert [r.record_id for r in stored] == [
            r.record_id for r in result.records if r.build == build
        ]
        jsonschema.validate(stored[0].model_dump(mode="json"), _schema("artifact-record"))
        assert stored[0].platform == "null"
        assert stored[0].provenance.command_id == result.command_id
        assert stored[0].provenance.packer_version == result.packer_version
    # each build had its own working directory and its own manifest
    manifests = [Path(str(run.manifest_path)) for run in result.runs]
    assert len(set(manifests)) == 2
    for run, manifest in zip(result.runs, manifests, strict=True):
        entries = json.loads(manifest.read_text())["builds"]
        assert [f"{e['builder_type']}.{e['name']}" for e in entries] == [run.label]
    assert not (tmp_path / "packer-manifest.json").exists()  # never the shared path


def test_history_is_kept_across_runs(example: Path, tmp_path: Path) -> None:
    for _ in range(2):
        result = packer.build(
            [str(example)],
            only=["file.seed"],
            parallel=1,
            workdir=tmp_path / "wd",
            cwd=tmp_path,
        )
        assert result.exit_code == 0, result.message
    history = ArtifactRegistry(tmp_path / "wd").load("file.seed")
    assert len(history) == 2 and history[0].record_id != history[1].record_id
    assert history[1].provenance.command_id == result.command_id
    assert history[1].platform == "file"


def test_one_failure_does_not_stop_the_others_and_sets_the_exit_code(tmp_path: Path) -> None:
    write_template(
        tmp_path / "t",
        """
        source "null" "good" {
          communicator = "none"
        }
        source "null" "bad" {
          communicator = "none"
        }
        build {
          sources = ["source.null.good", "source.null.bad"]
          provisioner "shell-local" {
            only   = ["null.bad"]
            inline = ["echo 'a fails' >&2", "exit 1"]
          }
        }
        """,
    )
    result = packer.build([str(tmp_path / "t")], parallel=2, workdir=tmp_path / "wd")
    by_build = {run.label: run for run in result.runs}
    assert by_build["null.good"].exit_code == 0
    assert by_build["null.bad"].exit_code == 1
    assert result.exit_code == 1
    assert [r.build for r in result.records] == ["null.good"]


def test_a_transient_failure_retries_only_that_build(tmp_path: Path) -> None:
    write_template(
        tmp_path / "t",
        f"""
        source "null" "steady" {{
          communicator = "none"
        }}
        source "null" "flaky" {{
          communicator = "none"
        }}
        build {{
          sources = ["source.null.steady", "source.null.flaky"]
          provisioner "shell-local" {{
            only   = ["null.flaky"]
            inline = [
              "if [ -e {tmp_path}/once ]; then exit 0; fi",
              "touch {tmp_path}/once",
              "echo 'read tcp 10.0.0.2:50000->10.0.0.1:443: read: connection reset by peer' >&2",
              "exit 1",
            ]
          }}
        }}
        """,
    )
    result = packer.build([str(tmp_path / "t")], parallel=2, workdir=tmp_path / "wd")
    by_build = {run.label: run for run in result.runs}
    assert result.exit_code == 0, result.message
    assert (by_build["null.flaky"].attempts, by_build["null.steady"].attempts) == (2, 1)


def test_fail_fast_cancels_builds_that_did_not_start(tmp_path: Path) -> None:
    write_template(
        tmp_path / "t",
        """
        source "null" "a" {
          communicator = "none"
        }
        source "null" "b" {
          communicator = "none"
        }
        source "null" "c" {
          communicator = "none"
        }
        build {
          sources = ["source.null.a", "source.null.b", "source.null.c"]
          provisioner "shell-local" {
            only   = ["null.a"]
            inline = ["echo 'a fails' >&2", "exit 1"]
          }
        }
        """,
    )
    result = packer.build(
        [str(tmp_path / "t")], parallel=1, fail_fast=True, workdir=tmp_path / "wd"
    )
    rules = {run.label: run.rule for run in result.runs}
    assert rules["null.a"] == "provisioner_failed"
    assert rules["null.b"] == rules["null.c"] == "cancelled"
    assert result.exit_code == 1


def test_relative_paths_and_new_files_in_parallel(example: Path, tmp_path: Path) -> None:
    """The example's provisioner script is found through path.root; the file builder's
    output directory already exists, so the seed lands in the user's tree."""
    (example / "out").mkdir()
    result = packer.build(
        ".", only=["file.seed", "null.vsphere"], parallel=2, workdir=tmp_path / "wd", cwd=example
    )
    assert result.exit_code == 0, result.message
    assert (example / "out" / "seed-0.0.0-dev.txt").exists()
    assert not (example / "packer-manifest.json").exists()


def test_ctrl_c_stops_every_parallel_build(tmp_path: Path) -> None:
    write_template(
        tmp_path / "t",
        f"""
        source "null" "one" {{
          communicator = "none"
        }}
        source "null" "two" {{
          communicator = "none"
        }}
        build {{
          sources = ["source.null.one", "source.null.two"]
          provisioner "shell-local" {{
            inline = ["echo $$ >> {tmp_path}/pids", "sleep 60"]
          }}
        }}
        """,
    )
    tool = subprocess.Popen(
        [
            *CLI,
            "--workdir",
            str(tmp_path / "wd"),
            "--json",
            "build",
            "--parallel",
            "2",
            str(tmp_path / "t"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids_file = tmp_path / "pids"
    deadline = time.monotonic() + 30
    while not (pids_file.exists() and len(pids_file.read_text().split()) == 2):
        assert time.monotonic() < deadline, "builds never started"
        time.sleep(0.1)
    tool.send_signal(signal.SIGINT)
    out, err = tool.communicate(timeout=60)
    assert tool.returncode == 2, err
    result = json.loads(out)
    assert {run["rule"] for run in result["runs"]} == {"interrupted"}
    for pid in map(int, pids_file.read_text().split()):
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] in "ZX"
