"""The registry version a build registered, as its result reports it."""

from __future__ import annotations

from pydantic import Field

from hybridcore.packer.base.model import FrozenModel

__all__ = ["RegisteredVersion"]


class RegisteredVersion(FrozenModel):
    """One version a successful build added to the registry."""

    build: str
    version_id: str
    number: int = Field(description="1, 2, ... per build; BUILD@N names it")
    inputs_digest: str | None
    parents: list[str] = Field(description="Versions it was built from, as BUILD@N")
    registry: str = Field(description="Where it was registered (password masked)")
