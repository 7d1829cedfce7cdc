"""The versioned result: schema stability, pinned keys, timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest

import hybridcore.packer
from hybridcore.packer import SCHEMA_VERSION, Result, result_schema
from hybridcore.packer.base.timestamps import rfc3339

SHIPPED = Path(hybridcore.packer.__file__).resolve().parent / "schemas" / "result.schema.json"

# The public contract: changing these keys is a breaking change (bump schema_version).
RESULT_KEYS = {
    "schema_version",
    "command",
    "command_id",
    "env",
    "exit_code",
    "classification",
    "rule",
    "evidence",
    "remediation",
    "retryable",
    "message",
    "argv",
    "attempts",
    "packer_version",
    "packer_exit_code",
    "stdout",
    "stderr",
    "manifest_path",
    "artifacts",
    "records",
    "cache",
    "drift",
    "skipped",
    "versions",
    "secrets",
    "inherited_secrets",
    "weak_secrets",
    "log_paths",
    "result_path",
    "workdir",
    "targets",
    "started_at",
    "finished_at",
    "duration_s",
    "runs",
}
SPEC_KEYS = {
    "evidence",
    "command",
    "exit_code",
    "stdout",
    "stderr",
    "manifest_path",
    "artifacts",
    "started_at",
    "finished_at",
    "retryable",
}


def _result(**changes: Any) -> Result:
    fields: dict[str, Any] = {
        "command": "build",
        "command_id": "20250101T000000Z-abcdef01",
        "env": "dev",
        "exit_code": 0,
        "classification": "ok",
        "rule": "ok",
        "evidence": None,
        "remediation": None,
        "retryable": False,
        "message": "ok",
        "argv": ["packer", "build", "t"],
        "attempts": 1,
        "packer_version": "1.6.6",
        "packer_exit_code": 0,
        "stdout": "",
        "stderr": "",
        "manifest_path": None,
        "artifacts": [],
        "records": [],
        "cache": None,
        "secrets": [],
        "log_paths": [],
        "result_path": None,
        "workdir": "/w",
        "targets": ["t"],
        "started_at": "2025-01-01T00:00:00.000Z",
        "finished_at": "2025-01-01T00:00:01.000Z",
        "duration_s": 1.0,
        "runs": [],
    }
    fields.update(changes)
    return Result(**fields)


def test_shipped_schema_equals_the_model() -> None:
    """Changing Result without regenerating schemas/result.schema.json fails here."""
    assert json.loads(SHIPPED.read_text(encoding="utf-8")) == result_schema()


def test_schema_is_a_valid_versioned_json_schema() -> None:
    schema = result_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(SCHEMA_VERSION)
    assert set(schema["required"]) >= SPEC_KEYS - {"schema_version"}


def test_contract_pins_the_top_level_keys() -> None:
    data = json.loads(_result().to_json())
    assert set(data) == RESULT_KEYS
    assert set(result_schema()["properties"]) == RESULT_KEYS
    assert SPEC_KEYS <= RESULT_KEYS
    assert data["schema_version"] == "1.0"


def test_to_json_is_sorted_and_valid_against_the_schema() -> None:
    text = _result().to_json()
    assert text.endswith("\n")
    data = json.loads(text)
    assert list(data) == sorted(data)
    jsonschema.Draft202012Validator(result_schema()).validate(data)


def test_result_is_frozen_and_refuses_unknown_fields() -> None:
    result = _result()
    with pytest.raises(pydantic.ValidationError):
        result.exit_code = 1  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        _result(surprise=True)


@pytest.mark.parametrize("exit_code", [-1, 4, 255])
def test_exit_code_outside_the_table_is_refused(exit_code: int) -> None:
    with pytest.raises(pydantic.ValidationError):
        _result(exit_code=exit_code)


def test_rfc3339_is_utc_with_milliseconds_and_z() -> None:
    moment = datetime(2025, 3, 4, 5, 6, 7, 891234, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(moment) == "2025-03-04T03:06:07.891Z"
    assert rfc3339(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00.000Z"
