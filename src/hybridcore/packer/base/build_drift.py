"""One build's inputs against its baseline: the drift report every check returns."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hybridcore.packer.base.model import FrozenModel

__all__ = ["BuildDrift", "Status"]

Status = Literal["clean", "drifted", "no-baseline", "verified", "failed", "skipped"]


class BuildDrift(FrozenModel):
    """One build's inputs against its last hash manifest."""

    build: str
    status: Status
    digest: str | None = Field(description="Digest of the current inputs")
    baseline_digest: str | None = Field(description="Digest in the last hash manifest")
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    areas: list[str] = Field(default_factory=list, description="templates, provisioners, state")
    open_issues: list[str] = Field(default_factory=list, description="Where to remediate")
    message: str = ""
