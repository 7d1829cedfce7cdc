"""Options: validated on construction, frozen, and equal inputs give equal objects."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.run.options import (
    BuildOptions,
    FmtOptions,
    ValidateOptions,
    check_build_names,
    check_variable_names,
    freeze_vars,
)

INVALID_BUILD_NAMES = [
    "null.a,null.b",  # a comma would split into two selections
    "",
    "null.a\n",
    "null.\x1b[31ma",
]
# Packer builds may be named anything (`source "..." { name = "a b" }`); argv has no shell.
VALID_BUILD_NAMES = ["null.a b", "null.a ", "null.a/b", "..\\null", "null.a;rm", "null.semi?comma"]


@pytest.mark.parametrize("name", VALID_BUILD_NAMES)
def test_any_printable_name_without_a_comma_is_a_build_name(name: str) -> None:
    assert check_build_names([name], "--only") == (name,)


@pytest.mark.parametrize("name", INVALID_BUILD_NAMES)
def test_invalid_build_names_are_refused_as_configuration_errors(name: str) -> None:
    with pytest.raises(HybridcoreError) as caught:
        check_build_names([name], "--only")
    assert caught.value.exit_code == 1
    assert "--only" in caught.value.message
    assert caught.value.remediation


@pytest.mark.parametrize("name", INVALID_BUILD_NAMES)
def test_options_refuse_invalid_build_names_on_construction(name: str) -> None:
    for make in (BuildOptions, ValidateOptions):
        with pytest.raises(HybridcoreError) as caught:
            make(only=(name,))
        assert caught.value.exit_code == 1
        with pytest.raises(HybridcoreError) as caught:
            make(except_=(name,))
        assert caught.value.exit_code == 1
        assert "--except" in caught.value.message


@pytest.mark.parametrize(
    "name", ["null.vsphere", "vsphere-iso.ubuntu", "azure-arm.ubuntu_2204", "null.*", "*"]
)
def test_valid_build_names_pass(name: str) -> None:
    assert check_build_names([name], "--only") == (name,)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.from_regex(r"[a-z]{1,5}\.[a-z]{1,5}", fullmatch=True), max_size=8))
def test_check_build_names_sorts_and_deduplicates(names: list[str]) -> None:
    assert check_build_names(names, "--only") == tuple(sorted(set(names)))


def test_on_error_ask_is_refused() -> None:
    with pytest.raises(HybridcoreError) as caught:
        BuildOptions(on_error="ask")
    assert caught.value.exit_code == 1
    assert "ask" in caught.value.message


@pytest.mark.parametrize("value", ["Cleanup", "", "abort ", "prompt"])
def test_unknown_on_error_values_are_refused(value: str) -> None:
    with pytest.raises(HybridcoreError):
        BuildOptions(on_error=value)


def test_negative_parallel_builds_is_refused() -> None:
    with pytest.raises(HybridcoreError) as caught:
        BuildOptions(parallel_builds=-1)
    assert caught.value.exit_code == 1


@pytest.mark.parametrize("value", [0, 1, 8])
def test_non_negative_parallel_builds_are_accepted(value: int) -> None:
    assert BuildOptions(parallel_builds=value).parallel_builds == value


def test_freeze_vars_sorts_and_spells_booleans_as_hcl() -> None:
    frozen = freeze_vars({"zeta": 1, "alpha": True, "mid": False, "text": "x y"})
    assert frozen == (("alpha", "true"), ("mid", "false"), ("text", "x y"), ("zeta", "1"))


def test_freeze_vars_of_nothing_is_empty() -> None:
    assert freeze_vars(None) == ()
    assert freeze_vars({}) == ()


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,10}", fullmatch=True),
        st.text(max_size=10) | st.integers() | st.booleans(),
        max_size=6,
    )
)
def test_freeze_vars_is_independent_of_insertion_order(variables: dict[str, object]) -> None:
    reordered = dict(reversed(list(variables.items())))
    frozen = freeze_vars(variables)
    assert frozen == freeze_vars(reordered)
    assert [name for name, _ in frozen] == sorted(variables)


@pytest.mark.parametrize("name", ["1abc", "a b", "a=b", "a.b", "", "a/b", "-x", "name\n"])
def test_invalid_variable_names_are_refused(name: str) -> None:
    with pytest.raises(HybridcoreError) as caught:
        freeze_vars({name: "v"})
    assert caught.value.exit_code == 1
    with pytest.raises(HybridcoreError):
        check_variable_names([name])


def test_options_are_frozen() -> None:
    for options in (FmtOptions(), ValidateOptions(), BuildOptions()):
        field = dataclasses.fields(options)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(options, field, "changed")


def test_equal_inputs_give_equal_hashable_options() -> None:
    one = BuildOptions(vars=freeze_vars({"b": 1, "a": 2}), only=("null.a",))
    two = BuildOptions(vars=freeze_vars({"a": 2, "b": 1}), only=("null.a",))
    assert one == two
    assert hash(one) == hash(two)
