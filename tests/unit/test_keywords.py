"""base/keywords.py: the commands, drift, verify and the registry functions share their
keyword arguments (a TypedDict each) and still refuse one they do not take."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hybridcore import packer
from hybridcore.packer.commands.inputs_check import drift, verify


@pytest.mark.parametrize(
    "call",
    [
        lambda w: drift("t", wrokdir=w),
        lambda w: verify("t", registy="sqlite:///x.db", workdir=w),
        lambda w: packer.registry_versions("null.a", wrokdir=w),
        lambda w: packer.registry_channel_set("null.a", "prod", "null.a@1", enviorn={}),
    ],
    ids=["drift", "verify", "registry-versions", "registry-channel-set"],
)
def test_a_misspelt_keyword_is_a_type_error(tmp_path: Path, call: Callable[[Path], object]) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []  # refused before anything was opened


@pytest.mark.parametrize("command", ["fmt", "validate", "build", "init"])
def test_a_misspelt_setting_is_a_type_error_for_every_command(command: str) -> None:
    with pytest.raises(
        TypeError, match=rf"^{command}\(\) got unexpected keyword argument\(s\): wrkdir$"
    ):
        getattr(packer, command)(["."], wrkdir="/tmp/elsewhere")
