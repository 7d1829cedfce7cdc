"""The one base class of every typed record: frozen, unknown fields rejected."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["FrozenModel"]


class FrozenModel(BaseModel):
    """Immutable once built; a field the model does not declare is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")
