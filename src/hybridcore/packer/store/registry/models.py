"""What the registry answers with: versions, channels, their history, outdated children."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hybridcore.packer.base.artifact_record import ArtifactRecord
from hybridcore.packer.base.model import FrozenModel
from hybridcore.packer.store.inputs_manifest import HashManifest

__all__ = [
    "Attempt",
    "ChannelEvent",
    "ChannelState",
    "OutdatedChild",
    "ParentLink",
    "RegistryVersion",
    "Revocation",
    "VersionImage",
]


class VersionImage(FrozenModel):
    """One image of a version: where it lives and its ID there."""

    platform: str
    region: str | None
    image_id: str
    artifact_id: str | None


class ParentLink(FrozenModel):
    """A version this one was built from, found by an image ID in its inputs."""

    version_id: str
    build: str
    number: int
    image_id: str = Field(description="The parent's image ID the child's inputs contain")


class Revocation(FrozenModel):
    at: str
    reason: str
    by: str | None
    via: str | None = Field(description="The ancestor whose cascading revocation reached it")


class RegistryVersion(FrozenModel):
    """One successful build of one build name."""

    version_id: str
    build: str
    number: int = Field(description="1, 2, ... per build")
    source: Literal["build", "import"]
    inputs_digest: str | None
    inputs: HashManifest | None = Field(description="The inputs manifest it was built from")
    labels: dict[str, str]
    command_id: str | None
    git_sha: str | None
    git_dirty: bool | None
    packer_version: str | None
    packer_run_uuid: str | None
    started_at: str | None
    finished_at: str | None
    created_at: str
    revoked: Revocation | None
    images: list[VersionImage]
    records: list[ArtifactRecord]
    parents: list[ParentLink]

    @property
    def ref(self) -> str:
        return f"{self.build}@{self.number}"


class ChannelState(FrozenModel):
    build: str
    channel: str
    revision: int = Field(description="Bumped by every assignment")
    managed: bool = Field(description="`latest`: moved by the tool on every registration")
    updated_at: str
    version: RegistryVersion


class ChannelEvent(FrozenModel):
    build: str
    channel: str
    action: Literal["set", "rollback", "latest"]
    version_id: str
    number: int
    previous_id: str | None
    actor: str | None
    at: str


class OutdatedChild(FrozenModel):
    """A version built from a parent that was revoked or that its channels moved away from."""

    child_version_id: str
    child: str = Field(description="BUILD@N")
    child_revoked: bool
    parent_version_id: str
    parent: str = Field(description="BUILD@N")
    image_id: str = Field(description="The parent image the child was built from")
    reason: str


class Attempt(FrozenModel):
    """One build a runner started: who, with which inputs, and how it ended."""

    build: str
    command_id: str
    runner: str = Field(description="The CI job or host that ran it")
    inputs_digest: str | None
    status: Literal["running", "succeeded", "failed"] = Field(
        description="running: started and never finished (still running, or killed)"
    )
    classification: str | None
    rule: str | None
    version_id: str | None = Field(description="The version it registered")
    started_at: str
    finished_at: str | None
