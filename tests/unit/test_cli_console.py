"""What people read: short coloured log lines on a terminal, folded to its width."""

from __future__ import annotations

import io
import logging
import time

import pytest

from hybridcore.cli import console
from hybridcore.cli.console import TerminalFormatter, say


def _record(
    message: str, level: int = logging.INFO, prefix: str | None = "null.a"
) -> logging.LogRecord:
    record = logging.LogRecord("hybridcore.logs.packer", level, __file__, 0, message, None, None)
    record.created = time.mktime((2026, 12, 1, 21, 12, 12, 0, 0, -1))  # local time
    if prefix is not None:
        record.prefix = prefix
    return record


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


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


@pytest.mark.parametrize(
    ("no_color", "term", "expected"),
    [(None, "xterm", True), ("1", "xterm", False), (None, "dumb", False)],
)
def test_colour_on_a_terminal_unless_no_color_or_a_dumb_terminal(
    monkeypatch: pytest.MonkeyPatch, no_color: str | None, term: str, expected: bool
) -> None:
    monkeypatch.setattr("sys.stderr", _Terminal())
    monkeypatch.setenv("TERM", term)
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert console.use_colour() is expected


def test_no_colour_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert console.use_colour() is False


def test_say_folds_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "ok: " + " ".join(["word"] * 40)
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    say(text)
    assert pipe.getvalue() == f"hybridcore-packer: {text}\n"
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("COLUMNS", "60")
    say(text)
    lines = terminal.getvalue().splitlines()
    assert len(lines) > 1 and all(len(line) <= 60 for line in lines)
    assert all(line.startswith("  ") for line in lines[1:])
