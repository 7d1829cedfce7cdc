"""store/layout.py: the guide's table of workdir files as code, and injective file names."""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcore.packer.store.layout import CommandDir, Workdir, legacy_safe_name, safe_name
from tests.conftest import REPO

# what the guide writes for each argument of a `Workdir` or `CommandDir` method
_PLACEHOLDERS = {
    "build": "<build>",
    "run": "<run>",
    "command_id": "<command_id>",
    "attempt": "N",
    "stamp": "<stamp>",
    "state_file": Path("<file>"),
}


def _guide_paths() -> set[str]:
    guide = (REPO / "docs" / "guide.md").read_text(encoding="utf-8")
    section = guide.split("## 3. Files it writes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)`", section, flags=re.MULTILINE))


def _named(owner: object, root: Path) -> Iterator[str]:
    """Every path `owner`'s public attributes name, as the guide writes it."""
    for name, member in inspect.getmembers(type(owner)):
        if name.startswith("_") or name in ("root", "path", "own_dirs"):
            continue
        if isinstance(member, property):
            value = getattr(owner, name)
        elif inspect.isfunction(member):
            wanted = inspect.signature(member).parameters.values()
            args = [
                _PLACEHOLDERS[p.name] for p in wanted if p.name != "self" and p.default is p.empty
            ]
            value = member(owner, *args)
        else:
            continue
        if isinstance(value, CommandDir):
            yield f"{unquote(value.path.relative_to(root).as_posix())}/"
            yield from _named(value, root)
        else:
            shown = unquote(value.relative_to(root).as_posix())
            yield f"{shown}/" if name.endswith("_dir") else shown


def test_the_guides_table_and_the_layout_name_the_same_paths() -> None:
    root = Path("/wd")
    named = list(_named(Workdir(root), root))
    assert len(named) == len(set(named)), "two attributes name one path"
    assert set(named) == _guide_paths()


def test_the_directories_the_boundary_checks_are_the_layouts(tmp_path: Path) -> None:
    layout = Workdir(tmp_path)
    assert all(path.is_relative_to(tmp_path) for path in layout.own_dirs())
    assert {layout.artifacts_dir, layout.logs_dir, layout.state_dir} <= set(layout.own_dirs())


# --- safe_name -----------------------------------------------------------------------------


@settings(deadline=None)
@given(st.text())
def test_safe_name_is_always_one_harmless_path_component(name: str) -> None:
    cleaned = safe_name(name)
    assert cleaned
    assert cleaned not in {".", ".."}
    assert "/" not in cleaned
    assert "\\" not in cleaned
    assert os.sep not in cleaned
    assert "\0" not in cleaned
    assert len(cleaned) <= 120
    base = Path("/logs/packer/cmd")
    assert (base / cleaned).parent == base
    assert Path(cleaned).name == cleaned


@settings(deadline=None)
@given(st.text(), st.text())
def test_safe_name_is_deterministic_and_injective(name: str, other: str) -> None:
    """Two builds never share a file (it used to be idempotent and lossy instead)."""
    assert safe_name(name) == safe_name(name)
    if name != other:
        assert safe_name(name) != safe_name(other)


@pytest.mark.parametrize(
    "name", [".", "..", "../..", "/", "a/../../b", "..\\x", "", " ", "\0", "./."]
)
def test_safe_name_of_path_tricks(name: str) -> None:
    cleaned = safe_name(name)
    assert cleaned not in {".", "..", ""}
    assert "/" not in cleaned and "\\" not in cleaned


@pytest.mark.parametrize("name", ["null.vsphere", "vsphere-iso.ubuntu", "azure-arm.ubuntu_2204"])
def test_safe_name_keeps_ordinary_build_names(name: str) -> None:
    assert safe_name(name) == name


def test_safe_name_is_injective_for_names_that_used_to_collide() -> None:
    names = ["a b", "a_b", "a/b", "a%20b", "semi,comma", ".", "..", ".x", "", "ünï", "a" * 300]
    files = [safe_name(name) for name in names]
    assert len(set(files)) == len(names)
    for file in files:
        assert "/" not in file and file not in {".", ".."} and not file.startswith(".")
        assert len(file) <= 120
    assert safe_name("null.vsphere") == "null.vsphere"  # plain names keep their files


def test_records_under_a_legacy_name_are_still_read(tmp_path: Path) -> None:
    from hybridcore.packer.store.artifact_records import ArtifactRegistry

    legacy = tmp_path / "artifacts" / f"{legacy_safe_name('null.a b')}.json"
    legacy.parent.mkdir()
    legacy.write_text('{"schema_version": "1.0", "build": "null.a_b", "records": []}')
    registry = ArtifactRegistry(tmp_path)
    assert registry.load("null.a b") == []  # the legacy file holds another build's records
    assert registry.path_for("null.a b").name == "null.a%20b.json"
