"""Finding packer and reading its version (with fake packer executables)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.run.version import PackerBinary, locate_packer
from tests.conftest import FakePacker


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{body}\n")
    path.chmod(0o755)
    return path


def test_explicit_path_and_version(fake_packer: Callable[..., FakePacker]) -> None:
    fake = fake_packer("1.11.2")
    binary = locate_packer(str(fake.path), env={"PATH": "/nonexistent"})
    assert binary.path == str(fake.path)
    assert binary.version == (1, 11, 2)
    assert binary.version_text == "1.11.2"
    assert fake.calls == []  # only `version` ran


def test_hybridcore_packer_bin_is_used_without_explicit_path(
    fake_packer: Callable[..., FakePacker],
) -> None:
    fake = fake_packer("1.7.10")
    binary = locate_packer(None, env={"HYBRIDCORE_PACKER_BIN": str(fake.path), "PATH": ""})
    assert (binary.path, binary.version) == (str(fake.path), (1, 7, 10))


def test_explicit_path_wins_over_the_environment(fake_packer: Callable[..., FakePacker]) -> None:
    wanted, other = fake_packer("1.6.6"), fake_packer("1.9.4")
    binary = locate_packer(str(wanted.path), env={"HYBRIDCORE_PACKER_BIN": str(other.path)})
    assert binary.version == (1, 6, 6)


def test_packer_on_path_is_the_last_resort(fake_packer: Callable[..., FakePacker]) -> None:
    fake = fake_packer("1.8.0")
    binary = locate_packer(None, env={"PATH": str(fake.root)})
    assert Path(binary.path) == fake.path
    assert binary.version == (1, 8, 0)


def test_missing_executable_is_packer_not_found(tmp_path: Path) -> None:
    with pytest.raises(HybridcoreError) as caught:
        locate_packer(str(tmp_path / "no-such-packer"), env={"PATH": ""})
    assert (caught.value.exit_code, caught.value.rule) == (1, "packer_not_found")
    assert "no-such-packer" in caught.value.message


def test_nothing_on_path_is_packer_not_found(tmp_path: Path) -> None:
    with pytest.raises(HybridcoreError) as caught:
        locate_packer(None, env={"PATH": str(tmp_path)})
    assert caught.value.rule == "packer_not_found"


def test_a_non_executable_file_is_not_packer(tmp_path: Path) -> None:
    path = tmp_path / "packer"
    path.write_text("not a program")
    with pytest.raises(HybridcoreError) as caught:
        locate_packer(str(path), env={"PATH": ""})
    assert caught.value.rule == "packer_not_found"


def test_a_program_that_reports_no_version_is_refused(tmp_path: Path) -> None:
    path = _script(tmp_path / "packer", "print('hello, I am not packer')")
    with pytest.raises(HybridcoreError) as caught:
        locate_packer(str(path), env={"PATH": ""})
    assert caught.value.rule == "packer_not_found"
    assert "hello, I am not packer" in caught.value.message


def test_a_failing_version_command_is_refused(tmp_path: Path) -> None:
    path = _script(tmp_path / "packer", "import sys; print('Packer v1.6.6'); sys.exit(1)")
    with pytest.raises(HybridcoreError) as caught:
        locate_packer(str(path), env={"PATH": ""})
    assert caught.value.rule == "packer_not_found"


def test_bare_version_output_of_newer_packer_is_understood(tmp_path: Path) -> None:
    path = _script(tmp_path / "packer", "print('1.10.3\\n\\nYour version is out of date')")
    assert locate_packer(str(path), env={"PATH": ""}).version == (1, 10, 3)


def test_version_probe_does_not_write_to_the_callers_packer_log(tmp_path: Path) -> None:
    """Like every packer run, the version probe must not log to the caller's
    PACKER_LOG_PATH (Packer writes its debug log there when PACKER_LOG is set)."""
    caller_log = tmp_path / "caller.log"
    path = _script(
        tmp_path / "packer",
        "import os\n"
        "if os.environ.get('PACKER_LOG') and os.environ.get('PACKER_LOG_PATH'):\n"
        "    open(os.environ['PACKER_LOG_PATH'], 'a').write('debug log of packer version\\n')\n"
        "print('Packer v1.6.6')",
    )
    env = {"PATH": "", "PACKER_LOG": "1", "PACKER_LOG_PATH": str(caller_log)}
    assert locate_packer(str(path), env=env).version == (1, 6, 6)
    assert not caller_log.exists()


@pytest.mark.parametrize(
    ("version", "wanted", "expected"),
    [
        ((1, 6, 6), (1, 7), False),
        ((1, 7, 0), (1, 7), True),
        ((1, 11, 2), (1, 7), True),
        ((2, 0, 0), (1, 7), True),
        ((1, 6, 99), (1, 6), True),
        ((0, 12, 0), (1, 6), False),
    ],
)
def test_at_least(version: tuple[int, int, int], wanted: tuple[int, int], expected: bool) -> None:
    assert PackerBinary("/p", version).at_least(*wanted) is expected


def test_a_relative_packer_path_stays_that_file_not_a_path_lookup(
    fake_packer: Callable[..., FakePacker], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--packer ./packer` once became "packer", so builds ran the packer on PATH."""
    fake = fake_packer("1.8.0")
    monkeypatch.chdir(fake.path.parent)
    binary = locate_packer(f"./{fake.path.name}", env={"PATH": "/nonexistent"})
    assert binary.path == str(fake.path)
    assert Path(binary.path).is_absolute()
