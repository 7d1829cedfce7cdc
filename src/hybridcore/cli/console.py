"""What people read: the CLI's own lines on stderr, the data on stdout.

On a terminal the CLI's lines are folded at word boundaries to its width; a
stdout whose reader went away (``| head``) is dropped quietly.
"""

from __future__ import annotations

import os
import select
import shutil
import sys
import textwrap

__all__ = [
    "PROG",
    "drop_stdout",
    "fold",
    "is_terminal",
    "out",
    "say",
    "stdout_reader_gone",
    "terminal_width",
    "use_colour",
]

PROG = "hybridcore-packer"


def is_terminal() -> bool:
    """Whether stderr is a terminal a person watches."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def use_colour() -> bool:
    """Colour on a terminal, unless NO_COLOR (https://no-color.org) or TERM=dumb says no."""
    return is_terminal() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def terminal_width() -> int:
    return shutil.get_terminal_size(fallback=(100, 24)).columns


def fold(text: str, width: int, indent: int) -> str:
    """`text` folded at word boundaries to `width`; continuation lines indented."""
    if width - indent < 30:  # too narrow to fold usefully
        return text
    return textwrap.fill(
        text,
        width=width,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
        replace_whitespace=False,
        drop_whitespace=True,
    )


def stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader closed it (`| head`): poll reports an error."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll, or stdout is not a real file
        return False


def drop_stdout() -> None:
    """Point stdout at /dev/null (as Python's docs advise for SIGPIPE), so that later
    writes and the interpreter's final flush do not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # stdout is not a real file
        pass
    finally:
        os.close(devnull)


def out(text: str) -> None:
    """Write `text` on stdout (the data: JSON, tables). If the reader has gone away
    (``| head``), the rest is dropped quietly and the command still ends as it would."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        if not stdout_reader_gone():
            raise
        drop_stdout()


def say(text: str) -> None:
    """One message of the CLI on stderr, ``hybridcore-packer: text``, folded on a terminal."""
    line = f"{PROG}: {text}"
    if is_terminal():
        line = "\n".join(fold(part, terminal_width(), 2) for part in line.split("\n"))
    sys.stderr.write(line + "\n")
