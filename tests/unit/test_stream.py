"""Stream reading: whole lines, scrubbed, valid UTF-8, whatever the chunking of the bytes."""

from __future__ import annotations

import itertools
import os
import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from hybridcore.packer.run.stream import (
    Tail,
    read_blocks,
    render_machine_readable,
    render_with_kind,
    unescape_ui,
)
from hybridcore.redaction.engine import PLACEHOLDER, Redactor, secret_forms

# Lines never contain "\n" (it separates them) nor "\0" (it marks placeholders below).
line_chars = st.characters(blacklist_characters="\n\0", blacklist_categories=("Cs",))
lines = st.text(line_chars, max_size=30)
secrets = st.text(line_chars, min_size=1, max_size=12).filter(
    lambda s: not any(form in PLACEHOLDER for form in secret_forms(s))
)


def _pipe_blocks(data: bytes, redactor: Redactor, **kwargs: int) -> list[str]:
    """read_blocks over a real pipe; a writer thread feeds it so any size works."""
    read_fd, write_fd = os.pipe()

    def write() -> None:
        with os.fdopen(write_fd, "wb") as out:
            out.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        return [block.decode() for block in read_blocks(read_fd, redactor, **kwargs)]
    finally:
        writer.join()
        os.close(read_fd)


def _packet_blocks(pieces: list[bytes], redactor: Redactor, **kwargs: int) -> list[str]:
    """read_blocks where each os.read returns exactly one of `pieces`: a SOCK_SEQPACKET
    socket keeps message boundaries, so the chunking is chosen by the test."""
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with reader, writer:
        for piece in pieces:
            if piece:
                writer.send(piece)
        writer.shutdown(socket.SHUT_WR)
        return [block.decode() for block in read_blocks(reader.fileno(), redactor, **kwargs)]


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(max(c, 0), len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def _lines_of(blocks: list[str]) -> list[str]:
    return "\n".join(blocks).split("\n") if blocks else []


def _outside(text: str) -> str:
    return text.replace(PLACEHOLDER, "\0")


def _with_secret(body: list[str], secret: str, where: list[int]) -> list[str]:
    out = list(body)
    for index in where:
        if out:
            position = index % len(out)
            out[position] = out[position] + secret + out[position][:3]
    return out


# --- whole lines -------------------------------------------------------------------------


def test_yields_whole_lines_without_the_final_newline() -> None:
    blocks = _pipe_blocks(b"one\ntwo\nthree\n", Redactor())
    assert _lines_of(blocks) == ["one", "two", "three"]


def test_last_line_without_newline_is_yielded_at_eof() -> None:
    assert _lines_of(_pipe_blocks(b"a\nno newline", Redactor())) == ["a", "no newline"]


def test_empty_stream_yields_nothing() -> None:
    assert _pipe_blocks(b"", Redactor()) == []


def test_invalid_utf8_is_kept_visible_not_dropped() -> None:
    (block,) = _pipe_blocks(b"bad \xff byte\n", Redactor())
    assert block == "bad \\xff byte"


def test_a_multi_byte_character_split_between_reads_is_decoded_whole() -> None:
    data = "grüße €\n".encode()
    for chunk in range(1, len(data) + 1):
        assert _pipe_blocks(data, Redactor(), chunk=chunk) == ["grüße €"]


def test_output_arrives_before_the_writer_closes() -> None:
    """A trickle is passed on line by line, not buffered until end-of-file."""
    read_fd, write_fd = os.pipe()
    try:
        blocks: Iterator[bytes] = read_blocks(read_fd, Redactor())
        os.write(write_fd, b"first line\n")
        assert next(blocks) == b"first line"
        os.write(write_fd, b"second line\n")
        assert next(blocks) == b"second line"
    finally:
        os.close(write_fd)
        assert list(blocks) == []
        os.close(read_fd)


# --- any chunking, same scrubbed lines ------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    body=st.lists(lines, min_size=1, max_size=8),
    secret=secrets,
    where=st.lists(st.integers(0, 7), max_size=3),
    trailing_newline=st.booleans(),
    chunk=st.integers(1, 64),
)
def test_any_uniform_chunking_yields_the_same_scrubbed_lines(
    body: list[str], secret: str, where: list[int], trailing_newline: bool, chunk: int
) -> None:
    text = "\n".join(_with_secret(body, secret, where)) + ("\n" if trailing_newline else "")
    assume(text)
    text_lines = text.removesuffix("\n").split("\n")
    data = text.encode()
    redactor = Redactor([secret])
    expected = [redactor(line) for line in text_lines]
    blocks = _pipe_blocks(data, redactor, chunk=chunk)
    assert _lines_of(blocks) == expected
    for block in blocks:
        assert not redactor.contains_secret(_outside(block))


@settings(max_examples=150, deadline=None)
@given(
    body=st.lists(lines, min_size=1, max_size=8),
    secret=secrets,
    where=st.lists(st.integers(0, 7), max_size=3),
    cuts=st.lists(st.integers(0, 400), max_size=12),
)
def test_any_chunking_yields_the_same_scrubbed_lines(
    body: list[str], secret: str, where: list[int], cuts: list[int]
) -> None:
    text_lines = _with_secret(body, secret, where)
    data = ("\n".join(text_lines) + "\n").encode()
    redactor = Redactor([secret])
    blocks = _packet_blocks(_cut(data, cuts), redactor)
    assert _lines_of(blocks) == [redactor(line) for line in text_lines]


def test_secret_split_across_two_reads_is_scrubbed() -> None:
    redactor = Redactor(["hunter2-secret"])
    pieces = [b"password: hunt", b"er2-sec", b"ret end\n"]
    assert _packet_blocks(pieces, redactor) == [f"password: {PLACEHOLDER} end"]


# --- lines longer than max_line -----------------------------------------------------------


def _check_long_line(
    before: str, after: str, secret: str, max_line: int, cuts: list[int], trailing_newline: bool
) -> None:
    line = before + secret + after + secret[:2]
    data = (line + ("\n" if trailing_newline else "")).encode()
    redactor = Redactor([secret])
    blocks = _packet_blocks(_cut(data, cuts), redactor, max_line=max_line)
    # The pieces of one long line, put back together, must not reveal the secret.
    joined = _outside("".join(blocks))
    for form in secret_forms(secret):
        assert form not in joined
    assert joined.count("\0") >= 1


ascii_line_chars = st.characters(min_codepoint=1, max_codepoint=127, blacklist_characters="\n")
ascii_lines = st.text(ascii_line_chars, max_size=30)
ascii_secrets = st.text(ascii_line_chars, min_size=1, max_size=12).filter(
    lambda s: not any(form in PLACEHOLDER for form in secret_forms(s))
)


@settings(max_examples=200, deadline=None)
@given(
    before=ascii_lines,
    after=ascii_lines,
    secret=ascii_secrets,
    max_line=st.integers(1, 24),
    cuts=st.lists(st.integers(0, 200), max_size=16),
    trailing_newline=st.booleans(),
)
def test_no_ascii_secret_survives_inside_a_line_longer_than_max_line(
    before: str, after: str, secret: str, max_line: int, cuts: list[int], trailing_newline: bool
) -> None:
    _check_long_line(before, after, secret, max_line, cuts, trailing_newline)


@settings(max_examples=200, deadline=None)
@given(
    before=lines,
    after=lines,
    secret=secrets,
    max_line=st.integers(1, 24),
    cuts=st.lists(st.integers(0, 200), max_size=16),
    trailing_newline=st.booleans(),
)
@example(
    before="A" * 30,
    after="B" * 5,
    secret="pässwörd-€uro",
    max_line=10,
    cuts=[42],  # inside the three UTF-8 bytes of the euro sign
    trailing_newline=True,
)
def test_no_secret_survives_inside_a_line_longer_than_max_line(
    before: str, after: str, secret: str, max_line: int, cuts: list[int], trailing_newline: bool
) -> None:
    """Any text, any secret (non-ASCII included), any chunking."""
    _check_long_line(before, after, secret, max_line, cuts, trailing_newline)


@settings(max_examples=100, deadline=None)
@given(line=lines, max_line=st.integers(1, 24), chunk=st.integers(1, 32))
@example(line="x€y", max_line=1, chunk=1)
def test_a_long_line_is_passed_on_in_pieces_without_losing_text(
    line: str, max_line: int, chunk: int
) -> None:
    assume(line)
    blocks = _pipe_blocks(line.encode(), Redactor(), max_line=max_line, chunk=chunk)
    assert "".join(blocks) == line


def test_long_line_pieces_are_bounded_by_max_line() -> None:
    data = b"x" * 10_000 + b"\n"
    blocks = _pipe_blocks(data, Redactor(), max_line=1000, chunk=100)
    assert len(blocks) > 1
    assert "".join(blocks) == "x" * 10_000
    assert max(len(block) for block in blocks) <= 1000 + 100


def test_secret_split_across_reads_inside_a_long_line_is_scrubbed() -> None:
    redactor = Redactor(["hunter2-secret"])
    pieces = [b"A" * 30 + b"hunt", b"er2-s", b"ecret" + b"B" * 5 + b"\n"]
    blocks = _packet_blocks(pieces, redactor, max_line=10)
    assert "".join(blocks) == "A" * 30 + PLACEHOLDER + "B" * 5


def test_non_ascii_secret_split_inside_a_multi_byte_character_in_a_long_line() -> None:
    """A read that ends in the middle of a UTF-8 character of the secret must neither
    corrupt the text nor let the rest of the secret through."""
    secret = "pässwörd-€uro"
    redactor = Redactor([secret])
    data = ("A" * 30 + secret + "B" * 5 + "\n").encode()
    cut = data.index("€".encode()) + 1  # inside the three bytes of the euro sign
    blocks = _packet_blocks([data[:cut], data[cut:]], redactor, max_line=10)
    joined = "".join(blocks)
    assert "€uro" not in joined
    assert "uro" + "B" * 5 not in joined
    assert joined == "A" * 30 + PLACEHOLDER + "B" * 5


def test_a_multi_byte_character_split_inside_a_long_line_is_not_corrupted() -> None:
    data = ("x" * 20 + "€" + "y" * 20 + "\n").encode()
    cut = data.index("€".encode()) + 1
    blocks = _packet_blocks([data[:cut], data[cut:]], Redactor(), max_line=8)
    assert "".join(blocks) == "x" * 20 + "€" + "y" * 20


# --- render_machine_readable -------------------------------------------------------------


def test_render_machine_readable_shows_ui_text_and_drops_data_lines() -> None:
    block = "\n".join(
        [
            "1700000000,,ui,say,==> null.a: Running%!(PACKER_COMMA) please wait",
            "1700000000,null.a,artifact-count,1",
            "1700000000,null.a,artifact,0,id,Null",
            "1700000000,,ui,error,Build 'null.a' errored:\\nline two",
        ]
    )
    assert render_machine_readable(block.encode()) == (
        b"==> null.a: Running, please wait\nBuild 'null.a' errored:\nline two"
    )


def test_render_machine_readable_leaves_plain_text_alone() -> None:
    assert render_machine_readable(b"plain text without commas") == b"plain text without commas"


def test_render_machine_readable_of_only_data_lines_is_empty() -> None:
    assert render_machine_readable(b"1,null.a,artifact-count,1\n1,null.a,artifact,0,end") == b""


# --- Tail --------------------------------------------------------------------------------


def test_tail_keeps_everything_that_fits() -> None:
    tail = Tail(100)
    for block in (b"one", b"two\nthree"):
        tail.add(block)
    assert tail.text() == "one\ntwo\nthree\n"
    assert not tail.truncated


def test_tail_of_nothing_is_empty() -> None:
    assert Tail(10).text() == ""


def test_tail_drops_the_oldest_blocks_and_says_so() -> None:
    tail = Tail(20)
    for index in range(10):
        tail.add(f"line-{index}".encode())
    text = tail.text()
    assert tail.truncated
    assert text.endswith("line-9\n")
    assert "line-0" not in text
    assert len(text) <= 21


def test_tail_cuts_a_huge_single_block_to_the_limit() -> None:
    tail = Tail(10)
    tail.add(b"a" * 100 + b"END")
    text = tail.text()
    assert tail.truncated
    assert text.endswith("END\n")
    assert len(text) <= 11


@settings(deadline=None)
@given(st.lists(st.text(max_size=30), max_size=30), st.integers(1, 200))
def test_tail_is_a_suffix_of_the_stream_within_the_limit(blocks: list[str], limit: int) -> None:
    tail = Tail(limit)
    for block in blocks:
        tail.add(block.encode())
    joined = "\n".join(blocks)
    assume(joined)
    full = joined + "\n"
    text = tail.text()
    assert full.endswith(text)
    assert len(text) <= limit + 1
    if not tail.truncated:
        assert text == full
    if text != full:
        assert tail.truncated


@pytest.mark.parametrize("limit", [3, 5, 64])
def test_tail_always_ends_with_the_latest_output(limit: int) -> None:
    tail = Tail(limit)
    for index in range(50):
        tail.add(f"{index}".encode())
    assert tail.text().endswith("49\n")


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(0, 120), max_size=10))
def test_multi_line_secret_lines_never_survive_any_chunking(cuts: list[int]) -> None:
    secret = "-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA\n-----END KEY-----"
    redactor = Redactor([secret])
    data = f"key:\n{secret}\nafter\n".encode()
    blocks = _packet_blocks(_cut(data, cuts), redactor)
    text = _outside("\n".join(blocks))
    for line in secret.splitlines():
        assert line not in text
    assert text.endswith("after")


_MR_LINE = st.tuples(
    st.sampled_from(["1700000000", "1700000001", "1700000002"]),
    st.sampled_from(["", "null.a", "file.seed"]),
    st.sampled_from(["ui,say", "ui,message", "ui,error", "artifact", "artifact-count"]),
    st.sampled_from(["x", "a%!(PACKER_COMMA)b", "\\n==> y", "0,id,Null", "    null.a: hi"]),
).map(",".join)


def _render_by_regex_only(block: str) -> str:
    """The reference: drop data lines, strip every UI prefix, unescape."""
    kept = [line for line in block.split("\n") if line.split(",", 3)[2] == "ui"]
    text = "\n".join(line.split(",", 4)[4] for line in kept)
    return text.rstrip("\n").replace("%!(PACKER_COMMA)", ",").replace("\\n", "\n")


@settings(deadline=None, max_examples=300)
@given(st.lists(_MR_LINE, min_size=1, max_size=40))
def test_machine_readable_rendering_matches_the_line_by_line_reference(lines: list[str]) -> None:
    block = "\n".join(lines)
    assert render_machine_readable(block.encode()).decode() == _render_by_regex_only(block)


@settings(deadline=None, max_examples=300)
@given(st.lists(_MR_LINE, min_size=1, max_size=40))
def test_a_block_called_plain_holds_no_error_or_data_line(lines: list[str]) -> None:
    block = "\n".join(lines)
    _, plain = render_with_kind(block.encode())
    if plain:
        assert all(line.split(",")[2:4] in (["ui", "say"], ["ui", "message"]) for line in lines)


def test_unescape_ui_restores_line_breaks_and_commas() -> None:
    assert unescape_ui(b"a%!(PACKER_COMMA) b\\n\\nc") == b"a, b\n\nc"
    assert unescape_ui(b"plain text") == b"plain text"


def test_tail_cut_inside_a_character_starts_at_the_next_whole_one() -> None:
    tail = Tail(5)
    tail.add("ab€€".encode())  # 8 bytes; the last 5 start inside the first euro sign
    assert tail.text() == "€\n"


@settings(deadline=None, max_examples=300)
@given(
    lines=st.lists(_MR_LINE, min_size=1, max_size=20),
    secret=st.sampled_from(["a%!(PACKER_COMMA)b", "x\\n==> y", "hi", "Null", "%!(PACK", "n==>"]),
)
def test_escapes_told_by_the_scrubbing_pass_render_the_same(lines: list[str], secret: str) -> None:
    """Rendering searches only for the escapes the scrubbing pass says may be left;
    the text must be the same as when it searches for all."""
    redactor = Redactor([secret])
    escapes: set[bytes] = set()
    block = redactor.scrub_bytes("\n".join(lines).encode(), escapes=escapes)
    assert render_with_kind(block, escapes) == render_with_kind(block)
    for escape in (b"%!(PACKER_COMMA)", b"\\n"):
        if escape in block:
            assert escape in escapes
