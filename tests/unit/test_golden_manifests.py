"""Golden manifests: Packer manifests of every builder type -> artifact records.

``tests/golden/manifests/<builder-type>.json`` are manifests as the ``manifest``
post-processor writes them, each made from that builder's documented artifact
ID format (see ``hybridcore.packer.store.artifact_ids``). ``tests/golden/records/
<builder-type>.json`` are the records ``registry.records_from_manifest`` makes
of them with a fixed provenance, ``record_id`` removed (it is random; its
uniqueness is tested on its own). ``tests/golden/artifact_record.schema.json``
pins ``artifact_record.record_schema()``: a change of the record model fails
here until the golden is regenerated on purpose.

Regenerating the goldens: run

    HYBRIDCORE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_golden_manifests.py

which rewrites the record and schema goldens instead of comparing them; then
read ``git diff tests/golden`` by hand (platform, region and image IDs must be
what a person reading the builder's documentation expects) before committing.
``EXPECTED_IMAGES`` below states those expectations once more in code, so a
careless regeneration cannot bless a wrong parse.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hybridcore.packer.base.artifact_record import ArtifactRecord, Provenance, record_schema
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.store.artifact_records import records_from_manifest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
MANIFESTS = sorted((GOLDEN / "manifests").glob("*.json"))
RECORDS = GOLDEN / "records"
SCHEMA = GOLDEN / "artifact_record.schema.json"
UPDATE = os.environ.get("HYBRIDCORE_UPDATE_GOLDEN") == "1"

PROVENANCE = Provenance(
    command_id=None,
    source="import",
    git_sha=None,
    git_dirty=None,
    packer_version=None,
    packer_run_uuid=None,
    inputs_digest=None,
    started_at=None,
    finished_at=None,
)

REQUIRED_BUILDER_TYPES = {
    "amazon-ebs",
    "amazon-ebssurrogate",
    "amazon-ebsvolume",
    "amazon-instance",
    "amazon-chroot",
    "azure-arm",
    "vsphere-iso",
    "vsphere-clone",
    "proxmox-iso",
    "proxmox-clone",
    "googlecompute",
    "docker",
    "qemu",
    "virtualbox-iso",
    "virtualbox-ovf",
    "hyperv-iso",
    "hyperv-vmcx",
    "null",
    "file",
}

_SUB = "3f2c1a7e-8b4d-4e6f-9a0c-5d7e1b2f4a68"

# What a person reading each builder's docs expects, per manifest entry in order:
# (platform, [(region, image id), ...]).
EXPECTED_IMAGES: dict[str, list[tuple[str, list[tuple[str | None, str]]]]] = {
    "amazon-ebs": [
        ("aws", [("eu-central-1", "ami-0c5c1a3b2f9e4d871")]),
        (
            "aws",
            [
                ("eu-central-1", "ami-0a1b2c3d4e5f60718"),
                ("eu-west-1", "ami-0f9e8d7c6b5a49382"),
                ("us-east-1", "ami-07d4e5f6a7b8c9d01"),
            ],
        ),
        ("aws", [("eu-central-1", "ami-0e2d4c6b8a0f13579")]),
    ],
    "amazon-ebssurrogate": [("aws", [("us-west-2", "ami-0b8e2f4a6c1d3e5f7")])],
    "amazon-ebsvolume": [
        (
            "aws",
            [
                ("us-east-2", "snap-01a2b3c4d5e6f7a8b"),
                ("us-east-2", "snap-09f8e7d6c5b4a3921"),
                ("us-east-2", "vol-0123456789abcdef0"),
                ("us-east-2", "vol-0fedcba9876543210"),
            ],
        )
    ],
    "amazon-instance": [("aws", [("us-east-1", "ami-0d1e2f3a4b5c6d7e8")])],
    "amazon-chroot": [
        (
            "aws",
            [
                ("ap-northeast-1", "ami-05a6b7c8d9e0f1a2b"),
                ("ap-southeast-2", "ami-0c4d3b2a19f8e7d65"),
            ],
        )
    ],
    "azure-arm": [
        ("azure", []),  # Packer < 1.3.2 printed an empty ID for managed images
        (
            "azure",
            [
                (
                    None,
                    f"/subscriptions/{_SUB}/resourceGroups/rg-golden-images/providers/"
                    "Microsoft.Compute/images/golden-ubuntu-2204-20240502",
                )
            ],
        ),
        (
            "azure",
            [
                (
                    None,
                    f"/subscriptions/{_SUB}/resourceGroups/rg-golden-sig/providers/"
                    "Microsoft.Compute/galleries/sig_golden_images/images/ubuntu-2204-gen2/"
                    "versions/2024.6.3",
                )
            ],
        ),
        (
            "azure",
            [
                (
                    None,
                    "https://stgoldenvhdweu01.blob.core.windows.net/system/Microsoft.Compute/"
                    "Images/images/packer-osDisk.4085bb15-3644-4641-b9cd-f575918640b4.vhd",
                )
            ],
        ),
        (
            "azure",
            [
                (
                    None,
                    f"/subscriptions/{_SUB}/resourceGroups/rg-golden-images/providers/"
                    "Microsoft.Compute/disks/pkrosrhel9a1b2c3d4e5",
                )
            ],
        ),
    ],
    "azure-chroot": [
        (
            "azure",
            [
                (
                    None,
                    f"/subscriptions/{_SUB}/resourcegroups/rg-golden-sig/providers/"
                    "microsoft.compute/galleries/sig_golden_images/images/ubuntu-2204-chroot/"
                    "versions/1.0.7",
                )
            ],
        )
    ],
    "vsphere-iso": [
        ("vsphere", [(None, "tpl-ubuntu-2204-20240605")]),
        ("vsphere", [(None, "tpl-rhel-9-20240605")]),
    ],
    "vsphere-clone": [("vsphere", [(None, "tpl-windows-2022-std-20240606")])],
    "proxmox-iso": [("proxmox", [(None, "9000")])],
    "proxmox-clone": [("proxmox", [(None, "9101")]), ("proxmox", [(None, "9102")])],
    "googlecompute": [("gcp", [(None, "golden-ubuntu-2204-v20240608")])],
    "docker": [
        ("docker", [(None, "artifacts/ubuntu-golden.tar")]),
        (
            "docker",
            [(None, "sha256:4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b")],
        ),
        ("docker", [(None, "registry.example.com:5000/platform/golden-ubuntu:2024.06.1")]),
    ],
    "qemu": [
        ("qemu", [(None, "output-ubuntu-2204/packer-ubuntu-2204")]),
        ("qemu", [(None, "output-debian-12-uefi/debian-12.qcow2")]),
    ],
    "virtualbox-iso": [
        ("virtualbox", [(None, "output-ubuntu-2204/packer-ubuntu-2204-1718095122-disk001.vmdk")])
    ],
    "virtualbox-ovf": [("virtualbox", [(None, "ubuntu-2204-hardened.ova")])],
    "hyperv-iso": [
        (
            "hyperv",
            [
                (
                    None,
                    "C:\\packer\\output-windows-2022\\Virtual Hard Disks\\packer-windows-2022.vhdx",
                )
            ],
        )
    ],
    "hyperv-vmcx": [
        (
            "hyperv",
            [
                (
                    None,
                    "D:\\images\\output-windows-2022-patched\\Virtual Hard Disks\\"
                    "windows-2022-patched.vhdx",
                ),
                (None, "D:\\images\\output-windows-2022-patched\\Virtual Hard Disks\\data-01.vhdx"),
            ],
        )
    ],
    "null": [("null", []), ("null", [])],
    "file": [("file", [])],
    "vmware-iso": [
        ("unknown", [(None, "output-ubuntu-2204-workstation/disk.vmdk")]),
        ("vsphere", [(None, "ubuntu-2204-esxi")]),  # uploaded by the vsphere post-processor
    ],
    "hcloud": [("unknown", [(None, "163029127")])],
}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _check_golden(path: Path, actual: object) -> None:
    if UPDATE:
        _write(path, actual)
        return
    assert path.exists(), (
        f"{path} is missing: run with HYBRIDCORE_UPDATE_GOLDEN=1 and review the result"
    )
    assert actual == _load(path), (
        f"{path.name} differs from what the code makes now; if the change is intended, "
        "regenerate with HYBRIDCORE_UPDATE_GOLDEN=1 and review `git diff tests/golden`"
    )


def _records(manifest: dict[str, Any], *, this_run_only: bool = False) -> list[ArtifactRecord]:
    return records_from_manifest(manifest, PROVENANCE, this_run_only=this_run_only)


def _without_record_id(record: ArtifactRecord) -> dict[str, Any]:
    data = record.model_dump(mode="json")
    del data["record_id"]
    return data


def _pinned_schema() -> dict[str, Any]:
    return record_schema() if UPDATE else _load(SCHEMA)


@pytest.fixture(params=MANIFESTS, ids=lambda path: path.stem)
def manifest_path(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


# --- the corpus ----------------------------------------------------------------------------


def test_every_required_builder_type_has_a_golden_manifest() -> None:
    stems = {path.stem for path in MANIFESTS}
    assert stems >= REQUIRED_BUILDER_TYPES, REQUIRED_BUILDER_TYPES - stems
    assert set(EXPECTED_IMAGES) == stems


def test_golden_manifest_is_named_for_its_builder_type(manifest_path: Path) -> None:
    manifest = _load(manifest_path)
    assert {b["builder_type"] for b in manifest["builds"]} == {manifest_path.stem}
    # Exactly the manifest post-processor's fields, in its JSON form.
    allowed = {
        "name",
        "builder_type",
        "build_time",
        "files",
        "artifact_id",
        "packer_run_uuid",
        "custom_data",
    }
    for build in manifest["builds"]:
        assert set(build) <= allowed
        assert {"name", "builder_type", "files", "artifact_id", "packer_run_uuid"} <= set(build)
    assert set(manifest) == {"builds", "last_run_uuid"}


def test_corpus_covers_the_manifest_variants() -> None:
    builds = [b for path in MANIFESTS for b in _load(path)["builds"]]
    multi_run = [
        p for p in MANIFESTS if len({b["packer_run_uuid"] for b in _load(p)["builds"]}) > 1
    ]
    assert len(multi_run) >= 3
    assert any("build_time" not in b for b in builds), "no strip_time manifest"
    assert any(b["files"] is None for b in builds)
    assert any(b.get("custom_data", "absent") is None for b in builds)
    assert any("custom_data" not in b for b in builds), "no pre-custom_data (old Packer) entry"


def test_no_golden_record_file_without_its_manifest() -> None:
    if UPDATE:
        return
    stems = {path.stem for path in MANIFESTS}
    assert {path.stem for path in RECORDS.glob("*.json")} == stems


# --- records -------------------------------------------------------------------------------


def test_records_match_golden(manifest_path: Path) -> None:
    records = _records(_load(manifest_path))
    _check_golden(RECORDS / manifest_path.name, [_without_record_id(r) for r in records])


def test_records_have_the_documented_platform_and_images(manifest_path: Path) -> None:
    records = _records(_load(manifest_path))
    expected = EXPECTED_IMAGES[manifest_path.stem]
    assert [(r.platform, [(i.region, i.id) for i in r.images]) for r in records] == expected


def test_records_keep_every_manifest_field(manifest_path: Path) -> None:
    manifest = _load(manifest_path)
    records = _records(manifest)
    assert len(records) == len(manifest["builds"])
    for build, record in zip(manifest["builds"], records, strict=True):
        assert record.artifact_id == build["artifact_id"]
        assert record.builder_type == build["builder_type"]
        assert record.build == f"{build['builder_type']}.{build['name']}"
        assert [f.name for f in record.files] == [f["name"] for f in build["files"] or []]
        assert [f.size for f in record.files] == [f["size"] for f in build["files"] or []]
        assert record.custom_data == build.get("custom_data")
        assert record.provenance.packer_run_uuid == build["packer_run_uuid"]
        assert record.provenance.source == "import"


def test_record_ids_are_unique() -> None:
    ids = [r.record_id for path in MANIFESTS for r in _records(_load(path))]
    again = [r.record_id for path in MANIFESTS for r in _records(_load(path))]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & set(again)
    assert all(record_id for record_id in ids)


def test_this_run_only_keeps_only_the_last_runs_entries(manifest_path: Path) -> None:
    manifest = _load(manifest_path)
    last = manifest["last_run_uuid"]
    expected = [b for b in manifest["builds"] if b["packer_run_uuid"] == last]
    records = _records(manifest, this_run_only=True)
    assert [r.artifact_id for r in records] == [b["artifact_id"] for b in expected]
    assert {r.provenance.packer_run_uuid for r in records} <= {last}
    if len({b["packer_run_uuid"] for b in manifest["builds"]}) > 1:
        assert len(records) < len(manifest["builds"])
        assert len(_records(manifest)) == len(manifest["builds"])


def test_strip_time_records_have_no_finished_at(manifest_path: Path) -> None:
    manifest = _load(manifest_path)
    for build, record in zip(manifest["builds"], _records(manifest), strict=True):
        if "build_time" in build:
            stamp = rfc3339(datetime.fromtimestamp(build["build_time"], UTC))
            assert record.provenance.finished_at == stamp
        else:
            assert record.provenance.finished_at is None
        assert record.provenance.started_at is None


# --- schema --------------------------------------------------------------------------------


def test_record_schema_is_pinned() -> None:
    _check_golden(SCHEMA, record_schema())


def test_records_validate_against_the_pinned_schema(manifest_path: Path) -> None:
    schema = _pinned_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for record in _records(_load(manifest_path)):
        errors = [e.message for e in validator.iter_errors(record.model_dump(mode="json"))]
        assert errors == []


def test_pinned_schema_rejects_a_record_that_breaks_it() -> None:
    schema = _pinned_schema()
    record = _records(_load(GOLDEN / "manifests" / "amazon-ebs.json"))[0].model_dump(mode="json")
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(record)
    assert not validator.is_valid({**record, "platform": "openstack"})
    assert not validator.is_valid({**record, "images": [{"region": "us-east-1"}]})
    assert not validator.is_valid({**record, "surprise": True})
    missing = dict(record)
    del missing["record_id"]
    assert not validator.is_valid(missing)
