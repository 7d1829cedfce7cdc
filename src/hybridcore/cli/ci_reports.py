"""Reports where CI systems read them, switched on by the CI system's own variable.

GitHub Actions (``GITHUB_ACTIONS=true``): a Markdown table appended to
``$GITHUB_STEP_SUMMARY`` and ``::error`` workflow commands on stderr (the runner reads both
streams; stdout stays the ``--json`` document) that point at the template line Packer
named, the file a fmt check refused, or the input that drifted. GitLab CI
(``GITLAB_CI=true``): each build's console lines inside a collapsible log section.
Every string comes from the result, which the core has already scrubbed.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from hybridcore.logs import LOGGER_NAME
from hybridcore.packer.base.result import Result

if TYPE_CHECKING:
    from hybridcore.packer.base.build_drift import BuildDrift
    from hybridcore.packer.base.result import RunResult
    from hybridcore.packer.commands.inputs_check import CheckReport
    from hybridcore.packer.commands.plan import PlanReport

__all__ = [
    "attach_sections",
    "github_annotations",
    "github_summary",
    "plan_summary",
    "publish",
    "publish_plan",
]

PROG = "hybridcore-packer"

# Packer's HCL diagnostics: "Error: <summary>" then, a few lines on, "on <file> line <n>:"
_ERROR = re.compile(r"^\s*Error: (?P<summary>.+?)\s*$")
_LOCATION = re.compile(r"^\s*on (?P<file>\S+) line (?P<line>\d+)")
_SECTION_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


# --- GitLab: collapsible sections ---------------------------------------------------------


class _Sections(logging.Formatter):
    """Wraps the console formatter: opens a section when the build whose lines are printed
    changes and closes the one before. Lines of parallel builds interleave, so a build may
    get several sections, each a contiguous stretch of its output."""

    def __init__(self, inner: logging.Formatter, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._inner, self._clock = inner, clock
        self._open: str | None = None
        self._name = ""
        self._count = 0
        self._seen: set[str] = set()

    def format(self, record: logging.LogRecord) -> str:
        label = getattr(record, "prefix", "") or None
        text = self._inner.format(record)
        if label == self._open:
            return text
        head = self.close()
        if label is not None:
            self._count += 1
            self._open = label
            name = f"hybridcore_{self._count}_{_SECTION_NAME.sub('_', label)[:60]}"
            title = f"packer {label}" + (" (continued)" if label in self._seen else "")
            self._seen.add(label)
            head += (
                f"\x1b[0Ksection_start:{int(self._clock())}:{name}[collapsed=true]"
                f"\r\x1b[0K{title}\n"
            )
            self._name = name
        return head + text

    def close(self) -> str:
        """The marker that ends the open section ('' when none is open)."""
        if self._open is None:
            return ""
        self._open = None
        return f"\x1b[0Ksection_end:{int(self._clock())}:{self._name}\r\x1b[0K\n"


def _console() -> logging.Handler | None:
    for handler in logging.getLogger(LOGGER_NAME).handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            return handler
    return None


def attach_sections(environ: Mapping[str, str] | None = None) -> None:
    """On GitLab CI, put each build's console lines in a collapsible section."""
    environ = os.environ if environ is None else environ
    handler = _console()
    if environ.get("GITLAB_CI") != "true" or handler is None or handler.formatter is None:
        return
    if not isinstance(handler.formatter, _Sections):
        handler.setFormatter(_Sections(handler.formatter))


def _close_sections() -> None:
    handler = _console()
    if handler is not None and isinstance(handler.formatter, _Sections):
        sys.stderr.write(handler.formatter.close())


# --- GitHub: step summary -------------------------------------------------------------------


def _cell(value: object) -> str:
    return " ".join(str(value).split()).replace("|", "\\|") or " "


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _status(exit_code: int, classification: str) -> str:
    return "ok" if exit_code == 0 else f"exit {exit_code} ({classification})"


def github_summary(report: Result | CheckReport) -> str:
    """The Markdown the step summary gets: a heading, one table row per run or build, and
    the message and hint of a failure."""
    head = f"### {PROG} {report.command}: {_status(report.exit_code, report.classification)}\n\n"
    if isinstance(report, Result):
        rows: list[list[object]] = [
            [
                run.label,
                _status(run.exit_code, run.classification),
                run.rule,
                f"{run.duration_s:.1f} s",
                ", ".join(f"{a.build}: {a.id}" for a in run.artifacts if a.id) or "-",
            ]
            for run in report.runs
        ]
        rows += [[item.build, "skipped", item.message, "-", "-"] for item in report.skipped]
        table = _table(["run", "result", "rule", "time", "artifacts"], rows)
    else:
        rows = [
            [
                item.build,
                item.status,
                ", ".join([*item.added, *item.removed, *item.changed]) or "-",
                ", ".join(item.areas) or "-",
            ]
            for item in report.builds
        ]
        table = _table(["build", "status", "inputs changed", "areas"], rows)
    tail = ""
    if report.exit_code:
        tail = f"\n{report.message}\n"
        if report.remediation and report.remediation not in report.message:
            tail += f"\n**Hint:** {report.remediation}\n"
    return head + table + tail + "\n"


def plan_summary(report: PlanReport) -> str:
    """The plan as the step summary shows it: the counts, then one row per build."""
    head = f"### {PROG} plan: {_status(report.exit_code, report.classification)}\n\n"
    rows: list[list[object]] = [
        [item.build, item.status, "yes" if item.run else "no", item.reason]
        for item in report.builds
    ]
    tail = f"\n**Hint:** {report.remediation}\n" if report.remediation else ""
    body = _table(["build", "status", "built", "why"], rows) if rows else ""
    return f"{head}{report.message}\n\n{body}{tail}\n"


# --- GitHub: annotations ------------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(message: str, *, title: str, file: str | None = None, line: int | None = None) -> str:
    props = [f"file={_escape_property(file)}"] if file else []
    props += [f"line={line}"] if file and line else []
    props.append(f"title={_escape_property(title)}")
    return f"::error {','.join(props)}::{_escape_data(message)}\n"


def _repo_path(candidates: list[Path], environ: Mapping[str, str]) -> str | None:
    """The first candidate that is a file, relative to the repository (GITHUB_WORKSPACE)."""
    root = Path(environ.get("GITHUB_WORKSPACE") or Path.cwd()).resolve()
    for candidate in candidates:
        if candidate.is_file():
            path = candidate.resolve()
            return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return None


def _locations(text: str) -> Iterator[tuple[str, str, int]]:
    """(message, file, line) of each HCL diagnostic in Packer's output: the summary, and
    the detail paragraph after the quoted source lines when there is one."""
    lines = text.splitlines()
    summary = None
    for index, line in enumerate(lines):
        if match := _ERROR.match(line):
            summary = match["summary"]
        elif (match := _LOCATION.match(line)) and summary:
            detail = next(
                (
                    rest.strip()
                    for rest in lines[index + 1 : index + 8]
                    # the quoted source under a location is indented; the detail is not
                    if rest.strip() and not rest[0].isspace()
                ),
                None,
            )
            if detail is None or _ERROR.match(detail):
                yield summary, match["file"], int(match["line"])
            else:
                yield f"{summary}: {detail}", match["file"], int(match["line"])
            summary = None


def _run_annotations(result: Result, run: RunResult, environ: Mapping[str, str]) -> list[str]:
    title = f"{PROG} {result.command} {run.label}: {run.classification} ({run.rule})"
    hint = f" {run.remediation}" if run.remediation else ""
    target = Path(run.target)
    found = []
    for summary, name, line in _locations(f"{run.stdout}\n{run.stderr}"):
        # Packer names the file as it was given, from its working directory
        where = [Path(name), target / name, target.parent / name, target / Path(name).name]
        path = _repo_path(where, environ)
        found.append(_command(f"{summary.rstrip('.')}.{hint}", title=title, file=path, line=line))
    if found:
        return found
    evidence = f": {run.evidence}" if run.evidence else ""
    return [
        _command(f"{run.rule}{evidence}.{hint}", title=title, file=_repo_path([target], environ))
    ]


def _drift_annotations(
    report: CheckReport, item: BuildDrift, environ: Mapping[str, str]
) -> list[str]:
    title = f"{PROG} {report.command}: {item.build} {item.status}"
    found = []
    for verb, names in (
        ("added", item.added),
        ("removed", item.removed),
        ("changed", item.changed),
    ):
        for name in names:
            # inputs are recorded relative to the workdir (os.path.relpath: undo it lexically);
            # var.X and packer_version are not files
            path = _repo_path([Path(os.path.normpath(Path(report.workdir) / name))], environ)
            message = f"{item.build}: {path or name} {verb} since its last build."
            if report.remediation:
                message += f" {report.remediation}"
            found.append(_command(message, title=title, file=path))
    return found or [_command(item.message or item.status, title=title)]


def github_annotations(report: Result | CheckReport, environ: Mapping[str, str]) -> str:
    """``::error`` workflow commands for each failed run or drifted build."""
    lines: list[str] = []
    if isinstance(report, Result):
        for run in report.runs:
            if run.exit_code:
                lines += _run_annotations(report, run, environ)
        if report.exit_code and not lines:
            title = f"{PROG} {report.command}: {report.classification} ({report.rule})"
            lines.append(_command(report.message, title=title))
    else:
        for item in report.builds:
            if item.status in ("drifted", "failed"):
                lines += _drift_annotations(report, item, environ)
        if report.exit_code and not lines:
            title = f"{PROG} {report.command}: {report.classification} ({report.rule})"
            lines.append(_command(report.message, title=title))
    return "".join(lines)


# --- after the command ----------------------------------------------------------------------


def publish(report: Result | CheckReport, environ: Mapping[str, str] | None = None) -> None:
    """Close GitLab's open section; on GitHub Actions, annotate and append the summary.
    A summary file that cannot be written is a warning: the command's outcome stands."""
    environ = os.environ if environ is None else environ
    _close_sections()
    if environ.get("GITHUB_ACTIONS") != "true":
        return
    sys.stderr.write(github_annotations(report, environ))
    _append_summary(github_summary(report), environ)


def publish_plan(report: PlanReport, environ: Mapping[str, str] | None = None) -> None:
    """On GitHub Actions, the plan's table in the step summary."""
    environ = os.environ if environ is None else environ
    if environ.get("GITHUB_ACTIONS") == "true":
        _append_summary(plan_summary(report), environ)


def _append_summary(text: str, environ: Mapping[str, str]) -> None:
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    try:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        sys.stderr.write(
            f"{PROG}: warning: cannot append to GITHUB_STEP_SUMMARY {summary}: "
            f"{exc.strerror or exc}\n"
        )
