"""Retention purge and diagnostics bundles over a workdir built by hand."""

from __future__ import annotations

import hashlib
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.commands.diag import make_bundle, purge_logs
from hybridcore.redaction.credential_shapes import find_shapes
from hybridcore.redaction.engine import Redactor

NOW = datetime(2025, 6, 1, tzinfo=UTC)
PAST = "2025-05-01T00:00:00.000Z"
FUTURE = "2025-07-01T00:00:00.000Z"
SECRET = "the-secret"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def add_run(w: Path, build: str, cid: str, retain_until: str, **extra: Any) -> dict[str, Any]:
    """A command dir with a raw log, result and scrub manifest, and its summary RUN."""
    cdir = w / "logs" / "packer" / cid
    raw = write(cdir / build / "attempt-1.packer.log", f"log of {cid}\n")
    write(cdir / "result.json", json.dumps({"command_id": cid, "exit_code": 0}))
    write(cdir / "scrub.json", json.dumps({"schema_version": "1.0", "files": []}))
    write(w / "artifacts" / f"{build}.json", json.dumps({"build": build, "records": []}))
    write(w / "artifacts" / f"{build}.hash.json", json.dumps({"build": build}))
    run = {
        "command_id": cid,
        "created_at": "2025-04-01T00:00:00.000Z",
        "retain_until": retain_until,
        "policy": {"keep_days": 30, "source": "default"},
        "exit_code": 0,
        "classification": "success",
        "artifact_ids": [None],
        "manifest_path": None,
        "raw_logs": [str(raw.relative_to(w))],
        "scrub_manifest": str(cdir / "scrub.json"),
        "result_path": str(cdir / "result.json"),
        "purged_at": None,
        "bundles": [],
        **extra,
    }
    summary = w / "state" / "packer" / "logs" / f"{build}.json"
    data: dict[str, Any] = (
        json.loads(summary.read_text()) if summary.exists() else {"build": build, "runs": []}
    )
    data["runs"].append(run)
    write(summary, json.dumps({"schema_version": "1.0", **data}))
    return run


def runs(w: Path, build: str) -> list[dict[str, Any]]:
    data = json.loads((w / "state" / "packer" / "logs" / f"{build}.json").read_text())
    return list(data["runs"])


def bundle(w: Path, out: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("packer_version", "1.6.6")
    kwargs.setdefault("env_names", [])
    return make_bundle(w, out, redactor=Redactor([SECRET]), now=NOW, **kwargs)


def members(out: Path) -> dict[str, bytes]:
    with tarfile.open(out, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- retention


def test_purge_deletes_expired_raw_logs_and_keeps_the_rest(tmp_path: Path) -> None:
    add_run(tmp_path, "null.a", "c1", PAST)
    add_run(tmp_path, "null.a", "c2", FUTURE)
    report = purge_logs(tmp_path, now=NOW)
    assert report.deleted == ["logs/packer/c1/null.a/attempt-1.packer.log"]
    assert report.bytes_freed == len("log of c1\n")
    assert (report.runs_purged, report.kept) == (1, 1)
    assert report.summaries_updated == ["state/packer/logs/null.a.json"]
    old, new = runs(tmp_path, "null.a")
    assert old["purged_at"] == "2025-06-01T00:00:00.000Z" and new["purged_at"] is None
    assert (tmp_path / "logs/packer/c2/null.a/attempt-1.packer.log").exists()
    for kept in ("result.json", "scrub.json"):
        assert (tmp_path / "logs/packer/c1" / kept).exists()
    assert (tmp_path / "artifacts/null.a.json").exists()
    assert (tmp_path / "artifacts/null.a.hash.json").exists()
    assert purge_logs(tmp_path, now=NOW).deleted == []  # already purged
    assert report.to_dict()["bytes_freed"] == report.bytes_freed


def test_dry_run_deletes_and_writes_nothing(tmp_path: Path) -> None:
    add_run(tmp_path, "null.a", "c1", PAST)
    summary = tmp_path / "state/packer/logs/null.a.json"
    before = summary.read_bytes()
    report = purge_logs(tmp_path, now=NOW, dry_run=True)
    assert report.dry_run and report.deleted == ["logs/packer/c1/null.a/attempt-1.packer.log"]
    assert (tmp_path / "logs/packer/c1/null.a/attempt-1.packer.log").exists()
    assert summary.read_bytes() == before


@pytest.mark.parametrize(
    "entry",
    ["../../etc/passwd", "logs/packer/c1/../../../../outside.log", "/etc/passwd", "OUTSIDE"],
)
def test_paths_outside_the_workdir_abort_before_any_delete(tmp_path: Path, entry: str) -> None:
    w = tmp_path / "w"
    outside = write(tmp_path / "outside.log", "keep me")
    add_run(w, "null.a", "c1", PAST)  # a good run that would be purged first
    bad = str(outside) if entry == "OUTSIDE" else entry
    add_run(w, "null.b", "c2", PAST, raw_logs=[bad])
    with pytest.raises(HybridcoreError) as caught:
        purge_logs(w, now=NOW)
    assert caught.value.exit_code == 3 and caught.value.rule == "retention_outside_workdir"
    assert (w / "logs/packer/c1/null.a/attempt-1.packer.log").exists()
    assert outside.exists() and runs(w, "null.a")[0]["purged_at"] is None


@pytest.mark.parametrize(
    "entry", ["artifacts/null.a.json", "artifacts/null.a.hash.json", "logs/packer/c1/result.json"]
)
def test_records_manifests_and_results_are_never_deleted(tmp_path: Path, entry: str) -> None:
    add_run(tmp_path, "null.a", "c1", PAST, raw_logs=[entry])
    with pytest.raises(HybridcoreError) as caught:
        purge_logs(tmp_path, now=NOW)
    assert caught.value.exit_code == 3 and caught.value.rule == "retention_protected_path"
    assert (tmp_path / entry).exists()


def test_symlinked_raw_log_is_not_followed_or_deleted(tmp_path: Path) -> None:
    w = tmp_path / "w"
    target = write(tmp_path / "user" / "precious.log", "keep me")
    link = w / "logs/packer/c1/null.a/attempt-1.packer.log"
    add_run(w, "null.a", "c1", PAST)
    link.unlink()
    link.symlink_to(target)
    report = purge_logs(w, now=NOW)
    assert target.read_text() == "keep me" and link.is_symlink()
    assert report.refused[0]["reason"] == "symbolic link, not followed"
    assert report.runs_purged == 0 and runs(w, "null.a")[0]["purged_at"] is None


def test_raw_log_through_a_symlinked_directory_is_outside(tmp_path: Path) -> None:
    w = tmp_path / "w"
    write(tmp_path / "user" / "main.pkr.hcl", "source {}")
    add_run(w, "null.a", "c1", PAST, raw_logs=["logs/packer/c1/null.a/work/main.pkr.hcl"])
    (w / "logs/packer/c1/null.a/work").symlink_to(tmp_path / "user")
    with pytest.raises(HybridcoreError) as caught:
        purge_logs(w, now=NOW)
    assert caught.value.rule == "retention_outside_workdir"
    assert (tmp_path / "user" / "main.pkr.hcl").exists()


def test_damaged_summaries_and_runs_are_skipped_and_reported(tmp_path: Path) -> None:
    add_run(tmp_path, "null.a", "c1", PAST)
    write(tmp_path / "state/packer/logs/broken.json", "{not json")
    write(tmp_path / "state/packer/logs/list.json", "[1, 2]")
    add_run(tmp_path, "null.c", "c3", "yesterday")
    report = purge_logs(tmp_path, now=NOW)
    assert report.runs_purged == 1
    reasons = {entry["path"]: entry["reason"] for entry in report.skipped}
    assert reasons["state/packer/logs/broken.json"].startswith("log summary")
    assert "is not JSON" in reasons["state/packer/logs/broken.json"]
    assert "not an object with a `runs` list" in reasons["state/packer/logs/list.json"]
    assert reasons["state/packer/logs/null.c.json"] == "run without a valid retain_until"
    assert (tmp_path / "logs/packer/c3/null.c/attempt-1.packer.log").exists()


# ---------------------------------------------------------------------------- bundles


def test_bundle_members_index_and_environment(tmp_path: Path) -> None:
    w = tmp_path / "w"
    add_run(w, "null.a", "c1", FUTURE)
    out = tmp_path / "diag.tar.gz"
    report = bundle(w, out, env_names=["PKR_VAR_password", "HOME", "HOME"])
    got = members(out)
    assert set(got) == {
        "hybridcore-diag/state/packer/logs/null.a.json",
        "hybridcore-diag/artifacts/null.a.json",
        "hybridcore-diag/artifacts/null.a.hash.json",
        "hybridcore-diag/logs/packer/c1/result.json",
        "hybridcore-diag/logs/packer/c1/scrub.json",
        "hybridcore-diag/logs/packer/c1/null.a/attempt-1.packer.log",
        "hybridcore-diag/environment.json",
        "hybridcore-diag/index.json",
    }
    index = json.loads(got["hybridcore-diag/index.json"])
    listed = {entry["path"]: entry for entry in index["members"]}
    assert set(listed) == set(got) - {"hybridcore-diag/index.json"}
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(got[name]).hexdigest()
        assert entry["size"] == len(got[name])
    env = json.loads(got["hybridcore-diag/environment.json"])
    assert env["env_names"] == ["HOME", "PKR_VAR_password"]
    assert env["packer_version"] == "1.6.6"
    assert report.members == len(got) and report.bytes == out.stat().st_size
    assert report.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()


def test_env_values_never_reach_the_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HC_TEST_TOKEN", "value-that-must-not-appear")
    out = tmp_path / "diag.tar.gz"
    bundle(tmp_path / "w", out, env_names=["HC_TEST_TOKEN=value-that-must-not-appear"])
    blob = b"".join(members(out).values())
    assert b"HC_TEST_TOKEN" in blob and b"value-that-must-not-appear" not in blob


@pytest.mark.parametrize(
    "content",
    [
        f"password is {SECRET}\n",
        json.dumps({"multi": f"a\n{SECRET}\n"}),
        PEM,
        "key AKIAIOSFODNN7EXAMPLE\n",
        "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc123==;\n",
    ],
)
def test_a_member_holding_a_secret_aborts_with_no_output(tmp_path: Path, content: str) -> None:
    w = tmp_path / "w"
    add_run(w, "null.a", "c1", FUTURE)
    write(w / "logs/packer/c1/null.a/attempt-1.packer.log", content)
    out = tmp_path / "out" / "diag.tar.gz"
    out.parent.mkdir()
    with pytest.raises(HybridcoreError) as caught:
        bundle(w, out)
    assert caught.value.exit_code == 3 and caught.value.rule == "secret_in_bundle"
    assert "logs/packer/c1/null.a/attempt-1.packer.log" in caught.value.message
    assert SECRET not in caught.value.message
    assert not out.exists() and list(out.parent.iterdir()) == []
    assert runs(w, "null.a")[0]["bundles"] == []


def test_json_escaped_secret_is_caught(tmp_path: Path) -> None:
    redactor = Redactor(['pa"ss\\word'])
    write(tmp_path / "w/logs/packer/c1/x.log", json.dumps({"p": 'pa"ss\\word'}))
    with pytest.raises(HybridcoreError):
        make_bundle(
            tmp_path / "w", tmp_path / "d.tgz", redactor=redactor, packer_version=None, env_names=[]
        )
    assert not (tmp_path / "d.tgz").exists()


def test_placeholders_do_not_trigger(tmp_path: Path) -> None:
    text = (
        "Authorization: Bearer <sensitive>\nPassword=<sensitive>;AccountKey=<sensitive>\n"
        "https://x.blob.core.windows.net/c?sv=2020&sig=<sensitive>\n"
        '{"sas": "https://x/c?sv=1\\u0026sig=\\u003csensitive\\u003e"}\n'
        "-----BEGIN PUBLIC KEY-----\n"
    )
    assert find_shapes(text) == []
    write(tmp_path / "w/logs/packer/c1/x.log", text)
    assert bundle(tmp_path / "w", tmp_path / "d.tgz").members == 3


def test_credential_shapes_names_each_shape() -> None:
    assert find_shapes(PEM) == ["private_key"]
    assert find_shapes("ASIAABCDEFGHIJKLMNOP") == ["aws_access_key_id"]
    assert find_shapes("Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9.x") == ["bearer_token"]
    assert find_shapes("https://a/b?sv=2020&sig=abc%2Bdef") == ["connection_string_secret"]
    assert find_shapes("Server=x;Password=hunter2;") == ["connection_string_secret"]


def test_summaries_record_the_bundle(tmp_path: Path) -> None:
    w = tmp_path / "w"
    add_run(w, "null.a", "c1", FUTURE)
    add_run(w, "null.a", "c2", FUTURE)
    out = tmp_path / "diag.tar.gz"
    report = bundle(w, out)
    assert report.summaries_updated == ["state/packer/logs/null.a.json"]
    assert [run["bundles"] for run in runs(w, "null.a")] == [[str(out)], [str(out)]]
    inside = w / "bundles" / "d2.tar.gz"
    bundle(w, inside)
    assert runs(w, "null.a")[0]["bundles"] == [str(out), "bundles/d2.tar.gz"]


def test_only_filters_builds(tmp_path: Path) -> None:
    w = tmp_path / "w"
    add_run(w, "null.a", "c1", FUTURE)
    add_run(w, "null.b", "c2", FUTURE)
    out = tmp_path / "diag.tar.gz"
    bundle(w, out, only=["null.b"])
    names = set(members(out))
    assert "hybridcore-diag/logs/packer/c2/result.json" in names
    assert "hybridcore-diag/artifacts/null.b.hash.json" in names
    assert not any("null.a" in name or "/c1/" in name for name in names)
    assert runs(w, "null.a")[0]["bundles"] == []
    assert runs(w, "null.b")[0]["bundles"] == [str(out)]


def test_symlinks_and_work_dirs_are_not_followed(tmp_path: Path) -> None:
    w = tmp_path / "w"
    user = tmp_path / "user"
    write(user / "secrets.auto.pkrvars.hcl", f'password = "{SECRET}"\n')
    add_run(w, "null.a", "c1", FUTURE)
    work = w / "logs/packer/c1/null.a/work"
    work.mkdir()
    (work / "secrets.auto.pkrvars.hcl").symlink_to(user / "secrets.auto.pkrvars.hcl")
    write(work / "real-but-mirrored.txt", SECRET)  # work/ is never entered at all
    (w / "logs/packer/c1/null.a/cache").symlink_to(user)
    (w / "logs/packer/c1/leak.log").symlink_to(user / "secrets.auto.pkrvars.hcl")
    out = tmp_path / "diag.tar.gz"
    report = bundle(w, out)
    assert not any("work" in n or "cache" in n or "leak" in n for n in members(out))
    assert {"path": "logs/packer/c1/leak.log", "reason": "not a regular file, not followed"} in (
        report.skipped
    )


def test_damaged_summary_is_bundled_but_not_updated(tmp_path: Path) -> None:
    w = tmp_path / "w"
    write(w / "state/packer/logs/broken.json", "{not json")
    out = tmp_path / "diag.tar.gz"
    report = bundle(w, out)
    assert "hybridcore-diag/state/packer/logs/broken.json" in members(out)
    assert report.summaries_updated == []
    assert (w / "state/packer/logs/broken.json").read_text() == "{not json"


def test_a_failed_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_run(tmp_path / "w", "null.a", "c1", FUTURE)
    out = tmp_path / "out" / "diag.tar.gz"

    def boom(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(tarfile.TarFile, "addfile", boom)
    with pytest.raises(OSError, match="disk full"):
        bundle(tmp_path / "w", out)
    assert list(out.parent.iterdir()) == []
    assert runs(tmp_path / "w", "null.a")[0]["bundles"] == []
