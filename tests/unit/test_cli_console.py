"""The CLI's own lines: folded on a terminal, coloured only where colour is wanted."""

from __future__ import annotations

import io

import pytest

from hybridcore.cli import console
from hybridcore.cli.console import say


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


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
