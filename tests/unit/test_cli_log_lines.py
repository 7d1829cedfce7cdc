"""The log line on a terminal: time, label, message; coloured by level, folded to width."""

from __future__ import annotations

import logging
import time

from hybridcore.cli.log_lines import TerminalFormatter


def _record(
    message: str, level: int = logging.INFO, prefix: str | None = "null.a"
) -> logging.LogRecord:
    record = logging.LogRecord("hybridcore.logs.packer", level, __file__, 0, message, None, None)
    record.created = time.mktime((2026, 12, 1, 21, 12, 12, 0, 0, -1))  # local time
    if prefix is not None:
        record.prefix = prefix
    return record


def test_a_terminal_line_is_time_label_and_message() -> None:
    text = TerminalFormatter(colour=False, width=100).format(_record("==> null.a: done"))
    assert text == "21:12:12 null.a ==> null.a: done"


def test_a_line_without_a_label_and_a_warning_says_so() -> None:
    formatter = TerminalFormatter(colour=False, width=100)
    assert formatter.format(_record("cache stale", logging.WARNING, None)) == (
        "21:12:12 warning: cache stale"
    )


def test_each_message_line_gets_the_prefix() -> None:
    text = TerminalFormatter(colour=False, width=100).format(_record("one\n\nthree"))
    assert text.splitlines() == ["21:12:12 null.a one", "21:12:12 null.a", "21:12:12 null.a three"]


def test_a_long_line_is_folded_under_the_message_at_word_boundaries() -> None:
    path = "/tmp/hybridcore-run-52we4m5y/tmp/packer-shell3123146446"
    message = f"==> null.vsphere: Running local shell script: {path}"
    lines = TerminalFormatter(colour=False, width=100).format(_record(message)).splitlines()
    assert lines == [
        "21:12:12 null.a ==> null.vsphere: Running local shell script:",
        f"                {path}",
    ]
    assert all(len(line) <= 100 for line in lines)


def test_a_word_longer_than_the_line_is_not_cut() -> None:
    word = "x" * 120
    text = TerminalFormatter(colour=False, width=100).format(_record(f"see {word}"))
    assert word in text.replace("\n", "").replace(" " * 16, "")


def test_colour_by_level_only_when_asked() -> None:
    plain = TerminalFormatter(colour=False, width=100)
    coloured = TerminalFormatter(colour=True, width=100)
    assert "\033[" not in plain.format(_record("careful", logging.WARNING))
    warning = coloured.format(_record("careful", logging.WARNING))
    assert "\033[33m" in warning and warning.endswith("\033[0m")
    assert "\033[31m" in coloured.format(_record("failed", logging.ERROR))
