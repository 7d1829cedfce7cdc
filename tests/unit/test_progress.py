"""Progress lines for parallel builds when stderr is not a terminal."""

from __future__ import annotations

import pytest

from hybridcore.cli.progress import progress_display


def test_plain_progress_prints_one_line_per_state_change(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with progress_display("tool", live=False) as show:
        show("null.a", "queued")
        show("null.a", "running")
        show("null.a", "failed (io_timeout)")
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == ["tool: [null.a] queued", "tool: [null.a] running"]
    assert lines[2].startswith("tool: [null.a] failed (io_timeout) after ")
    assert lines[2].endswith(" s")


def test_live_progress_renders_a_row_per_build(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_display("tool", live=True) as show:
        show("null.a", "running")
        show("null.b", "queued")
        show("null.a", "ok")
    err = capsys.readouterr().err
    assert "null.a" in err and "null.b" in err and "ok" in err
