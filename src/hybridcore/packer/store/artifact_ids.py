"""Packer artifact IDs -> platform, image IDs (with region) and named details.

Every Packer builder prints one artifact ID per build (in ``-machine-readable``
``artifact,<n>,id,...`` lines and as ``artifact_id`` in the ``manifest``
post-processor's file), but each builder formats it its own way. This module
reads the formats the builders document (their ``Artifact.Id()``):

- amazon-ebs, -chroot, -ebssurrogate, -instance (``mitchellh.amazonebs``,
  ``mitchellh.amazon.<name>``): ``<region>:<ami-id>`` pairs, sorted, joined by
  ``,``; amazon-ebsvolume: ``<region>:<vol-id>`` and ``<region>:<snap-id>``
  pairs. One image per pair, with its region.
- azure-arm, azure-dtl (``Azure.ResourceManagement.VMImage``): the OS disk
  resource ID with ``keep_os_disk``, else the managed image resource ID
  (``/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/images/<n>``),
  else the shared image gallery version ID (``.../galleries/<g>/images/<i>/versions/<v>``),
  else the VHD URI (``https://<account>.blob.core.windows.net/<container>/<blob>``);
  ``UNKNOWN ID`` when none, and empty for managed images before Packer 1.3.2.
  azure-chroot (``azure.chroot``): the created resource IDs, lower-cased, sorted,
  joined by ``,``. No region (an ARM ID holds none).
- vsphere-iso, vsphere-clone (``jetbrains.vsphere``): the VM (template) name
  alone, no datacenter or folder; the ``vsphere`` post-processor's artifact is
  ``<datastore>::<folder>::<vm name>``.
- proxmox-iso, proxmox-clone (``proxmox.iso``, ``proxmox.clone``; ``proxmox.builder``
  in Packer <= 1.6): the template's VMID, a decimal number.
- googlecompute (``packer.googlecompute``): the image name; no project, no zone.
- docker (``packer.docker``): ``Container``, the export file being the
  artifact's file; with ``commit`` (``packer.post-processor.docker-import``) the
  image ID ``sha256:<hex>``; after docker-import, docker-tag or docker-push
  ``<repository>[:<tag>]``.
- qemu (``transcend.qemu``), virtualbox-* (``mitchellh.virtualbox``), hyperv-*
  (``MSOpenTech.hyperv``): ``VM``; one image per disk file of the artifact.
  vmware-iso/-vmx (``mitchellh.vmware``, ``mitchellh.vmware-esx``): the VM name.
- null (``fnoeding.null``): ``Null``; file (``packer.file``): ``File``. No image.

`parse_artifact_id` never raises: an ID it cannot read gives no images (or, for
a builder type it does not know, the raw ID as the one image) and the caller
keeps the raw ID verbatim, so nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import TypeAlias
from urllib.parse import urlsplit

from hybridcore.packer.base.artifact_record import PLATFORMS, Image

__all__ = [
    "BUILDER_IDS",
    "BUILDER_PLATFORMS",
    "ParsedArtifactId",
    "builder_type_of",
    "parse_artifact_id",
    "platform_of",
]


@dataclass(frozen=True)
class ParsedArtifactId:
    """What an artifact ID says: the platform, its images and named fields."""

    platform: str
    images: tuple[Image, ...] = ()
    details: dict[str, str] = field(default_factory=dict)


# Builder type -> platform (one of artifact_record.PLATFORMS).
BUILDER_PLATFORMS: dict[str, str] = {
    "amazon-ebs": "aws",
    "amazon-chroot": "aws",
    "amazon-ebssurrogate": "aws",
    "amazon-ebsvolume": "aws",
    "amazon-instance": "aws",
    "azure-arm": "azure",
    "azure-chroot": "azure",
    "azure-dtl": "azure",
    "vsphere-iso": "vsphere",
    "vsphere-clone": "vsphere",
    "vsphere-supervisor": "vsphere",
    "proxmox": "proxmox",
    "proxmox-iso": "proxmox",
    "proxmox-clone": "proxmox",
    "googlecompute": "gcp",
    "docker": "docker",
    "qemu": "qemu",
    "virtualbox-iso": "virtualbox",
    "virtualbox-ovf": "virtualbox",
    "virtualbox-vm": "virtualbox",
    "hyperv-iso": "hyperv",
    "hyperv-vmcx": "hyperv",
    "null": "null",
    "file": "file",
}

# Builder types known by name although no platform of ours fits them (their
# records keep platform "unknown"); knowing them helps read build names.
_OTHER_BUILDER_TYPES = frozenset(
    {
        "vmware-iso",
        "vmware-vmx",
        "parallels-iso",
        "parallels-pvm",
        "lxc",
        "lxd",
        "digitalocean",
        "hcloud",
        "openstack",
        "oracle-oci",
        "alicloud-ecs",
        "linode",
        "vagrant",
    }
)
_KNOWN_BUILDER_TYPES = frozenset(BUILDER_PLATFORMS) | _OTHER_BUILDER_TYPES

# Builder ID (the `BuilderId()` of a builder's artifact, as printed in
# -machine-readable output) -> builder types that print it, the usual one first.
# Sources: the "Artifact BuilderId" line of each builder's documentation and the
# `BuilderId` constants of the packer-plugin-* repositories.
BUILDER_IDS: dict[str, tuple[str, ...]] = {
    "mitchellh.amazonebs": ("amazon-ebs",),
    "mitchellh.amazon.chroot": ("amazon-chroot",),
    "mitchellh.amazon.ebssurrogate": ("amazon-ebssurrogate",),
    "mitchellh.amazon.ebsvolume": ("amazon-ebsvolume",),
    "mitchellh.amazon.instance": ("amazon-instance",),
    "Azure.ResourceManagement.VMImage": ("azure-arm", "azure-dtl"),
    "azure.chroot": ("azure-chroot",),
    "jetbrains.vsphere": ("vsphere-iso", "vsphere-clone"),
    "vsphere.supervisor": ("vsphere-supervisor",),
    "proxmox.iso": ("proxmox-iso", "proxmox"),
    "proxmox.clone": ("proxmox-clone",),
    "proxmox.builder": ("proxmox",),
    "packer.googlecompute": ("googlecompute",),
    "packer.docker": ("docker",),
    # The docker builder with `commit = true` reports this ID itself; docker-tag
    # passes on a new artifact under its own ID. Both only ever hold docker images.
    "packer.post-processor.docker-import": ("docker",),
    "packer.post-processor.docker-tag": ("docker",),
    "transcend.qemu": ("qemu",),
    "mitchellh.virtualbox": ("virtualbox-iso", "virtualbox-ovf", "virtualbox-vm"),
    "MSOpenTech.hyperv": ("hyperv-iso", "hyperv-vmcx"),
    "mitchellh.vmware": ("vmware-iso", "vmware-vmx"),
    "mitchellh.vmware-esx": ("vmware-iso", "vmware-vmx"),
    "fnoeding.null": ("null",),
    "packer.file": ("file",),
}
_BUILDER_IDS_FOLDED = {key.lower(): value for key, value in BUILDER_IDS.items()}

_UNKNOWN = "unknown"

_Parser: TypeAlias = Callable[[str, Sequence[str]], "ParsedArtifactId"]


def platform_of(builder_type: str) -> str:
    """The platform a builder type builds for; "unknown" for any other type."""
    platform = BUILDER_PLATFORMS.get(builder_type.strip().lower(), _UNKNOWN)
    return platform if platform in PLATFORMS else _UNKNOWN


# --- builder type ------------------------------------------------------------------------

_TYPE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")


def _type_from_build(build: str) -> str | None:
    """The builder type named in a build name.

    HCL2 build names are ``<type>.<source name>`` or, inside a named build
    block, ``<build name>.<type>.<source name>``; a legacy JSON template's build
    name is the builder's `name` (its type when unnamed). Source names may hold
    dots, so a known type in second place wins over one in first place for
    names of three parts or more; an unknown type is only read from a name of
    exactly two parts.
    """
    parts = build.strip().split(".")
    if len(parts) == 1:
        return parts[0] if parts[0] in _KNOWN_BUILDER_TYPES else None
    if len(parts) >= 3 and parts[1] in _KNOWN_BUILDER_TYPES:
        return parts[1]
    if parts[0] in _KNOWN_BUILDER_TYPES:
        return parts[0]
    if len(parts) == 2 and _TYPE_NAME.match(parts[0]) and parts[1]:
        return parts[0]
    return None


def builder_type_of(*, builder_type: str | None, builder_id: str | None, build: str | None) -> str:
    """The builder type (e.g. ``amazon-ebs``) of an artifact.

    ``builder_type`` when given (a Packer manifest records it); else the type
    whose artifacts carry ``builder_id`` (several types share some IDs, e.g.
    ``jetbrains.vsphere``: the build name picks among them); else the type
    named in the ``build`` name; else ``"unknown"``. IDs of post-processors
    that wrap any artifact (``packer.post-processor.vsphere``, ``artifice``,
    ...) say nothing about the builder, so the build name decides for them.
    """
    if isinstance(builder_type, str) and builder_type.strip():
        return builder_type.strip()
    from_build = _type_from_build(build) if isinstance(build, str) and build.strip() else None
    if isinstance(builder_id, str) and builder_id.strip():
        key = builder_id.strip()
        candidates = BUILDER_IDS.get(key) or _BUILDER_IDS_FOLDED.get(key.lower())
        if candidates:
            return from_build if from_build in candidates else candidates[0]
    return from_build or _UNKNOWN


# --- helpers -----------------------------------------------------------------------------

_WINDOWS_PATH = re.compile(r"[A-Za-z]:|\\\\|.*\\")
_EXTENSION = re.compile(r"\.([A-Za-z][A-Za-z0-9]{0,7})\Z")
_DISK_EXTENSIONS = frozenset({"vmdk", "vdi", "vhd", "vhdx", "qcow2", "qcow", "img", "raw", "ova"})


def _basename(path: str) -> str:
    """The file name of a path written on Windows (``C:\\out\\a.vhdx``) or POSIX."""
    if _WINDOWS_PATH.match(path):
        return PureWindowsPath(path).name
    return PurePosixPath(path).name


def _extension(path: str) -> str | None:
    """Lower-case extension, or None: ``packer-ubuntu-22.04`` has none (``.04`` is a version)."""
    match = _EXTENSION.search(_basename(path))
    return match.group(1).lower() if match else None


def _disk_files(files: Sequence[str], *, bare_names_are_disks: bool = False) -> list[str]:
    """The files that are disk images (qemu's default disk has no extension)."""
    disks = []
    for name in files:
        if not isinstance(name, str) or not name.strip() or not _basename(name):
            continue
        ext = _extension(name)
        if ext in _DISK_EXTENSIONS or (ext is None and bare_names_are_disks):
            disks.append(name)
    return disks


def _images(ids: Sequence[str], region: str | None = None) -> tuple[Image, ...]:
    return tuple(Image(region=region, id=value) for value in ids)


# --- AWS ---------------------------------------------------------------------------------

_AWS_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+\Z")
_AWS_RESOURCE = re.compile(r"(?:ami|vol|snap|aki|ari)-[0-9a-f]{8,17}\Z")


def _parse_aws(artifact_id: str, _files: Sequence[str]) -> ParsedArtifactId:
    images = []
    for pair in artifact_id.split(","):
        region, sep, resource = pair.strip().partition(":")
        if not sep or not _AWS_REGION.match(region) or not _AWS_RESOURCE.match(resource):
            return ParsedArtifactId("aws")
        images.append(Image(region=region, id=resource))
    return ParsedArtifactId("aws", tuple(images))


# --- Azure -------------------------------------------------------------------------------

_AZURE_BLOB_HOST = re.compile(r"([a-z0-9]{3,24})\.blob\.core\.[a-z0-9.]+\Z")


def _azure_resource(resource_id: str) -> tuple[Image, dict[str, str]] | None:
    """An ARM resource ID: ``/subscriptions/<s>/resourceGroups/<rg>/providers/<ns>/<type>/<n>``.

    Keys are matched case-insensitively (azure-chroot lower-cases its IDs);
    values keep their case.
    """
    if not resource_id.startswith("/") or any(c.isspace() for c in resource_id):
        return None
    segments = resource_id.strip("/").split("/")
    if any(not segment for segment in segments):
        return None
    details: dict[str, str] = {}
    region: str | None = None
    provider_path: list[str] = []
    for index in range(0, len(segments) - 1, 2):
        key, value = segments[index].lower(), segments[index + 1]
        if key == "providers":
            provider_path = segments[index + 1 :]
            break
        if key == "subscriptions":
            details["subscription_id"] = value
        elif key == "resourcegroups":
            details["resource_group"] = value
        elif key == "locations":
            region = value
    # provider_path: <namespace>, <type>, <name>[, <child type>, <child name>]...
    if "subscription_id" not in details or len(provider_path) < 3 or len(provider_path) % 2 == 0:
        return None
    namespace = provider_path[0]
    kinds = [kind.lower() for kind in provider_path[1::2]]
    names = provider_path[2::2]
    region = next((n for k, n in zip(kinds, names, strict=True) if k == "locations"), region)
    compute = namespace.lower() == "microsoft.compute"
    if compute and kinds == ["images"]:
        details["image_name"] = names[0]
    elif compute and kinds in (["galleries", "images", "versions"], ["galleries", "images"]):
        details["gallery_name"] = names[0]
        details["gallery_image_name"] = names[1]
        if len(names) > 2:
            details["gallery_image_version"] = names[2]
    elif compute and kinds == ["disks"]:
        details["disk_name"] = names[0]
    elif compute and kinds == ["snapshots"]:
        details["snapshot_name"] = names[0]
    else:
        details["resource_type"] = "/".join([namespace, *provider_path[1::2]])
        details["resource_name"] = "/".join(names)
    return Image(region=region, id=resource_id), details


def _azure_vhd(uri: str) -> tuple[Image, dict[str, str]] | None:
    """A page blob: ``https://<account>.blob.core.windows.net/<container>/<blob path>``."""
    if any(c.isspace() for c in uri):
        return None
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    match = _AZURE_BLOB_HOST.match(host)
    if parts.scheme not in {"https", "http"} or not match:
        return None
    container, _, blob = parts.path.lstrip("/").partition("/")
    if not container or not blob:
        return None
    # Never keep a query: it would be a SAS token (a secret), not part of the ID.
    bare = f"{parts.scheme}://{parts.netloc}{parts.path}"
    details = {"storage_account": match.group(1), "container": container, "blob": blob}
    return Image(region=None, id=bare), details


def _parse_azure(artifact_id: str, _files: Sequence[str]) -> ParsedArtifactId:
    images: list[Image] = []
    details: dict[str, str] = {}
    # azure-chroot joins several resource IDs with commas; azure-arm prints one ID.
    for part in artifact_id.split(","):
        part = part.strip()
        parsed = _azure_vhd(part) if "://" in part else _azure_resource(part)
        if parsed is None:
            return ParsedArtifactId("azure")
        image, found = parsed
        images.append(image)
        for key, value in found.items():
            details.setdefault(key, value)
    return ParsedArtifactId("azure", tuple(images), details)


# --- vSphere -----------------------------------------------------------------------------


def _parse_vsphere(artifact_id: str, _files: Sequence[str]) -> ParsedArtifactId:
    if "::" in artifact_id:
        parsed = _vsphere_upload(artifact_id)
        return parsed if parsed is not None else ParsedArtifactId("vsphere")
    return ParsedArtifactId(
        "vsphere", (Image(region=None, id=artifact_id),), {"vm_name": artifact_id}
    )


def _vsphere_upload(artifact_id: str) -> ParsedArtifactId | None:
    """The `vsphere` post-processor's ``<datastore>::<folder>::<vm name>``."""
    parts = artifact_id.split("::")
    if len(parts) != 3 or not parts[2]:
        return None
    datastore, folder, vm_name = parts
    details = {"vm_name": vm_name}
    if datastore:
        details["datastore"] = datastore
    if folder:
        details["folder"] = folder
    return ParsedArtifactId("vsphere", (Image(region=None, id=vm_name),), details)


# --- Proxmox -----------------------------------------------------------------------------


def _parse_proxmox(artifact_id: str, _files: Sequence[str]) -> ParsedArtifactId:
    if not artifact_id.isascii() or not artifact_id.isdigit():
        return ParsedArtifactId("proxmox")
    return ParsedArtifactId(
        "proxmox", (Image(region=None, id=artifact_id),), {"vm_id": artifact_id}
    )


# --- Google Compute ----------------------------------------------------------------------

_GCE_NAME = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?\Z")
_GCE_LINK = re.compile(r"(?:.*/)?projects/([^/\s]+)/global/images/([^/\s]+)\Z")


def _parse_gcp(artifact_id: str, _files: Sequence[str]) -> ParsedArtifactId:
    details: dict[str, str] = {}
    name = artifact_id
    link = _GCE_LINK.match(artifact_id)
    if link:
        details["project"], name = link.group(1), link.group(2)
    if not _GCE_NAME.match(name):
        return ParsedArtifactId("gcp")
    details["image_name"] = name
    return ParsedArtifactId("gcp", (Image(region=None, id=name),), details)


# --- Docker ------------------------------------------------------------------------------

_DOCKER_IMAGE_ID = re.compile(r"(?:sha256:)?([0-9a-f]{12}|[0-9a-f]{64})\Z")
_DOCKER_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*\Z")


def _parse_docker(artifact_id: str, files: Sequence[str]) -> ParsedArtifactId:
    if artifact_id == "Container":  # exported to a tar file: the artifact's file
        exports = [f for f in files if isinstance(f, str) and f.strip()]
        details = {"export_path": exports[0]} if exports else {}
        return ParsedArtifactId("docker", _images(exports), details)
    if _DOCKER_IMAGE_ID.match(artifact_id):  # committed: the image ID
        return ParsedArtifactId(
            "docker", (Image(region=None, id=artifact_id),), {"image_id": artifact_id}
        )
    if not _DOCKER_REFERENCE.match(artifact_id):
        return ParsedArtifactId("docker")
    # docker-import / docker-tag / docker-push: <repository>[:<tag>][@<digest>]
    reference, _, digest = artifact_id.partition("@")
    repository, tag = reference, ""
    colon = reference.rfind(":")
    if colon > reference.rfind("/"):  # a colon before the last "/" is a registry port
        repository, tag = reference[:colon], reference[colon + 1 :]
    if not repository or (colon > reference.rfind("/") and not tag):
        return ParsedArtifactId("docker")
    details = {"repository": repository}
    if tag:
        details["tag"] = tag
    if digest:
        details["digest"] = digest
    return ParsedArtifactId("docker", (Image(region=None, id=artifact_id),), details)


# --- local hypervisors -------------------------------------------------------------------


def _local(platform: str, *, bare_names_are_disks: bool = False) -> _Parser:
    """qemu, VirtualBox, Hyper-V: the ID is ``VM`` (or the VM name); images are disk files."""

    def parse(artifact_id: str, files: Sequence[str]) -> ParsedArtifactId:
        details = {} if artifact_id in {"", "VM"} else {"vm_name": artifact_id}
        disks = _disk_files(files, bare_names_are_disks=bare_names_are_disks)
        return ParsedArtifactId(platform, _images(disks), details)

    return parse


def _parse_vmware(artifact_id: str, files: Sequence[str]) -> ParsedArtifactId:
    """vmware-iso/-vmx: the VM name, disks in files; via the vsphere post-processor, vSphere."""
    if "::" in artifact_id:
        uploaded = _vsphere_upload(artifact_id)
        if uploaded is not None:
            return uploaded
    details = {"vm_name": artifact_id} if artifact_id and artifact_id != "VM" else {}
    return ParsedArtifactId(_UNKNOWN, _images(_disk_files(files)), details)


def _parse_marker(platform: str) -> _Parser:
    """null (``Null``) and file (``File``): no image at all."""

    def parse(_artifact_id: str, _files: Sequence[str]) -> ParsedArtifactId:
        return ParsedArtifactId(platform)

    return parse


def _parse_unknown(artifact_id: str, _files: Sequence[str]) -> ParsedArtifactId:
    return ParsedArtifactId(_UNKNOWN, (Image(region=None, id=artifact_id),))


# --- dispatch ----------------------------------------------------------------------------

_PARSERS: dict[str, _Parser] = {
    "aws": _parse_aws,
    "azure": _parse_azure,
    "vsphere": _parse_vsphere,
    "proxmox": _parse_proxmox,
    "gcp": _parse_gcp,
    "docker": _parse_docker,
    "qemu": _local("qemu", bare_names_are_disks=True),
    "virtualbox": _local("virtualbox"),
    "hyperv": _local("hyperv"),
    "null": _parse_marker("null"),
    "file": _parse_marker("file"),
}


def parse_artifact_id(
    builder_type: str, artifact_id: str | None, files: Sequence[str] = ()
) -> ParsedArtifactId:
    """Read ``artifact_id`` the way ``builder_type`` formats it.

    ``files`` are the artifact's files (the VM builders' disks, docker's export
    file). Never raises: an ID that does not have the builder's format gives no
    images; an unknown builder type gives platform ``unknown`` with the raw ID as
    its one image. The caller keeps the raw ID verbatim in either case.
    """
    kind = builder_type.strip().lower() if isinstance(builder_type, str) else ""
    platform = platform_of(kind)
    if not isinstance(files, Sequence) or isinstance(files, str | bytes):
        files = ()
    raw = artifact_id.strip() if isinstance(artifact_id, str) else ""
    try:
        if kind in {"vmware-iso", "vmware-vmx"}:
            return _parse_vmware(raw, files)
        parser = _PARSERS.get(platform)
        if parser is None:
            return _parse_unknown(raw, files) if raw else ParsedArtifactId(_UNKNOWN)
        if not raw and platform not in {"qemu", "virtualbox", "hyperv", "null", "file"}:
            return ParsedArtifactId(platform)
        return parser(raw, files)
    except Exception:  # a malformed ID must never break recording the artifact
        return ParsedArtifactId(platform)
