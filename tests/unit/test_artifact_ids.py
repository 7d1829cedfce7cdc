"""Artifact IDs -> platform, images and details; builder IDs and build names -> builder type."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcore.packer.base.artifact_record import PLATFORMS, Image
from hybridcore.packer.store.artifact_ids import (
    BUILDER_IDS,
    BUILDER_PLATFORMS,
    ParsedArtifactId,
    builder_type_of,
    parse_artifact_id,
    platform_of,
)

SUB = "3f2c1a7e-8b4d-4e6f-9a0c-5d7e1b2f4a68"


def images(parsed: ParsedArtifactId) -> list[tuple[str | None, str]]:
    return [(image.region, image.id) for image in parsed.images]


# --- builder_type_of -------------------------------------------------------------------------


def test_builder_type_from_the_manifest_wins() -> None:
    assert (
        builder_type_of(builder_type="amazon-ebs", builder_id="transcend.qemu", build="qemu.x")
        == "amazon-ebs"
    )
    assert builder_type_of(builder_type=" azure-arm\n", builder_id=None, build=None) == "azure-arm"


@pytest.mark.parametrize(
    ("builder_id", "expected"),
    [
        ("mitchellh.amazonebs", "amazon-ebs"),
        ("mitchellh.amazon.chroot", "amazon-chroot"),
        ("mitchellh.amazon.ebssurrogate", "amazon-ebssurrogate"),
        ("mitchellh.amazon.ebsvolume", "amazon-ebsvolume"),
        ("mitchellh.amazon.instance", "amazon-instance"),
        ("Azure.ResourceManagement.VMImage", "azure-arm"),
        ("azure.chroot", "azure-chroot"),
        ("jetbrains.vsphere", "vsphere-iso"),
        ("vsphere.supervisor", "vsphere-supervisor"),
        ("proxmox.iso", "proxmox-iso"),
        ("proxmox.clone", "proxmox-clone"),
        ("proxmox.builder", "proxmox"),
        ("packer.googlecompute", "googlecompute"),
        ("packer.docker", "docker"),
        ("packer.post-processor.docker-import", "docker"),
        ("packer.post-processor.docker-tag", "docker"),
        ("transcend.qemu", "qemu"),
        ("mitchellh.virtualbox", "virtualbox-iso"),
        ("MSOpenTech.hyperv", "hyperv-iso"),
        ("mitchellh.vmware", "vmware-iso"),
        ("mitchellh.vmware-esx", "vmware-iso"),
        ("fnoeding.null", "null"),
        ("packer.file", "file"),
        ("msopentech.HYPERV", "hyperv-iso"),  # case-insensitive fallback
    ],
)
def test_builder_type_from_builder_id(builder_id: str, expected: str) -> None:
    assert builder_type_of(builder_type=None, builder_id=builder_id, build=None) == expected


@pytest.mark.parametrize(
    ("builder_id", "build", "expected"),
    [
        ("jetbrains.vsphere", "vsphere-clone.windows", "vsphere-clone"),
        ("jetbrains.vsphere", "golden.vsphere-clone.windows", "vsphere-clone"),
        ("jetbrains.vsphere", "vsphere-iso.ubuntu", "vsphere-iso"),
        ("mitchellh.virtualbox", "virtualbox-ovf.hardened", "virtualbox-ovf"),
        ("MSOpenTech.hyperv", "hyperv-vmcx.win2022", "hyperv-vmcx"),
        ("Azure.ResourceManagement.VMImage", "azure-dtl.lab", "azure-dtl"),
        # A build name naming a type the ID does not belong to does not override the ID.
        ("jetbrains.vsphere", "qemu.ubuntu", "vsphere-iso"),
    ],
)
def test_shared_builder_ids_are_told_apart_by_the_build_name(
    builder_id: str, build: str, expected: str
) -> None:
    assert builder_type_of(builder_type=None, builder_id=builder_id, build=build) == expected


@pytest.mark.parametrize(
    ("builder_id", "build", "expected"),
    [
        # Post-processors wrap any artifact: the build name knows the builder.
        ("packer.post-processor.vsphere", "vmware-iso.ubuntu", "vmware-iso"),
        ("packer.post-processor.artifice", "golden.qemu.ubuntu", "qemu"),
        ("packer.post-processor.manifest", "null.vsphere", "null"),
        # Plugin builders this module does not know.
        ("hcloud.builder", "hcloud.debian-12", "hcloud"),
        ("acme.builder", "acme-cloud.debian", "acme-cloud"),
        (None, "acme-cloud.debian", "acme-cloud"),
    ],
)
def test_builder_type_falls_back_to_the_build_name(
    builder_id: str | None, build: str, expected: str
) -> None:
    assert builder_type_of(builder_type=None, builder_id=builder_id, build=build) == expected


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        ("null.vsphere", "null"),
        ("golden.null.vsphere", "null"),
        ("golden.amazon-ebs.ubuntu", "amazon-ebs"),
        ("qemu.ubuntu-22.04", "qemu"),  # source names may hold dots
        ("vsphere-iso.ubuntu-22.04.4", "vsphere-iso"),
        ("docker.qemu.debian", "qemu"),  # a build block named like a builder type
        ("amazon-ebs", "amazon-ebs"),  # legacy JSON template, unnamed builder
        ("my-build", "unknown"),  # legacy JSON template, named builder
        ("golden.acme-cloud.ubuntu", "unknown"),  # cannot tell build name from type
        ("acme.ubuntu-22.04", "unknown"),
        ("", "unknown"),
        ("   ", "unknown"),
    ],
)
def test_builder_type_from_the_build_name(build: str, expected: str) -> None:
    assert builder_type_of(builder_type=None, builder_id=None, build=build) == expected


def test_builder_type_unknown_when_nothing_is_known() -> None:
    assert builder_type_of(builder_type=None, builder_id=None, build=None) == "unknown"
    assert builder_type_of(builder_type="", builder_id="", build="") == "unknown"
    assert builder_type_of(builder_type="  ", builder_id="acme.thing", build=None) == "unknown"


def test_every_builder_id_maps_to_types_with_a_platform() -> None:
    for types in BUILDER_IDS.values():
        assert types
        for builder_type in types:
            assert builder_type in BUILDER_PLATFORMS or builder_type.startswith("vmware-")
    assert set(BUILDER_PLATFORMS.values()) <= set(PLATFORMS)


# --- AWS -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "builder_type",
    ["amazon-ebs", "amazon-ebssurrogate", "amazon-ebsvolume", "amazon-instance", "amazon-chroot"],
)
def test_aws_single_region(builder_type: str) -> None:
    parsed = parse_artifact_id(builder_type, "us-east-1:ami-0abcdef1234567890")
    assert parsed.platform == "aws"
    assert images(parsed) == [("us-east-1", "ami-0abcdef1234567890")]
    assert parsed.details == {}


def test_aws_multi_region_keeps_packers_order() -> None:
    parsed = parse_artifact_id(
        "amazon-ebs",
        "ap-southeast-2:ami-0c4d3b2a19f8e7d65,eu-west-1:ami-0f9e8d7c6b5a49382,"
        "us-gov-west-1:ami-05a6b7c8",
    )
    assert images(parsed) == [
        ("ap-southeast-2", "ami-0c4d3b2a19f8e7d65"),
        ("eu-west-1", "ami-0f9e8d7c6b5a49382"),
        ("us-gov-west-1", "ami-05a6b7c8"),
    ]


def test_aws_ebsvolume_volumes_and_snapshots_in_one_region() -> None:
    parsed = parse_artifact_id(
        "amazon-ebsvolume", "us-east-2:snap-01a2b3c4d5e6f7a8b,us-east-2:vol-0123456789abcdef0"
    )
    assert images(parsed) == [
        ("us-east-2", "snap-01a2b3c4d5e6f7a8b"),
        ("us-east-2", "vol-0123456789abcdef0"),
    ]


@pytest.mark.parametrize(
    "artifact_id",
    [
        "ami-0abcdef1234567890",  # no region
        "us-east-1:",  # no AMI
        ":ami-0abcdef1234567890",
        "us-east-1:ami-0abcdef1234567890,",  # trailing comma
        "us-east-1:ami-0abcdef1234567890,garbage",  # one bad pair spoils the ID
        "us-east-1:ami-XYZ",
        "US-EAST-1:ami-0abcdef1234567890",
        "us-east-1 ami-0abcdef1234567890",
        "Null",
    ],
)
def test_aws_malformed_ids_give_no_images(artifact_id: str) -> None:
    parsed = parse_artifact_id("amazon-ebs", artifact_id)
    assert parsed == ParsedArtifactId("aws")


# --- Azure -----------------------------------------------------------------------------------


def test_azure_managed_image() -> None:
    resource = (
        f"/subscriptions/{SUB}/resourceGroups/rg-golden-images/providers/"
        "Microsoft.Compute/images/golden-ubuntu-2204"
    )
    parsed = parse_artifact_id("azure-arm", resource)
    assert parsed.platform == "azure"
    assert images(parsed) == [(None, resource)]
    assert parsed.details == {
        "subscription_id": SUB,
        "resource_group": "rg-golden-images",
        "image_name": "golden-ubuntu-2204",
    }


def test_azure_shared_image_gallery_version() -> None:
    resource = (
        f"/subscriptions/{SUB}/resourceGroups/rg-sig/providers/Microsoft.Compute/"
        "galleries/sig_golden/images/ubuntu-2204-gen2/versions/2024.6.3"
    )
    parsed = parse_artifact_id("azure-arm", resource)
    assert images(parsed) == [(None, resource)]
    assert parsed.details == {
        "subscription_id": SUB,
        "resource_group": "rg-sig",
        "gallery_name": "sig_golden",
        "gallery_image_name": "ubuntu-2204-gen2",
        "gallery_image_version": "2024.6.3",
    }


def test_azure_vhd_uri() -> None:
    uri = (
        "https://stgolden01.blob.core.windows.net/system/Microsoft.Compute/Images/images/"
        "packer-osDisk.4085bb15-3644-4641-b9cd-f575918640b4.vhd"
    )
    parsed = parse_artifact_id("azure-arm", uri)
    assert images(parsed) == [(None, uri)]
    assert parsed.details == {
        "storage_account": "stgolden01",
        "container": "system",
        "blob": "Microsoft.Compute/Images/images/"
        "packer-osDisk.4085bb15-3644-4641-b9cd-f575918640b4.vhd",
    }


def test_azure_vhd_uri_in_a_sovereign_cloud_and_without_its_sas_token() -> None:
    uri = "https://stgov01.blob.core.usgovcloudapi.net/vhds/golden.vhd"
    parsed = parse_artifact_id("azure-arm", uri + "?sv=2020-08-04&sig=c2VjcmV0")
    assert images(parsed) == [(None, uri)]
    assert parsed.details["storage_account"] == "stgov01"
    assert "sig" not in repr(parsed.details)


def test_azure_os_disk_when_keep_os_disk() -> None:
    resource = (
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/pkrosabc123"
    )
    parsed = parse_artifact_id("azure-arm", resource)
    assert images(parsed) == [(None, resource)]
    assert parsed.details["disk_name"] == "pkrosabc123"


def test_azure_chroot_lower_cased_resources_joined_by_commas() -> None:
    image = f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.compute/images/golden"
    snapshot = f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.compute/snapshots/os"
    parsed = parse_artifact_id("azure-chroot", f"{image},{snapshot}")
    assert parsed.platform == "azure"
    assert images(parsed) == [(None, image), (None, snapshot)]
    assert parsed.details == {
        "subscription_id": SUB,
        "resource_group": "rg",
        "image_name": "golden",
        "snapshot_name": "os",
    }


def test_azure_other_resource_types_are_named_generically() -> None:
    resource = (
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1"
    )
    parsed = parse_artifact_id("azure-arm", resource)
    assert images(parsed) == [(None, resource)]
    assert parsed.details["resource_type"] == "Microsoft.Storage/storageAccounts"
    assert parsed.details["resource_name"] == "st1"


def test_azure_region_only_when_the_id_has_one() -> None:
    resource = (
        f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/"
        "sharedGalleries/abc/images/ubuntu"
    )
    parsed = parse_artifact_id("azure-arm", resource)
    assert images(parsed) == [("westeurope", resource)]


@pytest.mark.parametrize(
    "artifact_id",
    [
        "",  # Packer < 1.3.2, managed image
        "UNKNOWN ID",
        "golden-ubuntu-2204",
        "/subscriptions//resourceGroups/rg/providers/Microsoft.Compute/images/x",
        "/subscriptions/x/resourceGroups/rg",
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images",
        "https://example.com/system/x.vhd",
        "https://stgolden01.blob.core.windows.net/",
        "https://stgolden01.blob.core.windows.net/system",
        "ftp://stgolden01.blob.core.windows.net/system/x.vhd",
    ],
)
def test_azure_malformed_ids_give_no_images(artifact_id: str) -> None:
    assert parse_artifact_id("azure-arm", artifact_id) == ParsedArtifactId("azure")


# --- vSphere, Proxmox, GCP -------------------------------------------------------------------


@pytest.mark.parametrize("builder_type", ["vsphere-iso", "vsphere-clone"])
def test_vsphere_vm_name(builder_type: str) -> None:
    parsed = parse_artifact_id(builder_type, "tpl-ubuntu 22.04 (golden)")
    assert parsed.platform == "vsphere"
    assert images(parsed) == [(None, "tpl-ubuntu 22.04 (golden)")]
    assert parsed.details == {"vm_name": "tpl-ubuntu 22.04 (golden)"}


def test_vsphere_export_files_do_not_become_images() -> None:
    parsed = parse_artifact_id("vsphere-iso", "tpl", ["out/tpl.ovf", "out/tpl-disk-0.vmdk"])
    assert images(parsed) == [(None, "tpl")]


def test_vsphere_post_processor_upload() -> None:
    parsed = parse_artifact_id("vmware-iso", "datastore1::Templates/Linux::ubuntu-esxi")
    assert parsed.platform == "vsphere"
    assert images(parsed) == [(None, "ubuntu-esxi")]
    assert parsed.details == {
        "vm_name": "ubuntu-esxi",
        "datastore": "datastore1",
        "folder": "Templates/Linux",
    }
    assert parse_artifact_id("vsphere-iso", "ds::::vm").details == {
        "vm_name": "vm",
        "datastore": "ds",
    }
    assert parse_artifact_id("vsphere-iso", "a::b") == ParsedArtifactId("vsphere")


@pytest.mark.parametrize("builder_type", ["proxmox-iso", "proxmox-clone", "proxmox"])
def test_proxmox_vm_id(builder_type: str) -> None:
    parsed = parse_artifact_id(builder_type, "9000")
    assert parsed.platform == "proxmox"
    assert images(parsed) == [(None, "9000")]
    assert parsed.details == {"vm_id": "9000"}


@pytest.mark.parametrize("artifact_id", ["", "tpl-debian", "90 00", "-1", "٩٠٠٠"])
def test_proxmox_malformed_ids_give_no_images(artifact_id: str) -> None:
    assert parse_artifact_id("proxmox-iso", artifact_id) == ParsedArtifactId("proxmox")


def test_gcp_image_name() -> None:
    parsed = parse_artifact_id("googlecompute", "golden-ubuntu-2204-v20240608")
    assert parsed.platform == "gcp"
    assert images(parsed) == [(None, "golden-ubuntu-2204-v20240608")]
    assert parsed.details == {"image_name": "golden-ubuntu-2204-v20240608"}


def test_gcp_image_link_names_the_project() -> None:
    link = "https://www.googleapis.com/compute/v1/projects/acme-images/global/images/golden-1"
    parsed = parse_artifact_id("googlecompute", link)
    assert images(parsed) == [(None, "golden-1")]
    assert parsed.details == {"project": "acme-images", "image_name": "golden-1"}


@pytest.mark.parametrize("artifact_id", ["", "Golden_Image", "1golden", "golden-", "a" * 64])
def test_gcp_malformed_ids_give_no_images(artifact_id: str) -> None:
    assert parse_artifact_id("googlecompute", artifact_id) == ParsedArtifactId("gcp")


# --- Docker ----------------------------------------------------------------------------------


def test_docker_export_is_the_file() -> None:
    parsed = parse_artifact_id("docker", "Container", ["artifacts/ubuntu.tar"])
    assert parsed.platform == "docker"
    assert images(parsed) == [(None, "artifacts/ubuntu.tar")]
    assert parsed.details == {"export_path": "artifacts/ubuntu.tar"}
    assert parse_artifact_id("docker", "Container") == ParsedArtifactId("docker")


def test_docker_commit_is_the_image_id() -> None:
    image_id = "sha256:" + "4f3c2b1a" * 8
    parsed = parse_artifact_id("docker", image_id)
    assert images(parsed) == [(None, image_id)]
    assert parsed.details == {"image_id": image_id}


@pytest.mark.parametrize(
    ("artifact_id", "details"),
    [
        ("golden/ubuntu", {"repository": "golden/ubuntu"}),
        ("golden/ubuntu:2024.06", {"repository": "golden/ubuntu", "tag": "2024.06"}),
        (
            "registry.example.com:5000/platform/golden:1.2.3",
            {"repository": "registry.example.com:5000/platform/golden", "tag": "1.2.3"},
        ),
        ("registry.example.com:5000/golden", {"repository": "registry.example.com:5000/golden"}),
        (
            "ghcr.io/acme/golden:1.0@sha256:" + "ab" * 32,
            {"repository": "ghcr.io/acme/golden", "tag": "1.0", "digest": "sha256:" + "ab" * 32},
        ),
    ],
)
def test_docker_tagged_repository(artifact_id: str, details: dict[str, str]) -> None:
    parsed = parse_artifact_id("docker", artifact_id)
    assert images(parsed) == [(None, artifact_id)]
    assert parsed.details == details


@pytest.mark.parametrize("artifact_id", ["", "golden:", "not an image", ":tag"])
def test_docker_malformed_ids_give_no_images(artifact_id: str) -> None:
    assert parse_artifact_id("docker", artifact_id) == ParsedArtifactId("docker")


# --- local hypervisors -----------------------------------------------------------------------


def test_qemu_disks_include_the_default_extensionless_disk() -> None:
    parsed = parse_artifact_id(
        "qemu",
        "VM",
        [
            "output-ubuntu/packer-ubuntu-22.04",
            "output-ubuntu/efivars.fd",
            "output-debian/debian.qcow2",
            "output-debian/debian.img",
        ],
    )
    assert parsed.platform == "qemu"
    assert images(parsed) == [
        (None, "output-ubuntu/packer-ubuntu-22.04"),
        (None, "output-debian/debian.qcow2"),
        (None, "output-debian/debian.img"),
    ]
    assert parsed.details == {}


def test_virtualbox_disks_not_descriptors() -> None:
    files = ["out/vm.ovf", "out/vm-disk001.vmdk", "out/vm-disk002.vmdk", "out/vm.mf"]
    parsed = parse_artifact_id("virtualbox-iso", "VM", files)
    assert parsed.platform == "virtualbox"
    assert images(parsed) == [(None, "out/vm-disk001.vmdk"), (None, "out/vm-disk002.vmdk")]
    assert images(parse_artifact_id("virtualbox-ovf", "VM", ["out/vm.ova"])) == [
        (None, "out/vm.ova")
    ]
    # No extension means no disk for VirtualBox (only qemu names disks that way).
    assert parse_artifact_id("virtualbox-iso", "VM", ["out/README"]).images == ()


@pytest.mark.parametrize("builder_type", ["hyperv-iso", "hyperv-vmcx"])
def test_hyperv_windows_paths(builder_type: str) -> None:
    files = [
        "C:\\out\\Virtual Hard Disks\\disk.vhdx",
        "C:\\out\\Virtual Hard Disks\\data.VHD",
        "C:\\out\\Virtual Machines\\4B7F3E2A-9C1D-4E8B-A2F6-0D5C7B9E1A34.vmcx",
        "C:\\out\\Virtual Machines\\4B7F3E2A-9C1D-4E8B-A2F6-0D5C7B9E1A34.VMRS",
        "\\\\filer\\images\\golden.vhdx",
        "C:/out/forward/slashes.vhdx",
    ]
    parsed = parse_artifact_id(builder_type, "VM", files)
    assert parsed.platform == "hyperv"
    assert images(parsed) == [
        (None, "C:\\out\\Virtual Hard Disks\\disk.vhdx"),
        (None, "C:\\out\\Virtual Hard Disks\\data.VHD"),
        (None, "\\\\filer\\images\\golden.vhdx"),
        (None, "C:/out/forward/slashes.vhdx"),
    ]


def test_a_vm_name_instead_of_vm_is_kept_as_a_detail() -> None:
    parsed = parse_artifact_id("hyperv-iso", "win2022-golden", ["C:\\out\\disk.vhdx"])
    assert images(parsed) == [(None, "C:\\out\\disk.vhdx")]
    assert parsed.details == {"vm_name": "win2022-golden"}


def test_local_builders_without_files_have_no_images() -> None:
    for builder_type in ("qemu", "virtualbox-iso", "hyperv-iso"):
        parsed = parse_artifact_id(builder_type, "VM")
        assert parsed.images == ()
        assert parsed.platform == platform_of(builder_type)


def test_vmware_local_build() -> None:
    parsed = parse_artifact_id("vmware-iso", "ubuntu", ["out/ubuntu.vmx", "out/disk.vmdk"])
    assert parsed.platform == "unknown"
    assert images(parsed) == [(None, "out/disk.vmdk")]
    assert parsed.details == {"vm_name": "ubuntu"}


# --- null, file, unknown ---------------------------------------------------------------------


def test_null_and_file_have_no_images() -> None:
    assert parse_artifact_id("null", "Null") == ParsedArtifactId("null")
    assert parse_artifact_id("file", "File", ["out/seed.txt"]) == ParsedArtifactId("file")
    assert parse_artifact_id("null", None) == ParsedArtifactId("null")


def test_unknown_builder_type_keeps_the_raw_id_as_its_image() -> None:
    parsed = parse_artifact_id("hcloud", "163029127", ["ignored.img"])
    assert parsed == ParsedArtifactId("unknown", (Image(region=None, id="163029127"),))
    assert parse_artifact_id("unknown", "us-east-1:ami-0abcdef1234567890").platform == "unknown"
    assert parse_artifact_id("acme", None) == ParsedArtifactId("unknown")
    assert parse_artifact_id("acme", "") == ParsedArtifactId("unknown")


@pytest.mark.parametrize("builder_type", sorted(BUILDER_PLATFORMS))
def test_none_ids_never_break_a_known_type(builder_type: str) -> None:
    parsed = parse_artifact_id(builder_type, None)
    assert parsed.platform == BUILDER_PLATFORMS[builder_type]
    assert parsed.images == ()


def test_builder_type_is_matched_case_insensitively() -> None:
    assert parse_artifact_id("Amazon-EBS", "us-east-1:ami-0abcdef1234567890").platform == "aws"


def test_bad_argument_types_do_not_raise() -> None:
    assert parse_artifact_id(None, "x").platform == "unknown"  # type: ignore[arg-type]
    assert parse_artifact_id("qemu", "VM", None).images == ()  # type: ignore[arg-type]
    assert parse_artifact_id("qemu", "VM", "disk.qcow2").images == ()
    assert images(parse_artifact_id("qemu", "VM", [None, 3, "", "d.qcow2"])) == [  # type: ignore[list-item]
        (None, "d.qcow2")
    ]
    assert parse_artifact_id("amazon-ebs", 42).platform == "aws"  # type: ignore[arg-type]


_TYPES = st.sampled_from([*sorted(BUILDER_PLATFORMS), "vmware-iso", "hcloud", "", "UNKNOWN"])


@settings(deadline=None, max_examples=300)
@given(
    builder_type=_TYPES,
    artifact_id=st.one_of(st.none(), st.text()),
    files=st.lists(st.text(), max_size=4),
)
def test_parse_never_raises_and_always_gives_a_known_platform(
    builder_type: str, artifact_id: str | None, files: list[str]
) -> None:
    parsed = parse_artifact_id(builder_type, artifact_id, files)
    assert parsed.platform in PLATFORMS
    assert all(isinstance(image, Image) and image.id for image in parsed.images)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in parsed.details.items())


@settings(deadline=None, max_examples=300)
@given(
    builder_type=st.one_of(st.none(), st.text()),
    builder_id=st.one_of(st.none(), st.text(), st.sampled_from(sorted(BUILDER_IDS))),
    build=st.one_of(st.none(), st.text()),
)
def test_builder_type_of_never_raises(
    builder_type: str | None, builder_id: str | None, build: str | None
) -> None:
    result = builder_type_of(builder_type=builder_type, builder_id=builder_id, build=build)
    assert isinstance(result, str)
    assert result
