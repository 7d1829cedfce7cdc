"""A log sink that fails is reported once, never as a traceback per record."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridcore.logs import get_logger, init_logging, sink_errors


def test_a_full_json_sink_is_reported_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init_logging("ci", "packer", tmp_path / "logs", json_lines="/dev/full")
    log = get_logger("packer")
    for number in range(200):
        log.info("line %d", number)
    errors = sink_errors()
    assert errors == ["--log-json /dev/full: No space left on device"]
    captured = capsys.readouterr()
    assert "Logging error" not in captured.err
    assert "line 199" in (tmp_path / "logs" / "hybridcore.log").read_text()


def test_a_new_command_starts_with_no_sink_errors(tmp_path: Path) -> None:
    init_logging("ci", "packer", tmp_path / "a", json_lines="/dev/full")
    get_logger("packer").info("x")
    assert sink_errors()
    init_logging("ci", "packer", tmp_path / "b")
    assert sink_errors() == []
