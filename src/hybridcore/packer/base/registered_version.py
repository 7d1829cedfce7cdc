"""The registry version a build registered, as its result reports it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RegisteredVersion"]


class RegisteredVersion(BaseModel):
    """One version a successful build added to the registry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    build: str
    version_id: str
    number: int = Field(description="1, 2, ... per build; BUILD@N names it")
    inputs_digest: str | None
    parents: list[str] = Field(description="Versions it was built from, as BUILD@N")
    registry: str = Field(description="Where it was registered (password masked)")
