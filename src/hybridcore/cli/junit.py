"""JUnit XML for CI systems: a command's result as one test suite, one test case per run.

A run is one Packer process: one build with ``--parallel`` or ``--only BUILD`` (as CI shards
run), else one template. ``drift`` and ``verify`` give one test case per build. Failures
carry the class, rule, evidence and remediation; ``config``, ``security`` and ``drift``
are ``<failure>`` (the input is wrong), ``transient`` is ``<error>`` (the infrastructure
is). Every string comes from the result, which the core has already scrubbed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.result import Result
from hybridcore.packer.store.state_files import atomic_write_text

if TYPE_CHECKING:
    from hybridcore.packer.base.build_drift import BuildDrift
    from hybridcore.packer.base.result import RunResult
    from hybridcore.packer.commands.inputs_check import CheckReport

__all__ = ["check_junit", "result_junit", "write_junit"]

PROG = "hybridcore-packer"

# XML 1.0 cannot carry most control characters (a raw ANSI escape makes the file unreadable)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _element(tag: str, text: str | None = None, **attributes: object) -> ET.Element:
    node = ET.Element(tag, {k: _text(v) for k, v in attributes.items() if v is not None})
    if text:
        node.text = _text(text)
    return node


def _lines(pairs: Iterable[tuple[str, object]]) -> str:
    return "".join(f"{name}: {value}\n" for name, value in pairs if value not in (None, "", []))


def _suite(name: str, timestamp: str, seconds: float, properties: dict[str, object]) -> ET.Element:
    suite = _element("testsuite", name=name, timestamp=timestamp, time=f"{seconds:.3f}")
    props = ET.SubElement(suite, "properties")
    for key, value in properties.items():
        if value is not None:
            props.append(_element("property", name=key, value=value))
    return suite


def _finish(suite: ET.Element) -> ET.ElementTree[ET.Element]:
    """Count the test cases into the suite and wrap it in <testsuites>."""
    cases = suite.findall("testcase")
    counts = {
        "tests": len(cases),
        "failures": sum(1 for case in cases if case.find("failure") is not None),
        "errors": sum(1 for case in cases if case.find("error") is not None),
        "skipped": sum(1 for case in cases if case.find("skipped") is not None),
    }
    root = _element("testsuites", name=PROG, time=suite.get("time"))
    for node in (suite, root):
        for key, value in counts.items():
            node.set(key, str(value))
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


def _run_case(result: Result, run: RunResult) -> ET.Element:
    case = _element(
        "testcase",
        name=run.label,
        classname=f"{PROG}.{result.command}",
        file=run.target,
        time=f"{run.duration_s:.3f}",
    )
    if run.exit_code:
        tag = "error" if ExitClass.named(run.classification).retryable else "failure"
        retry = "retryable" if run.retryable else "not retried"
        body = _lines(
            [
                ("class", f"{run.classification} (exit {run.exit_code}, {retry})"),
                ("rule", run.rule),
                ("evidence", run.evidence),
                ("remediation", run.remediation),
                ("packer exit status", run.packer_exit_code),
                ("attempts", run.attempts),
                ("raw log", run.log_paths[-1] if run.log_paths else None),
                ("summary", result.message),
            ]
        )
        message = f"{run.classification}: {run.rule}" + (
            f": {run.evidence}" if run.evidence else ""
        )
        case.append(_element(tag, body, message=message, type=run.classification))
    artifacts = "".join(f"artifact: {a.build}: {a.id}\n" for a in run.artifacts)
    if artifacts or run.stdout:
        case.append(_element("system-out", artifacts + run.stdout))
    if run.stderr:
        case.append(_element("system-err", run.stderr))
    return case


def _skipped_case(command: str, item: BuildDrift) -> ET.Element:
    case = _element("testcase", name=item.build, classname=f"{PROG}.{command}", time="0")
    case.append(_element("skipped", message=item.message or item.status))
    return case


def _command_case(command: str, target: str, klass: str, body: str, message: str) -> ET.Element:
    """The command itself as a test case: for a failure no run or build accounts for."""
    case = _element("testcase", name=command, classname=f"{PROG}.{command}", file=target, time="0")
    tag = "error" if ExitClass.named(klass).retryable else "failure"
    case.append(_element(tag, body, message=message, type=klass))
    return case


def result_junit(result: Result) -> ET.ElementTree[ET.Element]:
    """fmt, validate or build: one test case per Packer run, one skipped per build not started."""
    suite = _suite(
        f"{PROG} {result.command}",
        result.started_at,
        result.duration_s,
        {
            "command_id": result.command_id,
            "exit_code": result.exit_code,
            "classification": result.classification,
            "rule": result.rule,
            "packer_version": result.packer_version,
            "result_path": result.result_path,
        },
    )
    for run in result.runs:
        suite.append(_run_case(result, run))
    for item in result.skipped:
        suite.append(_skipped_case(result.command, item))
    failed = any(run.exit_code for run in result.runs)
    if result.exit_code and not failed:
        # decided before Packer ran (a policy refusal) or after (records could not be written)
        body = _lines(
            [
                ("class", f"{result.classification} (exit {result.exit_code})"),
                ("rule", result.rule),
                ("evidence", result.evidence),
                ("remediation", result.remediation),
                ("summary", result.message),
            ]
        )
        suite.append(
            _command_case(
                result.command,
                ", ".join(result.targets),
                result.classification,
                body,
                f"{result.classification}: {result.rule}",
            )
        )
    return _finish(suite)


def _build_case(report: CheckReport, item: BuildDrift) -> ET.Element:
    case = _element("testcase", name=item.build, classname=f"{PROG}.{report.command}", time="0")
    if item.status in ("drifted", "failed"):
        body = _lines(
            [
                ("class", f"{report.classification} (exit {report.exit_code})"),
                ("rule", report.rule),
                ("changed", ", ".join(item.changed)),
                ("added", ", ".join(item.added)),
                ("removed", ", ".join(item.removed)),
                ("areas", ", ".join(item.areas)),
                ("open issues", ", ".join(item.open_issues)),
                ("inputs digest", item.digest),
                ("baseline digest", item.baseline_digest),
                ("remediation", report.remediation),
            ]
        )
        case.append(_element("failure", body, message=item.message, type=report.classification))
    elif item.status in ("no-baseline", "skipped"):
        case.append(_element("skipped", message=item.message or item.status))
    elif item.message:
        case.append(_element("system-out", item.message + "\n"))
    return case


def check_junit(report: CheckReport) -> ET.ElementTree[ET.Element]:
    """drift or verify: one test case per build."""
    started = datetime.fromisoformat(report.started_at)
    seconds = (datetime.fromisoformat(report.finished_at) - started).total_seconds()
    suite = _suite(
        f"{PROG} {report.command}",
        report.started_at,
        max(seconds, 0.0),
        {
            "exit_code": report.exit_code,
            "classification": report.classification,
            "rule": report.rule,
        },
    )
    for item in report.builds:
        suite.append(_build_case(report, item))
    if report.exit_code and not report.builds:
        body = _lines(
            [
                ("class", f"{report.classification} (exit {report.exit_code})"),
                ("rule", report.rule),
                ("remediation", report.remediation),
                ("summary", report.message),
            ]
        )
        suite.append(
            _command_case(
                report.command,
                report.workdir,
                report.classification,
                body,
                f"{report.classification}: {report.rule}",
            )
        )
    return _finish(suite)


def write_junit(path: str | None, report: Result | CheckReport) -> int:
    """Write the JUnit report to `path` (atomically) when one was asked for; return the
    exit code the command ends with: the report's, or 1 if the file cannot be written."""
    if path is None:
        return report.exit_code
    tree = result_junit(report) if isinstance(report, Result) else check_junit(report)
    text = ET.tostring(tree.getroot(), encoding="unicode")
    try:
        atomic_write_text(Path(path), f'<?xml version="1.0" encoding="UTF-8"?>\n{text}\n')
    except OSError as exc:
        sys.stderr.write(
            f"{PROG}: error: cannot write the JUnit report --junit {path}: "
            f"{exc.strerror or exc}.\n{PROG}: hint: Give --junit a file in a writable "
            "directory.\n"
        )
        return report.exit_code or 1
    return report.exit_code
