"""Hostile files handed to the tool: FIFOs, devices, directories, huge and deep files
end as a one-paragraph configuration error within a second, never a hang or a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.input_files import (
    MAX_NESTING,
    nesting_depth,
    read_input_text,
)
from hybridcore.packer.store.artifact_records import import_manifest
from hybridcore.packer.template.facts import read_template
from hybridcore.packer.template.secret_policy import check_stored_credentials

CLI = [sys.executable, "-m", "hybridcore.cli"]
TEMPLATE = """source "null" "a" { communicator = "none" }
build { sources = ["source.null.a"] }
"""


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [*CLI, "--workdir", "wd", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )
    return done.returncode, done.stderr, time.monotonic() - started


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "t.pkr.hcl").write_text(TEMPLATE)
    return tmp_path


def test_fifo_auto_var_file_is_refused_not_waited_on(project: Path) -> None:
    os.mkfifo(project / "x.auto.pkrvars.hcl")
    code, err, took = _cli("build", ".", cwd=project)
    assert code == 1
    assert "x.auto.pkrvars.hcl' is a FIFO (named pipe), not a regular file" in err
    assert "Traceback" not in err
    assert took < 5


def test_template_symlinked_to_dev_zero_is_refused(project: Path) -> None:
    (project / "z.pkr.hcl").symlink_to("/dev/zero")
    code, err, took = _cli("validate", ".", cwd=project)
    assert code == 1
    assert "z.pkr.hcl' is a character device, not a regular file" in err
    assert took < 5


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_var_file_that_is_not_a_file_names_what_it_is(project: Path, kind: str) -> None:
    target = project / "vars"
    target.mkdir() if kind == "directory" else os.mkfifo(target)
    code, err, _ = _cli("build", "--var-file", "vars", ".", cwd=project)
    assert code == 1
    assert "does not exist" not in err
    assert ("is a directory" if kind == "directory" else "is a FIFO") in err


def test_manifest_import_of_dev_zero_ends_at_once(tmp_path: Path) -> None:
    code, err, took = _cli("manifest", "import", "/dev/zero", cwd=tmp_path)
    assert code == 1
    assert "manifest file '/dev/zero' is a character device" in err
    assert took < 5


def test_template_over_the_size_cap_is_refused(project: Path) -> None:
    code, err, _ = _cli("validate", ".", cwd=project, env={"HYBRIDCORE_MAX_INPUT_BYTES": "10"})
    assert code == 1
    assert "is larger than 10 bytes" in err
    assert "HYBRIDCORE_MAX_INPUT_BYTES" in err


@pytest.mark.parametrize("command", ["validate", "build", "drift"])
def test_deeply_nested_template_is_a_clear_error(project: Path, command: str) -> None:
    deep = "[" * 5000 + "1" + "]" * 5000
    (project / "deep.pkr.hcl").write_text(f'variable "deep" {{\n  default = {deep}\n}}\n')
    code, err, took = _cli(command, ".", cwd=project)
    assert code == 1
    assert f"more than {MAX_NESTING} levels deep" in err
    assert "recursion" not in err
    assert took < 5


def test_absolute_path_in_inputs_list_is_an_input(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "extra.txt"
    outside.write_text("one")
    (project / "hybridcore.inputs").write_text(f"{outside}\n")
    code, err, _ = _cli("build", ".", cwd=project)
    assert code == 0, err
    outside.write_text("two")
    code, err, _ = _cli("drift", ".", cwd=project)
    assert code == 1
    assert "outside0/extra.txt" in err or str(outside) in err


def test_read_input_text_reads_a_regular_file_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.hcl"
    real.write_text("a = 1\n")
    (tmp_path / "link.hcl").symlink_to(real)
    assert read_input_text(tmp_path / "link.hcl", what="var file") == "a = 1\n"


def test_nesting_depth_counts_the_deepest_point() -> None:
    text = "x = " + "{" * (MAX_NESTING + 5) + "}" * (MAX_NESTING + 5) + " [1]"
    assert nesting_depth(text) == MAX_NESTING + 5
    assert nesting_depth("a = [[1], [2]]") == 0  # below the bound: not scanned


_HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from([*'{}[]()"=\n\\$#/*abc01 .,:<>%!\t\r', "é", "\x00"]),
    max_size=300,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_HOSTILE_TEXT)
def test_template_facts_never_raise_anything_but_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.pkr.hcl"
    path.write_text(text, encoding="utf-8")
    try:
        info = read_template(path)
    except HybridcoreError as error:
        assert error.exit_code == 1 and error.remediation
        return
    assert isinstance(info.builds, tuple | list)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_HOSTILE_TEXT, json_file=st.booleans())
def test_var_file_checks_never_raise_anything_but_a_clear_error(
    tmp_path: Path, text: str, json_file: bool
) -> None:
    path = tmp_path / ("fuzz.pkrvars.json" if json_file else "fuzz.pkrvars.hcl")
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    try:
        check_stored_credentials([], [path])
    except HybridcoreError as error:
        assert error.exit_code in (1, 3) and error.remediation


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=_JSON | st.fixed_dictionaries({"builds": st.lists(_JSON, max_size=3)}))
def test_manifest_import_never_raises_anything_but_a_clear_error(
    tmp_path: Path, data: object
) -> None:
    path = tmp_path / "packer-manifest.json"
    path.write_text(json.dumps(data))
    try:
        import_manifest(path)
    except HybridcoreError as error:
        assert error.exit_code == 1 and error.remediation
