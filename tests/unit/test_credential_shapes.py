"""Credential shapes are scrubbed even when nobody registered them as secrets."""

from __future__ import annotations

from collections import Counter

import pytest

from hybridcore.redaction.credential_shapes import find_shapes, scrub_shapes

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
    "-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("text", "rule", "kept"),
    [
        (f"key:\n{PEM}\nafter", "private_key", "after"),
        ("id AKIAIOSFODNN7EXAMPLE used", "aws_access_key_id", "used"),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc",
            "bearer_token",
            "Authorization: Bearer",
        ),
        (
            "AccountName=a;AccountKey=abc123+/==;EndpointSuffix=x",
            "connection_string_secret",
            "AccountKey=",
        ),
        ("https://a.blob/c?sv=2020&sig=AbC%2Bdef&se=1", "connection_string_secret", "&se=1"),
        ("get https://mirror:p%40ss-w0rd@iso.example/x.iso", "url_password", "@iso.example/x.iso"),
        ("postgresql://reader:Secr3t@db:5432/registry", "url_password", "postgresql://reader:"),
        ("token ghp_" + "a1B2" * 9 + " used", "github_token", " used"),
        ("pat github_pat_" + "11ABCDEFG0" * 3 + "_xyz ok", "github_token", " ok"),
        ("CI_TOKEN=glpat-" + "xY9-" * 5 + " ok", "gitlab_token", " ok"),
        ("slack xoxb-123456789012-abcdefABCDEF ok", "slack_token", " ok"),
        ("key=AIza" + "Sy0123456789_abcdefghij-ABCDEFGHIJK" + " ok", "google_api_key", " ok"),
    ],
)
def test_each_shape_is_scrubbed_and_counted(text: str, rule: str, kept: str) -> None:
    counts: Counter[str] = Counter()
    scrubbed = scrub_shapes(text, counts)
    assert counts == Counter({rule: 1})
    assert "<sensitive>" in scrubbed and kept in scrubbed
    assert find_shapes(scrubbed) == []
    assert find_shapes(text) == [rule]


def test_a_key_cut_by_a_read_is_scrubbed_on_both_sides() -> None:
    head, tail = (
        PEM.split("\n", 1)[0] + "\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo",
        PEM.split("\n", 2)[2],
    )
    first = scrub_shapes(head)
    second = scrub_shapes("MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n" + tail + "\nnext line")
    assert "MIIE" not in first and "MIIE" not in second
    assert second.endswith("next line")


def test_placeholders_and_plain_text_are_left_alone() -> None:
    text = "Bearer <sensitive> AccountKey=<sensitive>; the key is in the vault; AKIA is a prefix"
    assert scrub_shapes(text) == text
    urls = "https://user:<sensitive>@host ssh://git@github.com http://[::1]:8080/x ghp_short"
    assert scrub_shapes(urls) == urls
