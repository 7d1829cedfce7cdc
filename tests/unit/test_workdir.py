"""commands/_workdir.py: the workdir is checked and cleaned once per command, from the CLI
or the API, and a refused workdir gets nothing written through its link."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hybridcore import packer
from hybridcore.cli.main import main
from hybridcore.packer.commands import _workdir
from tests.conftest import FakePacker, write_template

SIMPLE = (
    'source "null" "a" {\n  communicator = "none"\n}\nbuild {\n  sources = ["source.null.a"]\n}\n'
)


def _count(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the boundary is checked and killed runs' TMPDIRs are looked for."""
    counts = {"check_workdir": 0, "remove_orphans": 0}
    for name in counts:
        real = getattr(_workdir, name)

        def counted(
            *args: object, _real: Callable[..., object] = real, _name: str = name
        ) -> object:
            counts[_name] += 1
            return _real(*args)

        monkeypatch.setattr(_workdir, name, counted)
    return counts


@pytest.mark.parametrize("command", ["build", "validate", "verify"])
def test_the_cli_opens_the_workdir_once_per_command(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_packer: Callable[..., FakePacker],
    command: str,
) -> None:
    fake = fake_packer()
    write_template(tmp_path / "t", SIMPLE)
    monkeypatch.chdir(tmp_path)
    counts = _count(monkeypatch)
    main(["--workdir", "wd", "--packer", str(fake.path), command, "t"])
    assert counts == {"check_workdir": 1, "remove_orphans": 1}


def test_the_api_opens_the_workdir_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    write_template(tmp_path / "t", SIMPLE)
    counts = _count(monkeypatch)
    result = packer.build("t", packer=str(fake.path), workdir="wd", cwd=tmp_path)
    assert result.exit_code == 0, result.message
    assert counts == {"check_workdir": 1, "remove_orphans": 1}


def test_schema_looks_for_killed_runs_but_not_at_a_workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    counts = _count(monkeypatch)
    assert main(["schema", "result"]) == 0
    assert counts == {"check_workdir": 0, "remove_orphans": 1}


def test_the_api_writes_nothing_through_a_link_out_of_the_workdir(
    tmp_path: Path, fake_packer: Callable[..., FakePacker]
) -> None:
    fake = fake_packer()
    write_template(tmp_path / "t", SIMPLE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "wd").mkdir()
    (tmp_path / "wd" / "logs").symlink_to(elsewhere)
    result = packer.build("t", packer=str(fake.path), workdir="wd", cwd=tmp_path)
    assert (result.exit_code, result.rule) == (3, "workdir_symlink_escape")
    assert result.result_path is None and fake.calls == []
    assert list(elsewhere.iterdir()) == []
