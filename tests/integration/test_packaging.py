"""The package installs like a package: ``python -m build`` gives an sdist and a wheel, and
the wheel, installed with pipx into a clean environment, runs with no checkout around it.

``python -m build`` builds the wheel *from the sdist*, so a wheel that works also proves the
sdist holds everything the build needs. Build dependencies and the package's dependencies
come from PyPI (pip's cache makes a second run fast).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import jsonschema
import pytest

from hybridcore import __version__
from tests.conftest import EXAMPLE, REPO
from tests.integration.repo_tree import SHIPPED_DIRS, SHIPPED_FILES, copy_tree

pytestmark = pytest.mark.integration


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would let the installed tool see the
    checkout or this test's virtual environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("PIPX_")
    }
    return {**env, **extra}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built from a copy of the source tree."""
    root = tmp_path_factory.mktemp("packaging")
    source = copy_tree(root / "source")
    out = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        env=_clean_env(),
    )
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"source": source, "sdist": sdist, "wheel": wheel}


def test_the_wheel_carries_the_schemas_and_the_typing_markers(dist: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    for member in (
        "hybridcore/py.typed",
        "hybridcore/packer/py.typed",
        "hybridcore/packer/schemas/result.schema.json",
        "hybridcore/packer/schemas/artifact-record.schema.json",
    ):
        assert member in names
    entry_points = zipfile.ZipFile(dist["wheel"]).read(
        f"hybridcore_packer-{__version__}.dist-info/entry_points.txt"
    )
    assert b"hybridcore-packer = hybridcore.cli:entry" in entry_points
    assert not any(name.startswith("tests/") for name in names)


def test_the_sdist_carries_the_sources_and_what_the_tests_read(dist: dict[str, Path]) -> None:
    prefix = f"hybridcore_packer-{__version__}/"
    with tarfile.open(dist["sdist"]) as sdist:
        members = {name.removeprefix(prefix) for name in sdist.getnames()}
    assert "PKG-INFO" in members
    source = dist["source"]
    for name in SHIPPED_FILES:
        assert name in members or not (source / name).exists(), name
    for directory in SHIPPED_DIRS:
        for path in (source / directory).rglob("*"):
            if path.is_file():
                assert path.relative_to(source).as_posix() in members
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in members)


def test_pipx_installs_the_wheel_and_it_runs_without_a_checkout(
    dist: dict[str, Path], tmp_path: Path
) -> None:
    pipx_env = _clean_env(
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(tmp_path / "bin"),
        PIPX_MAN_DIR=str(tmp_path / "man"),
    )
    subprocess.run(
        [sys.executable, "-m", "pipx", "install", str(dist["wheel"])],
        check=True,
        capture_output=True,
        env=pipx_env,
    )
    tool = tmp_path / "bin" / "hybridcore-packer"
    work = tmp_path / "elsewhere"
    shutil.copytree(EXAMPLE, work / "hybrid", ignore=shutil.ignore_patterns("out", "*.json"))
    env = _clean_env()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(tool), *args], cwd=work, env=env, capture_output=True, text=True, timeout=60
        )

    version = run("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"hybridcore-packer {__version__}")

    # the package imported is the installed one, not the checkout
    python = next((tmp_path / "pipx" / "venvs").glob("*/bin/python"))
    where = subprocess.run(
        [str(python), "-c", "import hybridcore; print(hybridcore.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(tmp_path / "pipx")), where
    assert not where.startswith(str(REPO))

    schema = run("schema", "result")
    assert schema.returncode == 0, schema.stderr
    shipped = REPO / "src" / "hybridcore" / "packer" / "schemas" / "result.schema.json"
    assert json.loads(schema.stdout) == json.loads(shipped.read_text())

    validated = run(
        "--workdir", "wd", "--json", "validate", "--var-file", "hybrid/ci.pkrvars.hcl", "hybrid"
    )
    assert validated.returncode == 0, validated.stderr
    result = json.loads(validated.stdout)
    jsonschema.validate(result, json.loads(schema.stdout))
    assert (result["command"], result["packer_exit_code"]) == ("validate", 0)
