"""argv mapping: pure functions from options to Packer argv, tested without running anything."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcore.packer.run.argv import build_argv, fmt_argv, validate_argv
from hybridcore.packer.run.options import BuildOptions, FmtOptions, ValidateOptions, freeze_vars
from hybridcore.packer.run.version import PackerBinary

P16 = PackerBinary("/opt/packer-1.6/packer", (1, 6, 6))
P17 = PackerBinary("/opt/packer-1.7/packer", (1, 7, 0))
P111 = PackerBinary("/opt/packer-1.11/packer", (1, 11, 2))

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
values = st.text(max_size=20)
variables = st.dictionaries(names, values | st.booleans(), max_size=6)
build_names = st.from_regex(r"[a-z][a-z0-9-]{0,8}\.[a-z0-9_*]{1,8}", fullmatch=True)


def _pairs(argv: list[str]) -> list[str]:
    """The NAME=VALUE tokens that follow each -var flag."""
    return [argv[i + 1] for i, token in enumerate(argv) if token == "-var"]


def _flag(argv: list[str], prefix: str) -> list[str]:
    return [token for token in argv if token.startswith(prefix)]


# --- determinism ------------------------------------------------------------------------


@settings(deadline=None)
@given(variables, st.lists(st.text(min_size=1, max_size=10), max_size=4), st.booleans())
def test_equal_build_options_give_byte_identical_argv(
    vars_: dict[str, object], var_files: list[str], force: bool
) -> None:
    # Two option objects built from differently ordered inputs but equal contents.
    first = BuildOptions(vars=freeze_vars(vars_), var_files=tuple(var_files), force=force)
    reordered = dict(reversed(list(vars_.items())))
    second = BuildOptions(vars=freeze_vars(reordered), var_files=tuple(var_files), force=force)
    assert first == second
    one, two = build_argv(P16, first, "t.pkr.hcl"), build_argv(P16, second, "t.pkr.hcl")
    assert one == two
    assert "\0".join(one).encode() == "\0".join(two).encode()


@settings(deadline=None)
@given(variables)
def test_validate_argv_is_deterministic(vars_: dict[str, object]) -> None:
    options = ValidateOptions(vars=freeze_vars(vars_))
    assert validate_argv(P17, options, "dir") == validate_argv(P17, options, "dir")


@settings(deadline=None)
@given(variables)
def test_vars_are_sorted_by_name_one_token_per_element(vars_: dict[str, object]) -> None:
    argv = build_argv(P16, BuildOptions(vars=freeze_vars(vars_)), "t.pkr.hcl")
    pairs = _pairs(argv)
    assert [pair.partition("=")[0] for pair in pairs] == sorted(vars_)
    for pair in pairs:
        name, _, value = pair.partition("=")
        expected = vars_[name]
        if isinstance(expected, bool):
            assert value == ("true" if expected else "false")
        else:
            assert value == expected
    assert argv.count("-var") == len(vars_)


def test_var_values_are_not_shell_quoted() -> None:
    options = BuildOptions(vars=freeze_vars({"motd": "it's a 'quoted' $HOME; rm -rf /"}))
    argv = build_argv(P16, options, "t.pkr.hcl")
    assert _pairs(argv) == ["motd=it's a 'quoted' $HOME; rm -rf /"]


@settings(deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6))
def test_var_file_order_is_preserved(files: list[str]) -> None:
    build = build_argv(P16, BuildOptions(var_files=tuple(files)), "t")
    validate = validate_argv(P16, ValidateOptions(var_files=tuple(files)), "t")
    expected = [f"-var-file={path}" for path in files]
    assert _flag(build, "-var-file=") == expected
    assert _flag(validate, "-var-file=") == expected


def test_var_files_come_before_vars_so_command_line_vars_win() -> None:
    options = BuildOptions(vars=(("a", "1"),), var_files=("x.pkrvars.hcl",))
    argv = build_argv(P16, options, "t")
    assert argv.index("-var-file=x.pkrvars.hcl") < argv.index("-var")


@settings(deadline=None)
@given(st.lists(build_names, min_size=1, max_size=6), st.lists(build_names, max_size=6))
def test_only_and_except_are_sorted_and_deduplicated(only: list[str], except_: list[str]) -> None:
    for make, mapper in ((BuildOptions, build_argv), (ValidateOptions, validate_argv)):
        argv = mapper(P16, make(only=tuple(only), except_=tuple(except_)), "t")
        (only_flag,) = _flag(argv, "-only=")
        assert only_flag.removeprefix("-only=").split(",") == sorted(set(only))
        if except_:
            (except_flag,) = _flag(argv, "-except=")
            assert except_flag.removeprefix("-except=").split(",") == sorted(set(except_))
        else:
            assert _flag(argv, "-except") == []


# --- build ------------------------------------------------------------------------------


def test_build_defaults() -> None:
    argv = build_argv(P16, BuildOptions(), "hybrid")
    assert argv[:2] == [P16.path, "build"]
    assert argv[-1] == "hybrid"
    assert "-color=false" in argv
    assert "-machine-readable" in argv
    assert "-on-error=cleanup" in argv
    assert "-force" not in argv
    assert _flag(argv, "-parallel-builds") == []
    assert _flag(argv, "-only") == [] and _flag(argv, "-except") == []


def test_build_force_parallel_on_error() -> None:
    options = BuildOptions(force=True, parallel_builds=3, on_error="abort")
    argv = build_argv(P16, options, "t")
    assert "-force" in argv
    assert "-parallel-builds=3" in argv
    assert "-on-error=abort" in argv
    assert "-on-error=cleanup" not in argv


def test_parallel_builds_zero_means_no_limit_and_is_passed() -> None:
    assert "-parallel-builds=0" in build_argv(P16, BuildOptions(parallel_builds=0), "t")


@pytest.mark.parametrize("on_error", ["cleanup", "abort", "run-cleanup-provisioner"])
def test_each_supported_on_error_value_is_passed(on_error: str) -> None:
    argv = build_argv(P16, BuildOptions(on_error=on_error), "t")
    assert _flag(argv, "-on-error") == [f"-on-error={on_error}"]


def test_machine_readable_can_be_switched_off() -> None:
    assert "-machine-readable" not in build_argv(P16, BuildOptions(machine_readable=False), "t")


def test_flags_precede_the_target() -> None:
    options = BuildOptions(vars=(("a", "b"),), var_files=("f",), only=("null.a",), force=True)
    argv = build_argv(P16, options, "the-target")
    assert argv[-1] == "the-target"
    assert argv.count("the-target") == 1


# --- validate ---------------------------------------------------------------------------


def test_validate_syntax_only() -> None:
    assert "-syntax-only" in validate_argv(P16, ValidateOptions(syntax_only=True), "t")
    assert "-syntax-only" not in validate_argv(P16, ValidateOptions(), "t")


def test_validate_never_gets_build_only_flags() -> None:
    argv = validate_argv(P16, ValidateOptions(vars=(("a", "1"),)), "t")
    assert argv[:2] == [P16.path, "validate"]
    for flag in ("-force", "-machine-readable", "-on-error", "-parallel-builds", "-color"):
        assert _flag(argv, flag) == []


# --- fmt --------------------------------------------------------------------------------


def test_fmt_plain() -> None:
    assert fmt_argv(P16, FmtOptions(), "dir") == [P16.path, "fmt", "dir"]


def test_fmt_check_and_diff() -> None:
    argv = fmt_argv(P16, FmtOptions(check=True, diff=True), "dir")
    assert {"-check", "-diff"} <= set(argv)
    assert argv[-1] == "dir"


def test_fmt_write_false() -> None:
    assert "-write=false" in fmt_argv(P16, FmtOptions(write=False), "dir")
    assert "-write=false" not in fmt_argv(P16, FmtOptions(), "dir")


@pytest.mark.parametrize("packer", [P17, P111])
def test_fmt_recursive_is_passed_on_packer_1_7_and_later(packer: PackerBinary) -> None:
    assert "-recursive" in fmt_argv(packer, FmtOptions(recursive=True), "dir")


def test_fmt_recursive_is_not_passed_on_packer_1_6() -> None:
    argv = fmt_argv(P16, FmtOptions(recursive=True), "dir")
    assert "-recursive" not in argv
    assert argv == fmt_argv(P16, FmtOptions(), "dir")


def test_fmt_without_recursive_never_passes_the_flag() -> None:
    assert "-recursive" not in fmt_argv(P111, FmtOptions(), "dir")


def test_argv_uses_the_binary_path_it_was_given() -> None:
    other = PackerBinary("/somewhere/else/packer", (1, 6, 6))
    assert fmt_argv(other, FmtOptions(), "x")[0] == "/somewhere/else/packer"
    assert build_argv(other, BuildOptions(), "x")[0] == "/somewhere/else/packer"
    assert validate_argv(other, ValidateOptions(), "x")[0] == "/somewhere/else/packer"
