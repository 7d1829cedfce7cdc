"""Packer's debug log goes through a pipe and is scrubbed before it touches the disk."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from hybridcore.packer.run.rawlog import RawLogPipe
from hybridcore.redaction.engine import PLACEHOLDER, Redactor

SECRET = "hunter2,Sup3r-Secret"


def _private(tmp_path: Path) -> Path:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    return private


def _child_writes(path: Path, text: str, repeat: int = 1) -> None:
    """A separate process appends `text` (`repeat` times) to `path`, as Packer does
    with PACKER_LOG_PATH."""
    code = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] * int(sys.argv[3]))"
    subprocess.run(
        [sys.executable, "-c", code, str(path), text, str(repeat)], check=True, timeout=30
    )


def test_log_is_scrubbed_on_its_way_to_the_file(tmp_path: Path) -> None:
    destination = tmp_path / "logs" / "attempt-1.packer.log"
    with RawLogPipe(destination, Redactor([SECRET]), _private(tmp_path)) as pipe:
        assert stat.S_ISFIFO(pipe.path.stat().st_mode)
        assert stat.S_IMODE(pipe.path.stat().st_mode) == 0o600
        assert destination.parent not in pipe.path.parents
        _child_writes(pipe.path, f"2025/01/01 [INFO] token={SECRET}\nnext line\n")
    text = destination.read_text()
    assert SECRET not in text
    assert f"token={PLACEHOLDER}" in text
    assert "next line" in text
    assert pipe.error is None


def test_the_pipe_is_made_in_the_private_directory_and_removed_afterwards(
    tmp_path: Path,
) -> None:
    private = _private(tmp_path)
    with RawLogPipe(tmp_path / "log", Redactor(), private) as pipe:
        assert pipe.path.parent == private
        assert pipe.path.exists()
    assert not pipe.path.exists()
    assert list(private.iterdir()) == []


def test_a_writer_that_never_comes_does_not_hang(tmp_path: Path) -> None:
    destination = tmp_path / "log"
    with RawLogPipe(destination, Redactor(), _private(tmp_path)):
        pass
    assert destination.exists()
    assert destination.read_text() == ""


def test_several_writers_in_turn_all_land_in_the_file(tmp_path: Path) -> None:
    destination = tmp_path / "log"
    with RawLogPipe(destination, Redactor(), _private(tmp_path)) as pipe:
        _child_writes(pipe.path, "first\n")
        _child_writes(pipe.path, "second\n")
    assert destination.read_text().splitlines() == ["first", "second"]


def test_an_unwritable_destination_is_reported_and_the_writer_never_blocks(
    tmp_path: Path,
) -> None:
    destination = tmp_path / "is-a-directory"
    destination.mkdir()
    with RawLogPipe(destination, Redactor(), _private(tmp_path)) as pipe:
        # More than a pipe buffer: a reader that stopped draining would block this.
        _child_writes(pipe.path, "x" * 999 + "\n", repeat=300)
    assert pipe.error is not None
    assert str(destination) in pipe.error


def test_appends_to_an_existing_log(tmp_path: Path) -> None:
    destination = tmp_path / "log"
    destination.write_text("earlier\n")
    with RawLogPipe(destination, Redactor(), _private(tmp_path)) as pipe:
        fd = os.open(pipe.path, os.O_WRONLY)
        os.write(fd, b"later\n")
        os.close(fd)
    assert destination.read_text() == "earlier\nlater\n"
