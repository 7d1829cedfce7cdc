"""Logging: one line format everywhere, context fields, JSON lines, redaction."""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import logging
import re
import threading
import time
from pathlib import Path

import pytest

import hybridcore.logs as logs
from hybridcore.logs import (
    LOGGER_NAME,
    command_context,
    get_logger,
    init_logging,
    register_redactor,
)
from hybridcore.redaction.engine import PLACEHOLDER, Redactor

LINE = re.compile(
    r"^\[(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\] (?P<level>[A-Z]+) "
    r"(?P<component>\S+) (?P<command_id>\S+) (?P<message>.*)$"
)


class Sinks:
    def __init__(self, root: Path) -> None:
        self.console = io.StringIO()
        self.jsonl = root / "json" / "log.jsonl"
        self.file = init_logging(
            "staging", "packer", root / "logs", json_lines=self.jsonl, console=self.console
        )

    def file_lines(self) -> list[str]:
        return self.file.read_text(encoding="utf-8").splitlines()

    def json_records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.jsonl.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def sinks(tmp_path: Path) -> Sinks:
    return Sinks(tmp_path)


def test_init_logging_returns_the_log_file_in_the_artifact_dir(tmp_path: Path) -> None:
    path = init_logging("dev", "packer", tmp_path / "a" / "b", console=io.StringIO())
    assert path == tmp_path / "a" / "b" / "hybridcore.log"
    assert path.exists()


def test_line_format(sinks: Sinks) -> None:
    before = time.time()
    with command_context("cmd-123"):
        get_logger("packer").info("hello %s", "world")
    (line,) = sinks.file_lines()
    match = LINE.match(line)
    assert match, line
    assert match["level"] == "INFO"
    assert match["component"] == "packer"
    assert match["command_id"] == "cmd-123"
    assert match["message"] == "hello world"
    stamp = calendar.timegm(time.strptime(match["ts"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert before - 2 <= stamp <= time.time() + 1  # UTC
    assert sinks.console.getvalue().rstrip("\n") == line


def test_command_id_defaults_to_a_dash_outside_a_command(sinks: Sinks) -> None:
    get_logger().warning("no command")
    match = LINE.match(sinks.file_lines()[0])
    assert match and match["command_id"] == "-" and match["level"] == "WARNING"


def test_command_context_is_restored_afterwards(sinks: Sinks) -> None:
    log = get_logger("x")
    with command_context("outer"):
        with command_context("inner"):
            log.info("a")
        log.info("b")
    log.info("c")
    ids = [LINE.match(line)["command_id"] for line in sinks.file_lines()]  # type: ignore[index]
    assert ids == ["inner", "outer", "-"]


def test_an_explicit_command_id_wins_over_the_context(sinks: Sinks) -> None:
    with command_context("ctx"):
        get_logger().info("from a pump thread", extra={"command_id": "explicit"})
    assert LINE.match(sinks.file_lines()[0])["command_id"] == "explicit"  # type: ignore[index]


def test_multi_line_record_is_one_formatted_line_per_message_line(sinks: Sinks) -> None:
    with command_context("cmd-9"):
        get_logger("packer").info("first\nsecond\n\nfourth", extra={"prefix": "null.a"})
    lines = sinks.file_lines()
    assert len(lines) == 4
    matches = [LINE.match(line) for line in lines]
    assert all(matches)
    assert [m["message"] for m in matches] == [  # type: ignore[index]
        "null.a | first",
        "null.a | second",
        "null.a | ",
        "null.a | fourth",
    ]
    assert {m["command_id"] for m in matches} == {"cmd-9"}  # type: ignore[index]


def test_json_lines_sink(sinks: Sinks) -> None:
    with command_context("cmd-7"):
        get_logger("packer").warning("one\ntwo", extra={"prefix": "null.b"})
        get_logger("packer").info("plain")
    records = sinks.json_records()
    assert [r["message"] for r in records] == ["one", "two", "plain"]
    first = records[0]
    assert first["level"] == "WARNING"
    assert first["env"] == "staging"
    assert first["component"] == "packer"
    assert first["command_id"] == "cmd-7"
    assert first["build"] == "null.b"
    assert records[2]["build"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(first["ts"]))


def test_console_level_filters_only_the_console(tmp_path: Path) -> None:
    console = io.StringIO()
    path = init_logging("dev", "packer", tmp_path, console=console, console_level=logging.INFO)
    get_logger().debug("debug detail")
    get_logger().info("visible")
    assert "debug detail" not in console.getvalue()
    assert "visible" in console.getvalue()
    assert "debug detail" in path.read_text()


def test_calling_init_logging_again_replaces_the_handlers(tmp_path: Path) -> None:
    first_console, second_console = io.StringIO(), io.StringIO()
    first = init_logging("dev", "packer", tmp_path / "one", console=first_console)
    second = init_logging("dev", "packer", tmp_path / "two", console=second_console)
    get_logger().info("only once")
    assert second.read_text().count("only once") == 1
    assert "only once" not in first.read_text()
    assert first_console.getvalue() == ""
    assert second_console.getvalue().count("only once") == 1


def test_registered_secrets_are_scrubbed_from_every_sink(sinks: Sinks) -> None:
    secret = "t0ps3cret,value"
    register_redactor(Redactor([secret]))
    get_logger("packer").error("login with %s failed", secret)
    get_logger("packer").info("escaped %s", secret.replace(",", "%!(PACKER_COMMA)"))
    text = sinks.file.read_text() + sinks.console.getvalue() + sinks.jsonl.read_text()
    assert "t0ps3cret" not in text
    assert f"login with {PLACEHOLDER} failed" in text
    assert f"escaped {PLACEHOLDER}" in text


def test_a_secret_in_an_exception_traceback_is_scrubbed(sinks: Sinks) -> None:
    secret = "traceback-secret-99"
    register_redactor(Redactor([secret]))
    try:
        raise RuntimeError(f"connect failed for password {secret}")
    except RuntimeError:
        get_logger("packer").exception("could not connect")
    text = sinks.file.read_text() + sinks.console.getvalue() + sinks.jsonl.read_text()
    assert "could not connect" in text
    assert secret not in text


def test_records_logged_from_other_threads_are_formatted_and_scrubbed(sinks: Sinks) -> None:
    secret = "thread-secret-42"
    register_redactor(Redactor([secret]))

    def work() -> None:
        get_logger("packer").info("from thread %s", secret, extra={"command_id": "cmd-t"})

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    (line,) = sinks.file_lines()
    match = LINE.match(line)
    assert match and match["command_id"] == "cmd-t"
    assert match["message"] == f"from thread {PLACEHOLDER}"


def test_a_once_message_is_logged_once_per_command_in_every_sink(sinks: Sinks) -> None:
    log = get_logger("hcl")
    for command in ("cmd-1", "cmd-1", "cmd-2"):
        with command_context(command):
            log.warning("a.pkr.hcl line 3: unexpected '}'", extra=logs.ONCE)
            log.warning("a.pkr.hcl line 3: unexpected '}'", extra=logs.ONCE)
    ids = [LINE.match(line)["command_id"] for line in sinks.file_lines()]  # type: ignore[index]
    assert ids == ["cmd-1", "cmd-2"]
    assert sinks.console.getvalue().count("unexpected") == 2
    assert len(sinks.json_records()) == 2


def test_a_file_only_message_stays_off_the_console(sinks: Sinks) -> None:
    get_logger().error("for the record", extra=logs.FILE_ONLY)
    assert "for the record" in sinks.file.read_text()
    assert "for the record" in sinks.jsonl.read_text()
    assert sinks.console.getvalue() == ""


def test_a_console_formatter_changes_the_console_only(tmp_path: Path) -> None:
    class Short(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return f"short: {record.getMessage()}"

    console = io.StringIO()
    path = init_logging("dev", "packer", tmp_path, console=console, console_formatter=Short())
    with command_context("cmd-s"):
        get_logger("packer").info("hello", extra={"prefix": "null.a"})
    assert console.getvalue() == "short: hello\n"
    match = LINE.match(path.read_text().splitlines()[0])
    assert match and match["command_id"] == "cmd-s" and match["message"] == "null.a | hello"


def _boom(secret: str) -> RuntimeError:
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError as exc:
        return exc


def test_record_traceback_writes_to_the_log_file_not_the_console(sinks: Sinks) -> None:
    register_redactor(Redactor(["tb-secret-1"]))
    path = logs.record_traceback(_boom("tb-secret-1"), sinks.file.parent / "unused")
    assert path == sinks.file
    text = path.read_text()
    assert "Traceback (most recent call last)" in text
    assert f"RuntimeError: failed with {PLACEHOLDER}" in text
    assert "tb-secret-1" not in text
    assert sinks.console.getvalue() == ""
    assert not (sinks.file.parent / "unused").exists()


def test_record_traceback_without_logging_writes_the_fallback_file(tmp_path: Path) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    register_redactor(Redactor(["tb-secret-2"]))
    path = logs.record_traceback(_boom("tb-secret-2"), tmp_path / "crash")
    assert path == tmp_path / "crash" / "hybridcore.log"
    lines = path.read_text().splitlines()
    assert LINE.match(lines[0])
    assert "internal error: RuntimeError: failed with" in lines[0]
    assert any("Traceback (most recent call last)" in line for line in lines)
    assert "tb-secret-2" not in path.read_text()


def test_build_output_and_other_records_reach_the_file_in_order_with_its_digest(
    sinks: Sinks,
) -> None:
    """Output blocks are written by the file's own thread; a later ordinary record waits
    for them, and the digest is of exactly the bytes on disk."""
    log = get_logger("packer")
    for index in range(200):
        record = logging.LogRecord(
            log.name,
            logging.INFO,
            __file__,
            0,
            logs.Output(f"block {index}\nné".encode()),
            None,
            None,
        )
        record.__dict__.update({"prefix": "null.a", "redacted": True})
        log.handle(record)
        if index % 50 == 0:
            log.info("marker %d", index)
    log.info("the end")
    messages = [
        line.split(" | ", 1)[1] if " | " in line else line.split(" ", 4)[4]
        for line in sinks.file_lines()
    ]
    expected = []
    for index in range(200):
        expected += [f"block {index}", "né"]
        if index % 50 == 0:
            expected.append(f"marker {index}")
    assert messages == [*expected, "the end"]
    assert sinks.console.getvalue().count("block ") == 200
    (digest,) = logs.written_digests().values()
    assert digest == hashlib.sha256(sinks.file.read_bytes()).hexdigest()
