"""`manifest import` and `artifacts`: adopting old manifests, listing records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridcore.cli.main import main
from hybridcore.packer.store.artifact_records import ArtifactRegistry
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden" / "manifests"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_import_prints_records_with_regions_and_image_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        ["--workdir", str(tmp_path), "manifest", "import", str(GOLDEN / "amazon-ebs.json")],
        capsys,
    )
    assert code == 0
    assert "eu-west-1:ami-0f9e8d7c6b5a49382" in out and "aws" in out
    assert not (tmp_path / "artifacts").exists()  # nothing written without --write


def test_import_write_then_artifacts_lists_the_latest_and_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        [
            "--workdir",
            str(tmp_path),
            "--json",
            "manifest",
            "import",
            "--write",
            str(GOLDEN / "amazon-ebs.json"),
        ],
        capsys,
    )
    assert code == 0
    imported = json.loads(out)
    assert {r["provenance"]["source"] for r in imported} == {"import"}
    builds = {r["build"] for r in imported}
    assert builds == set(ArtifactRegistry(tmp_path).builds())

    code, out, _ = _run(["--workdir", str(tmp_path), "--json", "artifacts"], capsys)
    assert code == 0
    latest = json.loads(out)
    assert sorted(r["build"] for r in latest) == sorted(builds)  # one (the latest) per build
    ubuntu = next(r for r in latest if r["build"] == "amazon-ebs.ubuntu")
    assert [i["region"] for i in ubuntu["images"]] == ["eu-central-1", "eu-west-1", "us-east-1"]

    code, out, _ = _run(
        ["--workdir", str(tmp_path), "--json", "artifacts", "--history", "amazon-ebs.ubuntu"],
        capsys,
    )
    history = json.loads(out)
    assert code == 0 and len(history) > 1
    assert len({r["record_id"] for r in history}) == len(history)


def test_importing_twice_keeps_the_earlier_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        _run(
            [
                "--workdir",
                str(tmp_path),
                "manifest",
                "import",
                "--write",
                str(GOLDEN / "null.json"),
            ],
            capsys,
        )
    registry = ArtifactRegistry(tmp_path)
    for build in registry.builds():
        records = registry.load(build)
        assert len(records) % 2 == 0 and len(records) >= 2


@pytest.mark.parametrize(
    ("content", "rule"),
    [("{not json", "invalid_manifest"), ('{"no": "builds"}', "invalid_manifest")],
)
def test_a_bad_manifest_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, rule: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, out, err = _run(["manifest", "import", str(bad)], capsys)
    assert code == 1 and out == ""
    assert str(bad) in err or "builds" in err
    assert "hint:" in err


def test_a_missing_manifest_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["manifest", "import", str(tmp_path / "nope.json")], capsys)
    assert code == 1 and "nope.json" in err


def test_artifacts_for_an_unknown_build_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["--workdir", str(tmp_path), "artifacts", "qemu.none"], capsys)
    assert code == 1 and "qemu.none" in err


def test_an_edited_record_file_is_a_tampering_signal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(
        ["--workdir", str(tmp_path), "manifest", "import", "--write", str(GOLDEN / "file.json")],
        capsys,
    )
    (record_file,) = (tmp_path / "artifacts").glob("*.json")
    record_file.write_text(record_file.read_text()[:-20])
    code, _, err = _run(["--workdir", str(tmp_path), "artifacts"], capsys)
    assert code == 3 and str(record_file) in err


def test_an_unwritable_artifacts_directory_gives_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "artifacts").write_text("a file where the directory should be\n")
    code, out, err = _run(
        ["--workdir", str(tmp_path), "manifest", "import", "--write", str(GOLDEN / "file.json")],
        capsys,
    )
    assert code == 1 and out == ""
    assert "artifacts" in err and "hint:" in err
