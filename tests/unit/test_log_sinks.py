"""A log sink that fails is reported once, never as a traceback per record."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest

from hybridcore.logs import Output, get_logger, init_logging, sink_errors


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


def _log_output(data: bytes) -> None:
    log = get_logger("packer")
    record = logging.LogRecord(log.name, logging.INFO, __file__, 0, Output(data), None, None)
    record.__dict__.update({"prefix": "null.a", "redacted": True})
    log.handle(record)


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_build_output_reaches_a_console_of_any_encoding_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    """Bytes go to a UTF-8 stderr as they are; another encoding gets them as text."""
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(raw, encoding=encoding))
    init_logging("ci", "packer", tmp_path / "logs")
    get_logger("packer").info("before")
    _log_output("déjà vu\nline two".encode())
    get_logger("packer").info("after")
    sys.stderr.flush()
    lines = raw.getvalue().decode(encoding).splitlines()
    assert [line.split(" | ")[-1].split(" ")[-1] for line in lines] == [
        "before",
        "vu",
        "two",
        "after",
    ]
    assert "déjà vu" in lines[1]


def test_a_full_log_file_is_reported_once_when_build_output_fills_it(tmp_path: Path) -> None:
    """The log file's own writer thread notes the failure once and drops the rest."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "hybridcore.log").symlink_to("/dev/full")
    init_logging("ci", "packer", tmp_path / "logs")
    for number in range(50):
        _log_output(f"block {number}".encode())
    get_logger("packer").info("done")
    assert [e for e in sink_errors() if "hybridcore.log" in e] == [
        f"the log file {tmp_path / 'logs' / 'hybridcore.log'}: No space left on device"
    ]
