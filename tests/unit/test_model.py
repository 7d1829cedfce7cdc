"""base/model.py: every typed record is frozen and rejects fields it does not declare."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from pydantic import BaseModel, ValidationError

import hybridcore.packer
from hybridcore.packer.base.model import FrozenModel


class _Point(FrozenModel):
    x: int


def test_unknown_fields_are_rejected_and_records_are_frozen() -> None:
    with pytest.raises(ValidationError, match="extra"):
        _Point.model_validate({"x": 1, "y": 2})
    point = _Point(x=1)
    with pytest.raises(ValidationError, match="frozen"):
        point.x = 2  # type: ignore[misc]


def test_every_model_of_the_package_is_a_frozen_model() -> None:
    for info in pkgutil.walk_packages(hybridcore.packer.__path__, "hybridcore.packer."):
        if ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
            ):
                assert issubclass(value, FrozenModel), f"{module.__name__}.{value.__name__}"
