"""A crash.log Packer leaves in the working directory is moved aside, scrubbed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hybridcore import packer
from tests.conftest import FakePacker, write_template


def test_crash_log_is_moved_into_the_run_directory_and_scrubbed(
    tmp_path: Path, fake_packer: Callable[..., FakePacker], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_packer()
    secret = "crash-secret-9876"
    monkeypatch.setenv("CRASH_SECRET", secret)
    template = write_template(tmp_path / "t", 'source "null" "a" {\n  communicator = "none"\n}\n')
    fake.script(
        [
            {
                "stdout": "",
                "exit": 2,
                "write_cwd": {"crash.log": f"panic: boom\nvalue={secret}\n"},
            }
        ]
    )
    result = packer.build(
        str(template.parent),
        secrets=["CRASH_SECRET"],
        packer=str(fake.path),
        workdir=tmp_path / "wd",
        cwd=tmp_path,
    )
    assert not (tmp_path / "crash.log").exists()
    moved = Path(result.log_paths[0]).parent / "crash.log"
    text = moved.read_text()
    assert "panic: boom" in text and secret not in text and "<sensitive>" in text
