"""Parsed HCL is kept by content, in memory and on disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybridcore.packer.template import hcl_parse

TEXT = 'variable "region" {\n  default = "eu-west-1"\n}\n'


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    hcl_parse._parse.cache_clear()
    yield tmp_path
    hcl_parse._parse.cache_clear()


def test_a_parse_is_stored_and_reused_without_the_parser(cache_home: Path) -> None:
    doc = hcl_parse.parse_hcl(TEXT)
    assert "variable" in doc
    (stored,) = (cache_home / "hybridcore" / "hcl").glob("*.json")
    assert json.loads(stored.read_text()) == doc
    stored.write_text(json.dumps({"from": "cache"}))
    hcl_parse._parse.cache_clear()
    assert hcl_parse.parse_hcl(TEXT) == {"from": "cache"}  # read back, not parsed again


def test_other_text_is_parsed_afresh_and_a_damaged_entry_costs_a_parse(cache_home: Path) -> None:
    first = hcl_parse.parse_hcl(TEXT)
    (stored,) = (cache_home / "hybridcore" / "hcl").glob("*.json")
    stored.write_text("{not json")
    hcl_parse._parse.cache_clear()
    assert hcl_parse.parse_hcl(TEXT) == first
    assert hcl_parse.parse_hcl(TEXT.replace("eu-west-1", "us-east-1")) != first


def test_invalid_hcl_still_raises(cache_home: Path) -> None:
    with pytest.raises(Exception, match=r".") as caught:
        hcl_parse.parse_hcl('variable "x" {\n')
    assert not isinstance(caught.value, KeyError)
    assert not list((cache_home / "hybridcore" / "hcl").glob("*.json"))


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        (
            'source "null" "a" {\n  communicator = "none"\n\nbuild {\n}\n',
            6,
            "unexpected end of file: a block is not closed",
        ),
        (
            'variable "x" {\n  default = "abc\n}\n',
            2,
            "unexpected end of file: a string is not closed",
        ),
        ('variable "x" {\n  default = [1, 2\n}\n', 3, "unexpected '}' (expected ',' or ']')"),
        ('build {\n  sources = ["a"]\n}\n}\n', 4, "unexpected '}' (expected end of file)"),
        ('source "null" "a" {\n  communicator = "none" @\n}\n', 2, "unexpected '@'"),
    ],
)
def test_a_syntax_error_says_line_and_what_without_parser_internals(
    cache_home: Path, text: str, line: int, what: str
) -> None:
    with pytest.raises(hcl_parse.HclSyntaxError) as caught:
        hcl_parse.parse_hcl(text)
    assert (caught.value.line, caught.value.what) == (line, what)
    assert caught.value.at("t.pkr.hcl") == f"t.pkr.hcl line {line}: {what}"
    assert "Token" not in str(caught.value) and "$END" not in str(caught.value)
