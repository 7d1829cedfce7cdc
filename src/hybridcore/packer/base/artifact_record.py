"""Artifact records: which image IDs came out of which build, with provenance."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from hybridcore.packer.base.model import FrozenModel

__all__ = [
    "PLATFORMS",
    "RECORD_SCHEMA_VERSION",
    "ArtifactFile",
    "ArtifactRecord",
    "Image",
    "Provenance",
    "record_schema",
]

RECORD_SCHEMA_VERSION: Literal["1.0"] = "1.0"

Platform = Literal[
    "vsphere",
    "azure",
    "proxmox",
    "aws",
    "gcp",
    "docker",
    "qemu",
    "virtualbox",
    "hyperv",
    "null",
    "file",
    "unknown",
]
PLATFORMS: tuple[str, ...] = Platform.__args__  # type: ignore[attr-defined]


class Image(FrozenModel):
    """One image the artifact consists of: an AMI in a region, a managed image, ..."""

    region: str | None = Field(description="Cloud region or location; null where none applies")
    id: str = Field(description="Image ID, name or path as the platform knows it")


class ArtifactFile(FrozenModel):
    name: str
    size: int | None = None


class Provenance(FrozenModel):
    command_id: str | None
    source: Literal["build", "import"] = Field(
        description="`build`: recorded by a build; `import`: parsed from an existing manifest"
    )
    git_sha: str | None = Field(description="HEAD of the repository holding the template")
    git_dirty: bool | None = Field(description="Uncommitted changes in that repository")
    packer_version: str | None
    packer_run_uuid: str | None
    inputs_digest: str | None = Field(description="Combined digest of the build's inputs")
    started_at: str | None
    finished_at: str | None


class ArtifactRecord(FrozenModel):
    """One artifact of one build, as stored in ``artifacts/<build>.json``."""

    schema_version: Literal["1.0"] = RECORD_SCHEMA_VERSION
    record_id: str = Field(description="Unique to this record")
    build: str = Field(description="Packer's build name, e.g. vsphere-iso.ubuntu")
    builder_type: str = Field(description="e.g. amazon-ebs, azure-arm, null")
    builder_id: str | None = Field(description="e.g. mitchellh.amazonebs")
    platform: Platform
    artifact_id: str | None = Field(description="Packer's artifact ID, verbatim")
    images: list[Image]
    details: dict[str, str] = Field(
        description="Fields parsed from the artifact ID (subscription, resource group, ...)"
    )
    files: list[ArtifactFile]
    custom_data: dict[str, Any] | None
    provenance: Provenance


def record_schema() -> dict[str, Any]:
    """The JSON Schema of `ArtifactRecord` (pinned by a golden test)."""
    schema = ArtifactRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:hybridcore:packer:artifact-record:{RECORD_SCHEMA_VERSION}"
    return schema
