"""The exit classes: one table, used everywhere; a second mapping anywhere in src fails here."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

import hybridcore
from hybridcore.packer import ExitClass, HybridcoreError
from hybridcore.packer.base.result import Result, RunResult
from hybridcore.packer.commands.inputs_check import CheckReport

SRC = Path(hybridcore.__file__).resolve().parent
NAMES = {klass.name for klass in ExitClass.ALL}


def test_the_table() -> None:
    rows = [(k.code, k.name, k.retryable) for k in ExitClass.ALL]
    assert rows == [
        (0, "ok", False),
        (1, "config", False),
        (1, "drift", False),
        (2, "transient", True),
        (3, "security", False),
        (3, "internal", False),
    ]
    assert len(NAMES) == len(ExitClass.ALL)


def test_a_bare_code_means_the_first_class_with_that_code() -> None:
    assert [ExitClass.of(code) for code in range(4)] == [
        ExitClass.OK,
        ExitClass.CONFIG,
        ExitClass.TRANSIENT,
        ExitClass.SECURITY,
    ]
    with pytest.raises(ValueError, match="4"):
        ExitClass.of(4)


def test_named_finds_each_class_and_refuses_others() -> None:
    for klass in ExitClass.ALL:
        assert ExitClass.named(klass.name) is klass
    with pytest.raises(ValueError, match="fatal"):
        ExitClass.named("fatal")


def test_severity_orders_security_then_config_then_transient_then_ok() -> None:
    """Moved from test_result.py: `severity(code)` became `ExitClass.severity`."""

    def severity(code: int) -> int:
        return ExitClass.of(code).severity

    assert sorted([0, 1, 2, 3], key=severity, reverse=True) == [3, 1, 2, 0]
    assert ExitClass.INTERNAL.severity == ExitClass.SECURITY.severity
    assert ExitClass.DRIFT.severity == ExitClass.CONFIG.severity


def test_error_exit_code_follows_its_class() -> None:
    for klass in ExitClass.ALL:
        error = HybridcoreError("m", klass=klass, rule="r", remediation="x")
        assert (error.exit_code, error.klass) == (klass.code, klass)


def test_internal_error_names_the_traceback_file(tmp_path: Path) -> None:
    error = HybridcoreError.internal(KeyError("x"), tmp_path / "hybridcore.log")
    assert error.klass is ExitClass.INTERNAL and error.exit_code == 3
    assert error.message == (
        f"internal error: KeyError: 'x'; the traceback is in {tmp_path / 'hybridcore.log'}; "
        "please report it."
    )


def _literal_names(model: type, field: str) -> set[str]:
    return set(typing.get_args(model.model_fields[field].annotation))  # type: ignore[attr-defined]


def test_models_accept_exactly_the_class_names() -> None:
    assert _literal_names(Result, "classification") == NAMES - {"drift"}
    assert _literal_names(RunResult, "classification") == NAMES - {"drift"}
    assert _literal_names(CheckReport, "classification") == NAMES


# --- no second mapping --------------------------------------------------------------------


def _second_mappings(source: str) -> list[str]:
    """Places in `source` that map codes to classes (or back), decide retry by name or
    code, or raise with a bare exit code, instead of using `ExitClass`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict) and len(node.keys) >= 2:
            pairs = [
                (k.value, v.value)
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
            ]
            codes_to_names = [p for p in pairs if p[0] in range(4) and p[1] in NAMES]
            names_to_codes = [p for p in pairs if p[0] in NAMES and p[1] in range(4)]
            if len(codes_to_names) >= 2 or len(names_to_codes) >= 2:
                found.append(f"line {node.lineno}: a code <-> class dict")
        if (
            isinstance(node, ast.keyword)
            and node.arg == "exit_code"
            and any(isinstance(n, ast.Constant) for n in ast.walk(node.value))
        ):
            found.append(f"line {node.value.lineno}: exit_code=<literal>")
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and o.value == "transient" for o in operands):
                found.append(f"line {node.lineno}: compares with 'transient'")
            named_code = any(
                isinstance(o, ast.Attribute | ast.Name)
                and (o.attr if isinstance(o, ast.Attribute) else o.id).endswith("exit_code")
                for o in operands
            )
            if named_code and any(isinstance(o, ast.Constant) and o.value == 2 for o in operands):
                found.append(f"line {node.lineno}: exit_code == 2")
    return found


def test_the_detector_finds_each_kind_of_second_mapping() -> None:
    source = (
        'CODES = {"ok": 0, "config": 1, "transient": 2}\n'
        'klass = {1: "config", 3: "security"}[code]\n'
        'raise HybridcoreError("m", exit_code=3, rule="r", remediation="x")\n'
        "run(exit_code=1 if config else 2)\n"
        'retryable = klass == "transient"\n'
        "retryable = error.exit_code == 2\n"
    )
    assert len(_second_mappings(source)) == 6
    assert _second_mappings("exit_code = klass.code\nrun(exit_code=klass.code)\n") == []


def test_src_has_no_second_exit_class_mapping() -> None:
    found = {
        str(path.relative_to(SRC)): places
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "exit_class.py"
        and (places := _second_mappings(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "use ExitClass (hybridcore/packer/base/exit_class.py) instead"
