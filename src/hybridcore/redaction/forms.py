"""Every spelling of a secret value, derived from encoder families.

A form is ``transport(encoder(fragment))``:

- fragments: the value; each line of a multi-line value (also trimmed); the value
  trimmed of surrounding whitespace and CR/LF; the value with whitespace runs
  joined by one space (what ``echo $T`` prints); the value without surrounding
  quotes; the parts PowerShell prints apart around an ``&``. A fragment other
  than the value itself that is weak (see weak: under 4 characters, a word Packer
  prints) is too common to scrub alone.
- encoders (`TEXT_ENCODERS` for every fragment, `BINARY_ENCODERS` for the value and
  its trimmed form): JSON string escaping (ASCII, UTF-8, Go's HTML-safe), once and
  twice; backslash escaping (``unicode_escape``, ``repr``, ``"`` alone) and the
  value read back from backslash escapes; sh single and double quotes; bash
  ``printf %q``; PowerShell single and double quotes; URL ``quote`` and
  ``quote_plus``; HTML/XML entities; base64 (standard and URL-safe, with and without
  padding, and the part of it that stays the same wherever the value sits in longer
  text); hex of the UTF-8 bytes, lower and upper case.
- transports: as printed, and Packer's ``-machine-readable`` escaping (commas as
  ``%!(PACKER_COMMA)``, CR and LF as ``\\r`` and ``\\n``), composed with every form.

The anchors are the GitHub Actions runner's value encoders and the Azure Pipelines
agent's literal encoders; this is a superset of both, plus Packer's transport.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

from hybridcore.redaction.weak import weakness

__all__ = [
    "BINARY_ENCODERS",
    "TEXT_ENCODERS",
    "TRANSPORTS",
    "TRANSPORT_ESCAPES",
    "fragments",
    "machine_readable",
    "secret_forms",
]

_MIN_AMPERSAND_PART = 6  # as the GitHub runner: a shorter part would match at random
_MIN_BINARY = 4  # base64/hex spellings of a value under 4 bytes would match at random

Encoder = Callable[[str], str]


def _json_ascii(value: str) -> str:
    return json.dumps(value)[1:-1]


def _json_utf8(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


_GO_CONTROL = {"\b": "\\u0008", "\f": "\\u000c"}
_GO_HTML = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _json_go(value: str) -> str:
    """Go's encoding/json: UTF-8 kept, <, >, & and U+2028/9 escaped, \\b and \\f as \\u00XX."""
    text = _json_utf8(value).replace("\\b", "\0b").replace("\\f", "\0f")
    text = text.replace("\0b", _GO_CONTROL["\b"]).replace("\0f", _GO_CONTROL["\f"])
    for char, escaped in _GO_HTML.items():
        text = text.replace(char, escaped)
    return text


_JSON: tuple[Encoder, ...] = (_json_ascii, _json_utf8, _json_go)


def _unicode_escape(value: str) -> str:
    return value.encode("unicode_escape", errors="backslashreplace").decode("ascii")


def _repr_inner(value: str) -> str:
    return repr(value)[1:-1]


def _sh_single(value: str) -> str:
    return value.replace("'", "'\"'\"'")


def _sh_single_alt(value: str) -> str:
    return value.replace("'", "'\\''")


def _sh_double(value: str) -> str:
    return re.sub(r'([\\"$`])', r"\\\1", value)


def _c_double(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _quote_backslash(value: str) -> str:
    """Only ``"`` escaped (``\\"``), backslashes kept: a value passed to docker as an
    environment variable (the GitHub runner's CommandLineArgumentEscape)."""
    return value.replace('"', '\\"')


def _backslash_unescaped(value: str) -> str:
    """The value read back by a program that takes ``\\\\``, ``\\'``, ``\\"`` and ``\\t`` as
    escapes (the Azure Pipelines agent's BackslashEscape)."""
    return value.replace("\\\\", "\\").replace("\\'", "'").replace('\\"', '"').replace("\\t", "\t")


_BASH_SPECIAL = frozenset(" '\"\\|&;()<>!{}*[?]^$`,")


def _printf_q(value: str) -> str:
    """bash's ``printf %q``: backslashes before shell characters, or ``$'...'`` when the
    value holds a character the C locale cannot print (then octal bytes)."""
    if all(" " <= c <= "~" for c in value):
        out = []
        for index, char in enumerate(value):
            at_word_start = index == 0 or (char == "~" and value[index - 1] in "=:")
            if char in _BASH_SPECIAL or (char in "#~" and at_word_start):
                out.append("\\")
            out.append(char)
        return "".join(out)
    return "$'" + _ansi_c(value, keep_utf8=False) + "'"


def _printf_q_utf8(value: str) -> str:
    """``printf %q`` in a UTF-8 locale: printable non-ASCII characters kept."""
    if all(" " <= c <= "~" for c in value):
        return _printf_q(value)
    return "$'" + _ansi_c(value, keep_utf8=True) + "'"


_ANSI_C = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ANSI_C |= {"\v": "\\v", "\x1b": "\\E", "\\": "\\\\", "'": "\\'"}


def _ansi_c(value: str, *, keep_utf8: bool) -> str:
    out = []
    for char in value:
        if char in _ANSI_C:
            out.append(_ANSI_C[char])
        elif " " <= char <= "~" or (keep_utf8 and char > "\x7f" and char.isprintable()):
            out.append(char)
        else:
            data = char.encode("utf-8", errors="surrogateescape")
            out.extend(f"\\{byte:03o}" for byte in data)
    return "".join(out)


def _powershell_single(value: str) -> str:
    return value.replace("'", "''")


def _powershell_double(value: str) -> str:
    return value.replace("`", "``").replace('"', '`"').replace("$", "`$")


def _powershell_double_plain(value: str) -> str:
    return value.replace("`", "``").replace('"', '`"')


def _url_quote(value: str) -> str:
    return quote(value, safe="", errors="surrogateescape")


def _url_quote_path(value: str) -> str:
    return quote(value, errors="surrogateescape")


def _url_quote_plus(value: str) -> str:
    return quote_plus(value, errors="surrogateescape")


def _html(value: str) -> str:
    return html.escape(value, quote=True)


def _html_text(value: str) -> str:
    return html.escape(value, quote=False)


def _xml(value: str) -> str:
    return _html_text(value).replace('"', "&quot;").replace("'", "&apos;")


def _go_html(value: str) -> str:
    """Go's html.EscapeString and text/template's HTML escaping."""
    return _html_text(value).replace('"', "&#34;").replace("'", "&#39;")


TEXT_ENCODERS: dict[str, Encoder] = {
    "plain": lambda value: value,
    "json_ascii": _json_ascii,
    "json_utf8": _json_utf8,
    "json_go": _json_go,
    "unicode_escape": _unicode_escape,
    "repr": _repr_inner,
    "sh_single_quote": _sh_single,
    "sh_single_quote_alt": _sh_single_alt,
    "sh_double_quote": _sh_double,
    "c_double_quote": _c_double,
    "quote_backslash": _quote_backslash,
    "backslash_unescaped": _backslash_unescaped,
    "printf_q": _printf_q,
    "printf_q_utf8": _printf_q_utf8,
    "powershell_single_quote": _powershell_single,
    "powershell_double_quote": _powershell_double,
    "powershell_double_quote_plain": _powershell_double_plain,
    "url_quote": _url_quote,
    "url_quote_path": _url_quote_path,
    "url_quote_plus": _url_quote_plus,
    "html": _html,
    "html_text": _html_text,
    "xml": _xml,
    "go_html": _go_html,
}


def _twice(outer: Encoder, inner: Encoder) -> Encoder:
    return lambda value: outer(inner(value))


# JSON inside JSON (e.g. jsonencode() in a manifest's custom_data, printed as JSON).
TEXT_ENCODERS |= {
    f"{outer.__name__[1:]}({inner.__name__[1:]})": _twice(outer, inner)
    for outer in _JSON
    for inner in _JSON
}


def _utf8(value: str) -> bytes:
    return value.encode("utf-8", errors="surrogateescape")


def _base64_embedded(data: bytes, alphabet: Callable[[bytes], bytes]) -> list[str]:
    """The base64 characters that depend on `data` alone, for each of the three byte
    offsets at which `data` can start inside longer encoded text."""
    found = []
    for offset in range(3):
        encoded = alphabet(b"\0" * offset + data).decode("ascii").rstrip("=")
        head = (0, 2, 3)[offset]  # characters that mix in the bytes before `data`
        tail = 1 if (offset + len(data)) % 3 else 0  # one mixes in the bytes after it
        found.append(encoded[head : len(encoded) - tail])
    return found


def _binary_forms(value: str) -> list[str]:
    data = _utf8(value)
    std = base64.b64encode(data).decode("ascii")
    url = base64.urlsafe_b64encode(data).decode("ascii")
    forms = [std, std.rstrip("="), url, url.rstrip("=")]
    forms += _base64_embedded(data, base64.b64encode)
    forms += _base64_embedded(data, base64.urlsafe_b64encode)
    hexed = binascii.hexlify(data).decode("ascii")
    forms += [hexed, hexed.upper()]
    return [form for form in forms if len(form) >= _MIN_BINARY]


BINARY_ENCODERS: dict[str, Callable[[str], list[str]]] = {"base64_and_hex": _binary_forms}


def machine_readable(text: str) -> str:
    """Packer's ``-machine-readable`` escaping of one field."""
    return text.replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r").replace("\n", "\\n")


TRANSPORTS: dict[str, Encoder] = {"as_printed": lambda text: text, "machine": machine_readable}
# what `machine_readable` writes for a comma and a line break, as a reader looks for them
TRANSPORT_ESCAPES: tuple[bytes, ...] = (b"%!(PACKER_COMMA)", b"\\n")


def _around_ampersands(value: str) -> list[str]:
    """The two parts PowerShell may print apart when the value reaches it as a command:
    up to the first ``&+`` (or the last ``&``), and after it (after ``&+`` and the
    character it colours). The GitHub runner's PowerShell pre/post ampersand escapes."""
    if "&+" in value:
        cut = value.index("&+") + 2
        return [value[:cut], value[cut + 1 :]]
    if "&" in value:
        cut = value.rindex("&") + 1
        return [value[:cut], value[cut:]]
    return []


def fragments(value: str) -> list[str]:
    """The parts of `value` a program may print on their own: the value, each line,
    trimmed, whitespace runs joined by one space, without surrounding quotes, the
    parts around its ampersands."""
    found = [value]
    lines = value.splitlines()
    if len(lines) > 1:
        found += lines
        found += [line.strip() for line in lines]
    found += [value.strip(), " ".join(value.split()), value.strip("\"'")]
    found += [part for part in _around_ampersands(value) if len(part) >= _MIN_AMPERSAND_PART]
    seen = dict.fromkeys(f for f in found if f == value or weakness(f) is None)
    return list(seen)


def _encoded(value: str) -> Iterable[str]:
    parts = fragments(value)
    for part in parts:
        for encode in TEXT_ENCODERS.values():
            yield encode(part)
    for part in {value, value.strip()}:
        if part:
            yield from _binary_forms(part)
    # bytes that are not UTF-8 (kept by os.environ as surrogates) as a decoder shows them
    yield _utf8(value).decode("utf-8", errors="backslashreplace")


def secret_forms(value: str) -> set[str]:
    """Every spelling of `value` that can appear in Packer output, logs or files."""
    if not value:
        return set()
    base = set(_encoded(value))
    forms = {transport(form) for form in base for transport in TRANSPORTS.values()}
    forms.discard("")
    return forms
