"""Log summaries, scrub manifests, diag bundles and retention after real builds."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hybridcore.packer.commands.diag import purge_logs
from tests.conftest import write_template

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "hybridcore.cli"]
SECRET = "Sup3r,secret'value\\with`quotes"
AWS_KEY = "AKIAZZZZZZZZZZZZZZZZ"


def _cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def test_build_writes_summaries_and_a_scrub_manifest(example: Path, tmp_path: Path) -> None:
    proc = _cli("--workdir", "wd", "--json", "build", "--log-keep", "3", str(example), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    for build in ("null.vsphere", "null.azure", "file.seed"):
        summary = json.loads((tmp_path / "wd/state/packer/logs" / f"{build}.json").read_text())
        (run,) = summary["runs"]
        assert run["command_id"] == result["command_id"]
        assert run["policy"] == {"keep_days": 3, "source": "--log-keep"}
        created = datetime.fromisoformat(run["created_at"].replace("Z", "+00:00"))
        until = datetime.fromisoformat(run["retain_until"].replace("Z", "+00:00"))
        assert until - created == timedelta(days=3)
        assert run["artifact_ids"] and run["raw_logs"] and run["purged_at"] is None
        scrub_path = Path(run["scrub_manifest"])
        scrub = json.loads(scrub_path.read_text())
        listed = {entry["path"] for entry in scrub["files"]}
        assert "result.json" in listed and any(p.endswith(".packer.log") for p in listed)
        assert "hybridcore.log" in listed
        for entry in scrub["files"]:  # the digests kept while writing match the files
            data = (scrub_path.parent / entry["path"]).read_bytes()
            assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["path"]


def test_diag_bundle_carries_no_secret_in_any_form(tmp_path: Path) -> None:
    write_template(
        tmp_path / "t",
        """
        variable "token" {
          type      = string
          default   = env("HC_DIAG_TOKEN")
          sensitive = true
        }
        source "null" "leaky" {
          communicator = "none"
        }
        build {
          sources = ["source.null.leaky"]
          provisioner "shell-local" {
            environment_vars = ["TOKEN=${var.token}"]
            inline = [
              "echo plain $TOKEN",
              "printf '{\\"t\\": \\"%s\\"}\\n' \\"$TOKEN\\"",
              "echo aws AKIAZZZZZZZZZZZZZZZZ",
              "printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\\n'",
              "printf -- 'b3BlbnNzaC1rZXktdjEAAAAA\\n-----END OPENSSH PRIVATE KEY-----\\n'",
            ]
          }
        }
        """,
    )
    env = {**os.environ, "HC_DIAG_TOKEN": SECRET}
    built = _cli("--workdir", "wd", "build", "t", cwd=tmp_path, env=env)
    assert built.returncode == 0, built.stderr
    bundle = tmp_path / "diag.tar.gz"
    made = _cli("--workdir", "wd", "diag", "--output", str(bundle), cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    with tarfile.open(bundle) as tar:
        texts = {
            member.name: tar.extractfile(member).read().decode("utf-8", "replace")  # type: ignore[union-attr]
            for member in tar.getmembers()
            if member.isfile()
        }
    assert any(name.endswith("index.json") for name in texts)
    assert any(name.endswith(".packer.log") for name in texts)
    forbidden = [
        SECRET,
        json.dumps(SECRET)[1:-1],
        SECRET.replace(",", "%!(PACKER_COMMA)"),
        AWS_KEY,
        "b3BlbnNzaC1rZXktdjEAAAAA",
    ]
    for name, text in texts.items():
        for value in forbidden:
            assert value not in text, f"{value!r} in {name}"
    summary = json.loads((tmp_path / "wd/state/packer/logs/null.leaky.json").read_text())
    assert summary["runs"][-1]["bundles"]


def test_retention_purge_removes_only_expired_raw_logs(example: Path, tmp_path: Path) -> None:
    old = _cli("--workdir", "wd", "build", "--log-keep", "0", str(example), cwd=tmp_path)
    new = _cli("--workdir", "wd", "build", "--log-keep", "30", str(example), cwd=tmp_path)
    assert old.returncode == new.returncode == 0
    summary_path = tmp_path / "wd/state/packer/logs/null.vsphere.json"
    expired, kept = json.loads(summary_path.read_text())["runs"]
    report = purge_logs(tmp_path / "wd", now=datetime.now(UTC) + timedelta(seconds=1))
    assert sorted(report.deleted) and all(not Path(p).exists() for p in expired["raw_logs"])
    assert all(Path(p).exists() for p in kept["raw_logs"])
    after = json.loads(summary_path.read_text())["runs"]
    assert after[0]["purged_at"] and after[1]["purged_at"] is None
    assert list((tmp_path / "wd/artifacts").glob("*.hash.json"))  # never purged
    assert list((tmp_path / "wd/artifacts").glob("null.vsphere.json"))
