"""Hostile secrets through real Packer: every encoding a provisioner prints, the
manifest's jsonencode(), inherited CI credentials; no form survives anywhere, and
every JSON file stays valid and correctly named whatever the secret."""

from __future__ import annotations

import base64
import html
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.conftest import write_template

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "hybridcore.cli"]
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAq7BFUZK\n"
    "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0\n"
    "-----END PRIVATE KEY-----"
)
HOSTILE = {
    "S_COMMA": "hunter2,Sup3r,val",
    "S_QUOTES": "q'u\"o`te$x-q1",
    "S_BACKSLASH": "back\\slash\\p4th",
    "S_TABS": "tab\tsep\tvalue9",
    "S_CR": "carriage-ret-s3cret\r",
    "S_UNICODE": "Grüße-Ünïcødé-pw",
    "S_EMOJI": "emoji🔑-secret-42",
    "S_MULTI": "line-one-s3cret\nline-two-s3cret",
    "S_PEM": PEM,
}
INHERITED = {"GITHUB_TOKEN": "ghp_Inherited0123456789abcdefXYZ"}

# Prints each value, named on the command line, in every family, as a program would.
PRINTER = r"""
import base64, html, json, os, shlex, sys
from urllib.parse import quote, quote_plus
for name in sys.argv[1:]:
    v = os.environ[name]
    b = v.encode()
    forms = [
        v, json.dumps(v), json.dumps(v, ensure_ascii=False), json.dumps(json.dumps(v)),
        json.dumps({"k": v}).replace("<", "\\u003c").replace(">", "\\u003e"),
        v.encode("unicode_escape").decode(), repr(v), shlex.quote(v),
        "'" + v.replace("'", "''") + "'",
        '"' + v.replace("`", "``").replace('"', '`"').replace("$", "`$") + '"',
        quote(v, safe=""), quote_plus(v), html.escape(v),
        base64.b64encode(b).decode(), base64.urlsafe_b64encode(b).decode().rstrip("="),
        base64.b64encode(b"user:" + b).decode(), base64.b64encode(b"ab:" + b + b"@h").decode(),
        b.hex(), b.hex().upper(),
    ]
    for form in forms:
        print(name + "=" + form)
print("MATRIX-DONE")
"""
SHELL_PRINTER = """#!/bin/bash
printf '%q\\n' "$S_QUOTES" "$S_TABS" "$S_UNICODE" "$S_BACKSLASH" "$S_COMMA" "$S_EMOJI"
echo $S_TABS
echo "$S_CR"
echo $S_MULTI
env
"""


def _template(directory: Path, printer: Path) -> Path:
    names = " ".join([*HOSTILE, *INHERITED])
    return write_template(
        directory,
        f"""
        variable "tok" {{
          type      = string
          default   = env("S_COMMA")
          sensitive = true
        }}
        source "null" "matrix" {{
          communicator = "none"
        }}
        build {{
          sources = ["source.null.matrix"]
          provisioner "shell-local" {{
            inline = ["python3 {printer} {names}", "bash {printer.with_suffix(".sh")}"]
          }}
          post-processor "manifest" {{
            output     = "{directory}/packer-manifest.json"
            custom_data = {{
              blob  = jsonencode({{ tok = var.tok, nested = jsonencode(var.tok) }})
              plain = var.tok
            }}
          }}
        }}
        """,
    )


def _bash_printf_q(value: str) -> str:
    done = subprocess.run(
        ["bash", "-c", 'printf "%q" "$1"', "_", value], capture_output=True, check=True
    )
    return done.stdout.decode()


def _forms(value: str) -> set[str]:
    """What must not survive: independent encodings of `value`, each as printed and
    as Packer's -machine-readable lines carry it."""
    data = value.encode()
    found = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(json.dumps(value))[1:-1],
        value.encode("unicode_escape").decode(),
        repr(value)[1:-1],
        shlex.quote(value),
        quote(value, safe=""),
        quote_plus(value),
        html.escape(value),
        base64.b64encode(data).decode(),
        base64.urlsafe_b64encode(data).decode().rstrip("="),
        data.hex(),
        data.hex().upper(),
        _bash_printf_q(value),
        " ".join(value.split()),
        value.strip(),
    }
    found |= {line.strip() for line in value.splitlines() if len(line.strip()) >= 4}
    found |= {f.replace(",", "%!(PACKER_COMMA)").replace("\n", "\\n") for f in found}
    return {form for form in found if len(form) >= 4}


def _leaks(text: str, values: dict[str, str]) -> list[str]:
    return [
        f"{name}: {form!r}"
        for name, value in values.items()
        for form in sorted(_forms(value))
        if form in text
    ]


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR of this test alone, short: Packer's plugin sockets live there (108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="hcm-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(tmp: Path, secrets: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **secrets, "TMPDIR": str(tmp)}


def test_no_form_of_any_hostile_secret_survives_anywhere(tmp_path: Path, short_tmp: Path) -> None:
    printer = tmp_path / "printer.py"
    printer.write_text(PRINTER)
    printer.with_suffix(".sh").write_text(SHELL_PRINTER)
    _template(tmp_path / "t", printer)
    env = _env(short_tmp, {**HOSTILE, **INHERITED})
    args = [f"--secret-env={name}" for name in HOSTILE]
    log_json = tmp_path / "log.jsonl"
    built = _cli(
        "--workdir", "wd", "--log-json", str(log_json), "--json", "build", *args, "t",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    result = json.loads(built.stdout)
    assert result["inherited_secrets"] == ["GITHUB_TOKEN"]
    assert sorted(result["secrets"]) == sorted(HOSTILE)
    workdir = tmp_path / "wd"
    log_text = (next(workdir.rglob("hybridcore.log"))).read_text()
    assert "MATRIX-DONE" in log_text and log_text.count("<sensitive>") > 150

    bundle = tmp_path / "diag.tar.gz"
    diag = _cli("--workdir", "wd", "diag", "--output", str(bundle), cwd=tmp_path, env=env)
    assert diag.returncode == 0, diag.stderr
    extracted = tmp_path / "bundle"
    with tarfile.open(bundle) as tar:
        tar.extractall(extracted, filter="data")

    secrets = {**HOSTILE, **INHERITED}
    texts = {"stdout": built.stdout, "stderr": built.stderr, "diag stderr": diag.stderr}
    for path in [*_all_files(workdir), log_json, *_all_files(extracted)]:
        texts[str(path)] = path.read_bytes().decode("utf-8", errors="backslashreplace")
    leaks = {where: found for where, text in texts.items() if (found := _leaks(text, secrets))}
    assert leaks == {}
    for path in [*workdir.rglob("*.json"), *extracted.rglob("*.json")]:
        json.loads(path.read_text())  # every JSON file the tool writes stays valid
    record = json.loads((workdir / "artifacts" / "null.matrix.json").read_text())
    assert record["build"] == "null.matrix"
    custom = record["records"][-1]["custom_data"]
    assert json.loads(custom["blob"])["tok"] == "<sensitive>"
    assert custom["plain"] == "<sensitive>"


@pytest.mark.parametrize("value", ["null", "0", "matrix", "sensitive"])
def test_a_weak_declared_secret_is_refused_and_every_file_stays_valid(
    tmp_path: Path, short_tmp: Path, value: str
) -> None:
    printer = tmp_path / "printer.py"
    printer.write_text(PRINTER)
    printer.with_suffix(".sh").write_text(SHELL_PRINTER)
    _template(tmp_path / "t", printer)
    env = _env(short_tmp, {"S_COMMA": value})
    built = _cli("--workdir", "wd", "--json", "build", "--secret-env", "S_COMMA", "t",
                 cwd=tmp_path, env=env)  # fmt: skip
    assert built.returncode == 3, built.stderr
    result = json.loads(built.stdout)
    assert (result["rule"], result["weak_secrets"]) == ("weak_secret", ["S_COMMA"])
    assert "S_COMMA" in built.stderr
    assert "`sensitive = true`" in result["remediation"]  # the refusal is not masked
    for path in (tmp_path / "wd").rglob("*.json"):
        json.loads(path.read_text())
    assert not (tmp_path / "wd" / "artifacts").exists()  # refused before Packer started


def test_a_weak_inherited_credential_warns_and_records_keep_their_names(
    tmp_path: Path, short_tmp: Path
) -> None:
    write_template(
        tmp_path / "t",
        """
        source "null" "matrix" {
          communicator = "none"
        }
        build {
          sources = ["source.null.matrix"]
          provisioner "shell-local" {
            inline = ["echo null matrix true"]
          }
        }
        """,
    )
    env = _env(short_tmp, {"DEPLOY_TOKEN": "null", "GITHUB_TOKEN": "ghp_Str0ng-token-value"})
    built = _cli("--workdir", "wd", "--json", "build", "t", cwd=tmp_path, env=env)
    assert built.returncode == 0, built.stderr
    result = json.loads(built.stdout)
    assert result["weak_secrets"] == ["DEPLOY_TOKEN"]
    assert result["inherited_secrets"] == ["GITHUB_TOKEN"]
    assert "DEPLOY_TOKEN" in built.stderr and "NOT redacted" in built.stderr
    record = json.loads((tmp_path / "wd" / "artifacts" / "null.matrix.json").read_text())
    assert record["build"] == "null.matrix"
    for path in (tmp_path / "wd").rglob("*.json"):
        json.loads(path.read_text())


def test_env_allow_keeps_ci_tokens_from_packer_and_still_redacts_them(
    tmp_path: Path, short_tmp: Path
) -> None:
    write_template(
        tmp_path / "t",
        """
        source "null" "matrix" {
          communicator = "none"
        }
        build {
          sources = ["source.null.matrix"]
          provisioner "shell-local" {
            inline = [
              "env | sort",
              "echo \\"allowed=$KEEP_ME\\" \\"token=$${GITHUB_TOKEN:-none}\\"",
            ]
          }
        }
        """,
    )
    env = _env(short_tmp, {"GITHUB_TOKEN": "ghp_NotForPacker0123", "KEEP_ME": "visible-value"})
    built = _cli("--workdir", "wd", "build", "--env-allow", "KEEP_ME", "t", cwd=tmp_path, env=env)
    assert built.returncode == 0, built.stderr
    assert "allowed=visible-value" in built.stderr
    assert "token=none" in built.stderr
    assert "ghp_NotForPacker0123" not in built.stderr
