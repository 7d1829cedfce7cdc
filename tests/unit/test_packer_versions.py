"""Version-aware behaviour with stand-in packers: the machine-readable output of Packer
<= 1.12 (`ui,message` and `ui,say`) and of >= 1.13 (only `ui,say`) read the same, and flags
a Packer does not have are refused before it runs."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from hybridcore import packer
from hybridcore.logs import init_logging
from tests.conftest import FakePacker, write_template

SIMPLE = (
    'source "null" "a" {\n  communicator = "none"\n}\n\nbuild {\n  sources = ["source.null.a"]\n}\n'
)
ARTIFACT = (
    "1700000000,null.a,artifact-count,1\n"
    "1700000000,null.a,artifact,0,builder-id,fnoeding.null\n"
    "1700000000,null.a,artifact,0,id,Null\n"
    "1700000000,null.a,artifact,0,string,Did not export anything\n"
    "1700000000,null.a,artifact,0,files-count,0\n"
    "1700000000,null.a,artifact,0,end\n"
)
# Packer <= 1.12 prints provisioner output as ui,message; 1.13 and later only as ui,say.
SHAPES = {
    "1.9.5": "1700000000,,ui,say,==> null.a: Running local shell script\n"
    "1700000000,,ui,message,    null.a: hello%!(PACKER_COMMA) world\n",
    "1.13.0": "1700000000,,ui,say,==> null.a: Running local shell script\n"
    "1700000000,,ui,say,    null.a: hello%!(PACKER_COMMA) world\n",
}


@pytest.mark.parametrize("version", sorted(SHAPES))
def test_ui_message_and_ui_say_only_output_read_the_same(
    tmp_path: Path, fake_packer: Callable[..., FakePacker], version: str
) -> None:
    fake = fake_packer(version)
    fake.script([{"stdout": SHAPES[version] + ARTIFACT}])
    template = write_template(tmp_path / "t", SIMPLE)
    console = io.StringIO()
    init_logging("ci", "packer", tmp_path / "logs", console=console)
    result = packer.build(str(template), packer=str(fake.path), workdir=tmp_path / "wd")
    assert result.exit_code == 0, result.message
    assert result.packer_version == version
    assert [(a.build, a.builder_id, a.id) for a in result.artifacts] == [
        ("null.a", "fnoeding.null", "Null")
    ]
    shown = console.getvalue()
    assert "null.a: hello, world" in shown  # decoded, whichever line type carried it
    assert "ui,say" not in shown and "ui,message" not in shown


def test_evaluate_datasources_is_refused_before_packer_185(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer("1.8.4")
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.validate(
        str(template), evaluate_datasources=True, packer=str(fake.path), workdir=tmp_path / "wd"
    )
    assert (result.exit_code, result.rule) == (1, "flag_unsupported")
    assert fake.calls == []


def test_evaluate_datasources_reaches_packer_185(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer("1.8.5")
    template = write_template(tmp_path / "t", SIMPLE)
    result = packer.validate(
        str(template), evaluate_datasources=True, packer=str(fake.path), workdir=tmp_path / "wd"
    )
    assert result.exit_code == 0, result.message
    assert "-evaluate-datasources" in fake.calls[0]["argv"]  # type: ignore[index,operator]
