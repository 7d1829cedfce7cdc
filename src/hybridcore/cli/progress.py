"""Live progress of parallel builds for the CLI: one line per build, state and time.

On a terminal, a `rich` live table redrawn in place (log lines print above it);
otherwise plain lines, one per state change.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["progress_display"]

Progress = Callable[[str, str], None]
_FINAL = ("ok", "failed", "cancelled")


class _Board:
    """Build -> (state, started, finished) as the builds report it."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, float | None, float | None]] = {}

    def update(self, build: str, state: str) -> float | None:
        _, started, _ = self.rows.get(build, ("", None, None))
        now = time.monotonic()
        if state == "running":
            started = now
        finished = now if state.startswith(_FINAL) else None
        self.rows[build] = (state, started, finished)
        return (finished - started) if started is not None and finished is not None else None

    def elapsed(self, build: str) -> str:
        _, started, finished = self.rows[build]
        if started is None:
            return "-"
        return f"{(finished or time.monotonic()) - started:6.1f} s"


def _plain(prog: str) -> Progress:
    board = _Board()

    def show(build: str, state: str) -> None:
        took = board.update(build, state)
        suffix = f" after {took:.1f} s" if took is not None else ""
        sys.stderr.write(f"{prog}: [{build}] {state}{suffix}\n")

    return show


def _table(board: _Board) -> Table:
    from rich.table import Table

    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("BUILD")
    table.add_column("STATE")
    table.add_column("ELAPSED", justify="right")
    colours = {"ok": "green", "running": "cyan", "queued": "dim"}
    for build, (state, _, _) in board.rows.items():
        colour = colours.get(state, "red" if state.startswith("failed") else "yellow")
        table.add_row(build, f"[{colour}]{state}[/]", board.elapsed(build))
    return table


@contextmanager
def progress_display(prog: str, *, live: bool) -> Iterator[Progress]:
    """A progress callback for `build(progress=...)`, live on a terminal."""
    if not live:
        yield _plain(prog)
        return
    from rich.console import Console
    from rich.live import Live

    board = _Board()
    with Live(
        _table(board),
        console=Console(stderr=True),
        refresh_per_second=4,
        redirect_stderr=True,
        transient=False,
        get_renderable=lambda: _table(board),
    ):

        def show(build: str, state: str) -> None:
            board.update(build, state)

        yield show
