"""Redaction: a registered secret never survives, in any spelling Packer prints it."""

from __future__ import annotations

import base64
import html
import json
import shlex
from urllib.parse import quote

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from hybridcore.redaction.engine import PLACEHOLDER, Redactor, secret_forms
from hybridcore.redaction.weak import weakness

# "\0" never occurs in generated text, so it can stand for a placeholder when
# looking for what survived outside the placeholders.
texts = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)))
secrets = texts.filter(lambda s: s.strip() != "").map(lambda s: s[:40])


def _outside_placeholders(text: str) -> str:
    return text.replace(PLACEHOLDER, "\0")


def _not_part_of_placeholder(secret: str) -> bool:
    # A secret that is a substring of "<sensitive>" would be "found" inside every placeholder.
    return not any(form in PLACEHOLDER for form in secret_forms(secret))


@settings(max_examples=300, deadline=None)
@given(secret=secrets, before=texts, after=texts, data=st.data())
def test_no_registered_form_survives_in_any_surrounding_text(
    secret: str, before: str, after: str, data: st.DataObject
) -> None:
    assume(_not_part_of_placeholder(secret))
    forms = sorted(secret_forms(secret))
    form = data.draw(st.sampled_from(forms))
    redactor = Redactor([secret])
    scrubbed = redactor(before + form + after)
    rest = _outside_placeholders(scrubbed)
    for each in forms:
        assert each not in rest
    assert secret not in rest
    assert not redactor.contains_secret(rest)


@settings(max_examples=200, deadline=None)
@given(secret=secrets, text=texts)
def test_text_without_a_secret_is_left_alone(secret: str, text: str) -> None:
    redactor = Redactor([secret])
    assume(not redactor.contains_secret(text))
    assert redactor(text) == text


@settings(deadline=None)
@given(text=texts)
def test_an_empty_redactor_changes_nothing(text: str) -> None:
    redactor = Redactor()
    assert redactor(text) == text
    assert not redactor.active
    assert redactor.longest_form == 0
    assert not redactor.contains_secret(text)


@settings(max_examples=200, deadline=None)
@given(secret=secrets, before=texts, after=texts)
def test_contains_secret_finds_every_form(secret: str, before: str, after: str) -> None:
    redactor = Redactor([secret])
    for form in secret_forms(secret):
        assert redactor.contains_secret(before + form + after)


@settings(max_examples=200, deadline=None)
@given(secret=secrets)
@example(secret="Grüße\tTab")
def test_json_encoded_secret_is_scrubbed(secret: str) -> None:
    """JSON as Python writes it both ways: the tool's own records use ensure_ascii=False
    (non-ASCII kept, control characters escaped), as Go's encoding/json does."""
    assume(_not_part_of_placeholder(secret))
    redactor = Redactor([secret])
    for ensure_ascii in (True, False):
        encoded = json.dumps({"value": secret}, ensure_ascii=ensure_ascii)
        scrubbed = redactor(encoded)
        assert secret not in _outside_placeholders(scrubbed)
        inner = encoded[len('{"value": "') : -2]
        assert inner not in _outside_placeholders(scrubbed)


@settings(max_examples=200, deadline=None)
@given(secret=secrets)
def test_machine_readable_escaped_secret_is_scrubbed(secret: str) -> None:
    assume(_not_part_of_placeholder(secret))
    escaped = secret.replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r").replace("\n", "\\n")
    prefix = "1700000000,null.a,ui,say,password is "
    redactor = Redactor([secret])
    scrubbed = redactor(prefix + escaped)
    assert escaped not in _outside_placeholders(scrubbed)
    if not redactor.contains_secret(prefix):
        assert scrubbed == prefix + PLACEHOLDER


@settings(max_examples=200, deadline=None)
@given(secret=secrets)
def test_shell_quoted_secret_is_scrubbed(secret: str) -> None:
    assume(_not_part_of_placeholder(secret))
    quoted = shlex.quote(secret)
    scrubbed = Redactor([secret])(f"+ curl -u admin:{quoted} https://x")
    assert secret not in _outside_placeholders(scrubbed)
    inner = quoted[1:-1] if quoted.startswith("'") else quoted
    assert inner not in _outside_placeholders(scrubbed)


def test_json_without_ascii_escaping_is_scrubbed() -> None:
    # Go's encoding/json (Packer) and json.dumps(ensure_ascii=False) keep non-ASCII
    # characters as they are but still escape control characters such as a tab.
    secret = "Grüße\tTab"
    encoded = json.dumps({"token": secret}, ensure_ascii=False)
    assert encoded == '{"token": "Grüße\\tTab"}'
    assert Redactor([secret])(encoded) == '{"token": "<sensitive>"}'


def test_comma_secret_in_machine_readable_form() -> None:
    redactor = Redactor(["hunter2,Sup3r"])
    out = redactor("1,,ui,say,value=hunter2%!(PACKER_COMMA)Sup3r end")
    assert out == f"1,,ui,say,value={PLACEHOLDER} end"


def test_powershell_spellings_are_scrubbed() -> None:
    secret = "it's\"q`"
    redactor = Redactor([secret])
    single = "$p = '" + secret.replace("'", "''") + "'"
    double = '$p = "' + secret.replace("`", "``").replace('"', '`"') + '"'
    assert secret.replace("'", "''") not in redactor(single)
    assert redactor(single) == f"$p = '{PLACEHOLDER}'"
    assert redactor(double) == f'$p = "{PLACEHOLDER}"'


def test_longer_secret_is_scrubbed_whole_not_half_by_a_shorter_one() -> None:
    redactor = Redactor(["hunter2", "user:hunter2@db"])
    assert redactor("dsn=user:hunter2@db;") == f"dsn={PLACEHOLDER};"
    assert redactor("pw hunter2") == f"pw {PLACEHOLDER}"


def test_every_occurrence_is_scrubbed() -> None:
    redactor = Redactor(["s3cr3t"])
    assert redactor("s3cr3t s3cr3t\ns3cr3ts3cr3t") == " ".join([PLACEHOLDER] * 2) + (
        "\n" + PLACEHOLDER * 2
    )


def test_multi_line_secret_lines_are_scrubbed_alone() -> None:
    key = "-----BEGIN KEY-----\nMIIEabcdefgh\nxy\n-----END KEY-----"
    redactor = Redactor([key])
    assert redactor(key) == PLACEHOLDER
    logged = "line: MIIEabcdefgh"
    assert "MIIEabcdefgh" not in redactor(logged)
    assert "\\n" not in _outside_placeholders(redactor(json.dumps(key)))


def test_short_lines_of_a_multi_line_secret_are_not_forms() -> None:
    # Lines shorter than four characters are too common to scrub on their own.
    assert "xy" not in secret_forms("abcdefgh\nxy")
    assert "abcdefgh" in secret_forms("abcdefgh\nxy")


def test_empty_values_are_ignored() -> None:
    redactor = Redactor(["", ""])
    assert not redactor.active
    assert redactor("anything") == "anything"
    assert "" not in secret_forms("")


def test_add_registers_more_secrets_and_tracks_the_longest_form() -> None:
    def longest(*values: str) -> int:
        return max(len(form.encode()) for value in values for form in secret_forms(value))

    redactor = Redactor(["abc"])
    assert redactor.longest_form == longest("abc")
    redactor.add("longer,secret")
    assert redactor("abc longer,secret") == f"{PLACEHOLDER} {PLACEHOLDER}"
    assert redactor.longest_form == longest("abc", "longer,secret")
    redactor.add("abc")  # again: nothing changes
    assert redactor("abc") == PLACEHOLDER


@settings(deadline=None)
@given(st.lists(secrets, min_size=1, max_size=4), texts)
def test_order_of_registration_does_not_matter(values: list[str], text: str) -> None:
    forward, backward = Redactor(values), Redactor(reversed(values))
    assert forward(text) == backward(text)


def test_go_json_escaping_of_html_characters_is_scrubbed() -> None:
    secret = "p<a>ss&word"
    redactor = Redactor([secret])
    go_encoded = '{"token":"p\\u003ca\\u003ess\\u0026word"}'
    assert secret not in redactor(go_encoded)
    assert redactor(go_encoded) == '{"token":"<sensitive>"}'


@pytest.mark.parametrize("secret", ["ab", "exactly11ch", "a-much-longer-secret-value"])
def test_replacements_are_counted_per_rule(secret: str) -> None:
    from collections import Counter

    counts: Counter[str] = Counter()
    text = f"{secret} and {secret}, again {secret}; key AKIAIOSFODNN7EXAMPLE"
    scrubbed = Redactor([secret]).scrub(text, counts)
    assert secret not in scrubbed
    assert counts == Counter({"secret": 3, "aws_access_key_id": 1})


def test_a_nul_byte_inside_a_secret_is_part_of_it_not_its_end() -> None:
    """The matcher takes patterns as C strings; a NUL must not cut a form short."""
    redactor = Redactor(["ab\x00cd"])
    assert redactor.scrub("x ab\x00cd y") == f"x {PLACEHOLDER} y"
    assert redactor.scrub("x ab y") == "x ab y"


def test_scrub_bytes_returns_the_same_object_when_nothing_matches() -> None:
    """Callers rely on identity to skip a decode when a block holds no secret."""
    redactor = Redactor(["hunter2-secret"])
    data = b"nothing to see here"
    assert redactor.scrub_bytes(data) is data
    assert redactor.scrub_bytes(b"pw=hunter2-secret.") == b"pw=" + PLACEHOLDER.encode() + b"."


def _github_runner_spellings(value: str) -> list[str]:
    """What the GitHub Actions runner's value encoders mask, base64 variations apart."""
    spellings = [
        base64.b64encode(value.encode()).decode(),
        value.replace('"', '\\"'),  # CommandLineArgumentEscape
        value.replace("'", "''"),  # ExpressionStringEscape
        json.dumps(value, ensure_ascii=False)[1:-1],  # JsonStringEscape
        quote(value, safe=""),  # UriDataEscape
        html.escape(value, quote=False).replace('"', "&quot;").replace("'", "&apos;"),
    ]
    if len(value) > 8 and value.startswith('"') and value.endswith('"'):
        spellings.append(value[1:-1])  # TrimDoubleQuotes
    if "&" in value:  # PowerShellPreAmpersandEscape, PowerShellPostAmpersandEscape
        if "&+" in value:
            cut = value.index("&+") + 2
            pre, post = value[:cut], value[cut + 1 :]
        else:
            cut = value.rindex("&") + 1
            pre, post = value[:cut], value[cut:]
        spellings += [part for part in (pre, post) if len(part) >= 6]
    return spellings


def _azure_agent_spellings(value: str) -> list[str]:
    """What the Azure Pipelines agent's literal encoders mask."""
    unescaped = (
        value.replace("\\\\", "\\").replace("\\'", "'").replace('\\"', '"').replace("\\t", "\t")
    )  # BackslashEscape
    return [json.dumps(value, ensure_ascii=False)[1:-1], unescaped, quote(value, safe="")]


def _base64_of_embedded(value: str) -> list[str]:
    """The value inside longer text, base64-encoded, at each of the three byte offsets
    (what the runner's base64 variations are for: ``base64(user:password)``)."""
    encoded = []
    for before in ("", "u", "us"):
        for after in ("", ":tail"):
            data = f"{before}{value}{after}".encode()
            encoded += [base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()]
    return encoded


ANCHOR_VALUES = [
    '"quoted-secret-value"',
    "'single-quoted-pw'",
    "part0ne&part2two&part3three",
    "colour&+ed-second-half",
    'back\\slash\\"and\\tescapes',
    "amp&<xml>'\"entities",
    "Grüße🔑-with\ttab",
]


@pytest.mark.parametrize("value", ANCHOR_VALUES)
def test_every_spelling_the_github_and_azure_maskers_know_is_a_form(value: str) -> None:
    forms = secret_forms(value)
    for spelling in _github_runner_spellings(value) + _azure_agent_spellings(value):
        assert spelling in forms, spelling
    for encoded in _base64_of_embedded(value):
        assert any(form in encoded for form in forms), encoded


@settings(max_examples=300, deadline=None)
@given(value=st.text(st.sampled_from("ab9\"'&+\\t é🔑<>"), min_size=1, max_size=24))
def test_anchor_spellings_are_forms_unless_too_weak_to_scrub(value: str) -> None:
    forms = secret_forms(value)
    for spelling in _github_runner_spellings(value) + _azure_agent_spellings(value):
        assert spelling in forms or weakness(spelling) is not None, spelling
