"""Structured data is scrubbed value by value: valid JSON, keys and names untouched."""

from __future__ import annotations

import json
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcore.redaction.engine import PLACEHOLDER, Redactor
from hybridcore.redaction.structured import scrub_data

SECRET = 'p"a,ss\\w{o}rd'


def test_string_values_are_scrubbed_keys_and_identifiers_kept() -> None:
    data = {
        "build": "null.p-build",
        "message": f"login with {SECRET} failed",
        SECRET: "a key is never rewritten",
        "runs": [{"label": "x", "stdout": f"token={SECRET}"}],
        "exit_code": 0,
        "ok": None,
    }
    counts: Counter[str] = Counter()
    scrubbed = scrub_data(data, Redactor([SECRET]), counts)
    assert scrubbed["message"] == f"login with {PLACEHOLDER} failed"
    assert scrubbed["runs"][0] == {"label": "x", "stdout": f"token={PLACEHOLDER}"}
    assert list(scrubbed) == list(data)
    assert (scrubbed["build"], scrubbed["exit_code"], scrubbed["ok"]) == ("null.p-build", 0, None)
    assert counts["secret"] == 2


def test_json_inside_a_string_is_scrubbed_inside_and_stays_json() -> None:
    inner = json.dumps({"token": SECRET, "list": [SECRET, 1]})
    twice = json.dumps({"wrapped": inner})
    data = {"custom_data": {"blob": inner, "deeper": twice, "plain": "kept"}}
    scrubbed = scrub_data(data, Redactor([SECRET]))
    blob = json.loads(scrubbed["custom_data"]["blob"])
    assert blob == {"token": PLACEHOLDER, "list": [PLACEHOLDER, 1]}
    deeper = json.loads(json.loads(scrubbed["custom_data"]["deeper"])["wrapped"])
    assert deeper["token"] == PLACEHOLDER
    assert scrubbed["custom_data"]["plain"] == "kept"


def test_json_text_without_a_secret_is_left_byte_for_byte() -> None:
    text = '{ "a" : [1, 2] }'
    assert scrub_data({"v": text}, Redactor([SECRET])) == {"v": text}


def test_a_secret_in_a_key_of_nested_json_is_scrubbed_as_text() -> None:
    nested = json.dumps({"hunter22-key": 1})
    scrubbed = scrub_data({"v": nested}, Redactor(["hunter22-key"]))
    assert "hunter22-key" not in scrubbed["v"]


@settings(max_examples=150, deadline=None)
@given(
    secret=st.text(min_size=4, max_size=20).filter(lambda s: s.strip() and s not in PLACEHOLDER),
    values=st.lists(st.text(max_size=30), max_size=5),
)
def test_any_secret_leaves_the_serialised_document_valid(secret: str, values: list[str]) -> None:
    data = {"build": "null.a", "values": [f"{v}{secret}{v}" for v in values], "n": 1}
    text = json.dumps(scrub_data(data, Redactor([secret])), ensure_ascii=False)
    parsed = json.loads(text)
    assert parsed["build"] == "null.a"
    assert all(secret not in value for value in parsed["values"])
