"""The versioned result object every command returns, failures included."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from hybridcore.packer.base.artifact_record import ArtifactRecord
from hybridcore.packer.base.build_drift import BuildDrift
from hybridcore.packer.base.model import FrozenModel
from hybridcore.packer.base.registered_version import RegisteredVersion

__all__ = [
    "SCHEMA_VERSION",
    "Artifact",
    "Result",
    "RunResult",
    "result_schema",
]

SCHEMA_VERSION: Literal["1.0"] = "1.0"

# The names of `ExitClass` a command can end in ("drift" is drift/verify's own).
Classification = Literal["ok", "config", "transient", "security", "internal"]
Command = Literal["init", "fmt", "validate", "build"]


class Artifact(FrozenModel):
    """One artifact as Packer's `-machine-readable` output reports it."""

    build: str = Field(description="Packer build name, e.g. null.vsphere")
    index: int = Field(description="Position in Packer's artifact list for the build")
    builder_id: str | None = Field(description="e.g. mitchellh.amazonebs, packer.file")
    id: str | None = Field(description="Packer's artifact ID, verbatim")
    description: str | None = Field(description="Packer's human text for the artifact")
    files: list[str] = Field(description="Files the artifact consists of")


class RunResult(FrozenModel):
    """One packer invocation (with its retry, if any)."""

    label: str
    target: str
    argv: list[str] = Field(description="Full argv of the last attempt; never holds a secret")
    exit_code: int = Field(ge=0, le=3)
    classification: Classification
    rule: str = Field(description="Name of the classification rule that decided")
    evidence: str | None = Field(description="The output line the rule matched")
    remediation: str | None
    retryable: bool
    attempts: int = Field(ge=0)
    packer_exit_code: int | None
    stdout: str = Field(description="Scrubbed stdout tail of the last attempt")
    stderr: str = Field(description="Scrubbed stderr tail of the last attempt")
    stdout_truncated: bool
    stderr_truncated: bool
    timed_out: bool
    interrupted: bool
    manifest_path: str | None = Field(description="This run's entries of the Packer manifest")
    artifacts: list[Artifact]
    log_paths: list[str] = Field(description="Scrubbed raw Packer logs, one per attempt")
    workspace: str | None = Field(
        default=None, description="The build's own working directory (parallel builds)"
    )
    started_at: str
    finished_at: str
    duration_s: float


class Result(FrozenModel):
    """What a command did. `exit_code` follows the 0/1/2/3 table."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    command: Command
    command_id: str
    env: str
    exit_code: int = Field(ge=0, le=3)
    classification: Classification
    rule: str
    evidence: str | None = Field(description="The output line (or fact) that decided the class")
    remediation: str | None
    retryable: bool
    message: str = Field(description="One-paragraph summary; names the input and the fix")
    argv: list[str] = Field(description="argv of the primary (most severe) run")
    attempts: int = Field(ge=0)
    packer_version: str | None
    packer_exit_code: int | None
    stdout: str
    stderr: str
    manifest_path: str | None
    artifacts: list[Artifact]
    records: list[ArtifactRecord] = Field(
        description="Artifact records written to artifacts/<build>.json by this command"
    )
    cache: dict[str, Any] | None = Field(
        description="Shared ISO cache report: fetched, reused and purged entries"
    )
    drift: list[BuildDrift] = Field(
        default_factory=list, description="Each build's inputs against its last hash manifest"
    )
    skipped: list[BuildDrift] = Field(
        default_factory=list, description="Builds --skip-unchanged did not start, and why"
    )
    versions: list[RegisteredVersion] = Field(
        default_factory=list, description="Registry versions this build registered"
    )
    secrets: list[str] = Field(description="Names (never values) of secret variables passed")
    inherited_secrets: list[str] = Field(
        default_factory=list,
        description="Names (never values) of credential variables inherited from the caller's "
        "environment (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, ...): redacted everywhere",
    )
    weak_secrets: list[str] = Field(
        default_factory=list,
        description="Names (never values) of secrets too short or common to mask: a declared "
        "one is refused (rule weak_secret), an inherited one is not redacted",
    )
    log_paths: list[str]
    result_path: str | None = Field(description="Where this result is stored as JSON")
    workdir: str
    targets: list[str]
    started_at: str
    finished_at: str
    duration_s: float
    runs: list[RunResult] = Field(description="Every packer invocation, in order")

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def result_schema() -> dict[str, Any]:
    """The JSON Schema of `Result`, as shipped in ``schemas/result.schema.json``."""
    schema = Result.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:hybridcore:packer:result:{SCHEMA_VERSION}"
    return schema
