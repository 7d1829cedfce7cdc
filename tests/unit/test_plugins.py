"""The plugin directory: version constraints, installations, installing from a mirror,
required_plugins, and the init classification rules."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.run.argv import init_argv
from hybridcore.packer.run.classify import classify
from hybridcore.packer.run.version import PackerBinary
from hybridcore.packer.store.plugins import (
    PluginRequirement,
    install_from_mirror,
    installations,
    satisfies,
)
from hybridcore.packer.template.required_plugins import required_plugins

QEMU = PluginRequirement("qemu", "github.com/hashicorp/qemu", "~> 1.0.9")


@pytest.mark.parametrize(
    ("version", "constraint", "expected"),
    [
        ("1.0.9", "", True),
        ("1.0.9", "1.0.9", True),
        ("1.0.9", "= 1.0.9", True),
        ("v1.0.9", ">= 1.0.9", True),
        ("1.0.8", ">= 1.0.9", False),
        ("1.1.0", ">= 1.0, < 1.1", False),
        ("1.0.12", ">= 1.0, < 1.1", True),
        ("1.0.12", "~> 1.0.9", True),
        ("1.1.0", "~> 1.0.9", False),
        ("1.9.0", "~> 1.2", True),
        ("2.0.0", "~> 1.2", False),
        ("1.2.3", "!= 1.2.3", False),
        ("1.2.4", "> 1.2.3, <= 1.3", True),
    ],
)
def test_hashicorp_version_constraints(version: str, constraint: str, expected: bool) -> None:
    assert satisfies(version, constraint) is expected


def _plugin(root: Path, version: str, *, good_sum: bool = True) -> Path:
    folder = root / "github.com" / "hashicorp" / "qemu"
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / f"packer-plugin-qemu_v{version}_x5.0_linux_amd64"
    binary.write_bytes(f"plugin {version}".encode())
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    Path(f"{binary}_SHA256SUM").write_text(digest if good_sum else "0" * 64)
    return binary


def test_installations_need_a_matching_checksum_file_and_the_constraint(tmp_path: Path) -> None:
    _plugin(tmp_path, "1.0.9")
    _plugin(tmp_path, "1.0.10", good_sum=False)
    _plugin(tmp_path, "1.1.0")
    found = installations([tmp_path], QEMU)
    assert [item.version for item in found] == ["1.0.9"]


def test_install_from_mirror_takes_the_highest_match_once(tmp_path: Path) -> None:
    mirror, plugins = tmp_path / "mirror", tmp_path / "plugins"
    _plugin(mirror, "1.0.9")
    _plugin(mirror, "1.0.11")
    installed, copied = install_from_mirror(QEMU, mirror, plugins)
    assert (installed.version, copied) == ("1.0.11", True)
    assert installations([plugins], QEMU)[0].path == installed.path
    again, copied_again = install_from_mirror(QEMU, mirror, plugins)
    assert (again, copied_again) == (installed, False)


def test_a_mirror_binary_that_does_not_match_its_checksum_is_security(tmp_path: Path) -> None:
    _plugin(tmp_path / "mirror", "1.0.9", good_sum=False)
    with pytest.raises(HybridcoreError) as caught:
        install_from_mirror(QEMU, tmp_path / "mirror", tmp_path / "plugins")
    assert (caught.value.exit_code, caught.value.rule) == (3, "plugin_checksum_mismatch")
    assert not (tmp_path / "plugins").exists()


def test_no_mirror_entry_meeting_the_constraint_is_config(tmp_path: Path) -> None:
    _plugin(tmp_path / "mirror", "1.2.0")
    with pytest.raises(HybridcoreError) as caught:
        install_from_mirror(QEMU, tmp_path / "mirror", tmp_path / "plugins")
    assert (caught.value.exit_code, caught.value.rule) == (1, "plugin_not_in_mirror")


def test_required_plugins_are_read_from_the_packer_block(tmp_path: Path) -> None:
    (tmp_path / "a.pkr.hcl").write_text(
        "packer {\n  required_plugins {\n"
        '    qemu = {\n      version = "~> 1.0.9"\n'
        '      source = "github.com/hashicorp/qemu"\n    }\n'
        '    docker = {\n      source = "github.com/hashicorp/docker"\n    }\n'
        "  }\n}\n"
    )
    (tmp_path / "b.pkr.hcl").write_text("this is { not hcl")
    assert required_plugins([tmp_path]) == [
        PluginRequirement("docker", "github.com/hashicorp/docker", ""),
        QEMU,
    ]
    assert QEMU.parts == ("github.com", "hashicorp", "qemu")


def test_init_argv() -> None:
    packer = PackerBinary("/p/packer", (1, 9, 5))
    assert init_argv(packer, "t") == ["/p/packer", "init", "t"]
    assert init_argv(packer, "t", upgrade=True) == ["/p/packer", "init", "-upgrade", "t"]


@pytest.mark.parametrize(
    ("text", "rule", "code"),
    [
        (
            'Failed getting the "github.com/hashicorp/qemu" plugin:\n1 error occurred:\n'
            '\t* Get "https://api.github.com/repos/hashicorp/packer-plugin-qemu/git/matching-refs'
            '/tags": dial tcp: lookup api.github.com: no such host',
            "plugin_download",
            2,
        ),
        (
            'Failed getting the "github.com/hashicorp/qemu" plugin:\n* GET https://api.github.com'
            "/repos/hashicorp/packer-plugin-qemu/git/matching-refs/tags: 403 API rate limit "
            "exceeded for 203.0.113.7.",
            "plugin_rate_limited",
            2,
        ),
        (
            'no release version found for the "github.com/hashicorp/qemu" plugin matching the '
            'constraint(s): ">= 9.0"',
            "plugin_version_unmet",
            1,
        ),
        ("Error: checksums did not match for packer-plugin-qemu", "plugin_checksum_mismatch", 3),
    ],
)
def test_init_failures_are_classified(text: str, rule: str, code: int) -> None:
    verdict = classify("init", 1, text)
    assert (verdict.rule, verdict.exit_code) == (rule, code)
