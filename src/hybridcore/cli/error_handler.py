"""One error handler around every command: each way a command can end maps to one exit code.

| what happened                      | exit | class     | on the console                         |
|------------------------------------|------|-----------|----------------------------------------|
| usage error (argparse)             | 1    | config    | usage and the error (argparse's own)   |
| `HybridcoreError`                  | its  | its       | error and hint                         |
| Ctrl-C or SIGTERM                  | 2    | transient | "interrupted"                          |
| stdout's reader went away (`head`) | its  | -         | nothing: the rest of stdout is dropped |
| any other exception (a bug)        | 3    | internal  | one paragraph; the traceback in a file |

Usage errors leave through argparse's `SystemExit`, which passes through here. A closed
stdout keeps the command's own exit code; only a command it cut short exits 1.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from hybridcore.cli.console import drop_stdout, say, stdout_reader_gone

__all__ = ["Outcome", "error_handler"]

# Python's own exit status when stdout is a closed pipe (see the `signal` docs' note on
# SIGPIPE), used when the pipe closed before the command could finish.
_STDOUT_GONE = 1


class Outcome:
    """What the command set: its exit code and, once known, where a crash log goes."""

    def __init__(self) -> None:
        self.code = 0
        self.workdir: Path | None = None


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _internal(exc: BaseException, outcome: Outcome) -> int:
    from hybridcore.logs import record_traceback
    from hybridcore.packer.base.errors import HybridcoreError
    from hybridcore.packer.base.settings import new_command_id
    from hybridcore.packer.store.layout import Workdir

    crash_dir = Workdir(outcome.workdir or Path.cwd()).crash_dir(new_command_id())
    try:
        path: Path | None = record_traceback(exc, crash_dir)
    except OSError:
        path = None
    error = HybridcoreError.internal(exc, path)
    say(error.message)  # "internal error: <type>: <message>; the traceback is in <file>; ..."
    if path is None:  # nowhere to keep it: the traceback is better on the console than lost
        import traceback

        sys.stderr.write("".join(traceback.format_exception(exc)))
    return error.exit_code


@contextmanager
def error_handler() -> Iterator[Outcome]:
    """Run the body as one command; whatever ends it, `Outcome.code` is the exit code."""
    outcome = Outcome()
    finished = False
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (CI cancelling a job) stops the command the way Ctrl-C does.
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield outcome
        finished = True
        sys.stdout.flush()  # a closed pipe shows here rather than at interpreter exit
    except KeyboardInterrupt:
        from hybridcore.packer.base.exit_class import ExitClass

        say("interrupted (exit 2, transient): the command stopped; run it again when ready.")
        outcome.code = ExitClass.TRANSIENT.code
    except BrokenPipeError as exc:
        if not stdout_reader_gone():
            outcome.code = _internal(exc, outcome)
        else:
            drop_stdout()
            outcome.code = outcome.code if finished else _STDOUT_GONE
    except Exception as exc:
        from hybridcore.packer.base.errors import HybridcoreError

        if not isinstance(exc, HybridcoreError):
            outcome.code = _internal(exc, outcome)
        else:
            say(f"error: {exc.message}")
            say(f"hint: {exc.remediation}")
            outcome.code = exc.exit_code
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
