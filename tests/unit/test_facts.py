"""Template facts read before Packer runs: sensitive variables, env() reads, toggles,
manifest outputs, and a plain env() scan when the template cannot be parsed."""

from __future__ import annotations

from pathlib import Path

from hybridcore.packer.template.facts import read_template, template_files
from tests.conftest import write_template

VARIABLES = """
variable "image_name" {
  type    = string
  default = "golden"
}

variable "registry_token" {
  type      = string
  default   = env("REGISTRY_TOKEN")
  sensitive = true
}

variable "region" {
  type    = string
  default = env("CLOUD_REGION")
}

variable "admin_password" {
  type      = string
  sensitive = true
}

variable "enable_hardening" {
  type    = bool
  default = true
}

variable "enable_ansible" {
  type    = bool
  default = false
}

variable "enable_mode" {
  type    = string
  default = "fast"
}
"""


def test_sensitive_variables(tmp_path: Path) -> None:
    info = read_template(write_template(tmp_path, VARIABLES))
    assert info.sensitive_variables == {"registry_token", "admin_password"}
    assert info.parse_error is None


def test_env_reads_of_sensitive_variables_are_secret_env_names(tmp_path: Path) -> None:
    info = read_template(write_template(tmp_path, VARIABLES))
    assert info.variables["registry_token"].env_reads == ("REGISTRY_TOKEN",)
    assert info.variables["region"].env_reads == ("CLOUD_REGION",)
    # Only sensitive variables make secrets; PKR_VAR_<name> sets them too.
    assert info.secret_env_names == {
        "REGISTRY_TOKEN",
        "PKR_VAR_registry_token",
        "PKR_VAR_admin_password",
    }


def test_toggles_are_boolean_enable_variables(tmp_path: Path) -> None:
    info = read_template(write_template(tmp_path, VARIABLES))
    assert info.toggles == {"hardening", "ansible"}


def test_a_directory_target_reads_every_template_file(tmp_path: Path) -> None:
    write_template(tmp_path, 'variable "a" {\n  type = bool\n}\n', name="vars.pkr.hcl")
    write_template(
        tmp_path,
        'variable "enable_puppet" {\n  type = bool\n  default = false\n}\n',
        name="toggles.pkr.hcl",
    )
    write_template(tmp_path, "enable_puppet = true\n", name="values.pkrvars.hcl")
    info = read_template(tmp_path)
    assert {p.name for p in info.files} == {"vars.pkr.hcl", "toggles.pkr.hcl"}
    assert set(info.variables) == {"a", "enable_puppet"}
    assert info.toggles == {"puppet"}


def test_the_example_project(example: Path) -> None:
    info = read_template(example)
    assert info.parse_error is None
    assert info.toggles == {"hardening", "ansible"}
    assert info.sensitive_variables == {"registry_token"}
    assert "HYBRIDCORE_REGISTRY_TOKEN" in info.secret_env_names
    assert info.manifest_outputs == ("packer-manifest.json",)


MANIFESTS = """
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  post-processor "manifest" {
    output = "${path.root}/out/manifest.json"
  }

  post-processor "manifest" {}

  post-processors {
    post-processor "manifest" {
      output = "chained.json"
    }
    post-processor "shell-local" {
      inline = ["echo done"]
    }
  }
}
"""


def test_manifest_outputs_in_every_post_processor_form(tmp_path: Path) -> None:
    info = read_template(write_template(tmp_path, MANIFESTS))
    assert sorted(info.manifest_outputs) == sorted(
        ["${path.root}/out/manifest.json", "packer-manifest.json", "chained.json"]
    )


def test_no_manifest_post_processor_means_no_outputs(tmp_path: Path) -> None:
    path = write_template(tmp_path, 'source "null" "a" {\n  communicator = "none"\n}\n')
    assert read_template(path).manifest_outputs == ()


MALFORMED = """
variable "token" {
  default = env("DEPLOY_TOKEN")
  sensitive = true

variable "other" {
  default = env( "OTHER_KEY" )
}
build {{{
"""


def test_malformed_template_falls_back_to_scanning_env_names(tmp_path: Path) -> None:
    info = read_template(write_template(tmp_path, MALFORMED))
    assert info.parse_error is not None
    assert "main.pkr.hcl" in info.parse_error
    # "file line N: what is wrong", without lark's tokens
    assert info.parse_error.startswith(f"{tmp_path / 'main.pkr.hcl'} line ")
    assert "Token(" not in info.parse_error and "Expected one of" not in info.parse_error
    assert info.secret_env_names >= {"DEPLOY_TOKEN", "OTHER_KEY"}


def test_one_malformed_file_does_not_hide_the_others(tmp_path: Path) -> None:
    write_template(tmp_path, MALFORMED, name="broken.pkr.hcl")
    write_template(tmp_path, VARIABLES, name="good.pkr.hcl")
    info = read_template(tmp_path)
    assert info.parse_error is not None and "broken.pkr.hcl" in info.parse_error
    assert "registry_token" in info.sensitive_variables
    assert {"DEPLOY_TOKEN", "REGISTRY_TOKEN"} <= info.secret_env_names


def test_missing_target_has_no_files_and_no_facts(tmp_path: Path) -> None:
    info = read_template(tmp_path / "nope.pkr.hcl")
    assert info.files == ()
    assert info.variables == {}
    assert template_files(tmp_path / "nope") == ()


def test_template_files_of_a_directory_are_sorted_hcl2_templates(tmp_path: Path) -> None:
    for name in ("b.pkr.hcl", "a.pkr.hcl", "x.pkrvars.hcl", "legacy.json", "notes.txt"):
        (tmp_path / name).write_text("")
    assert [p.name for p in template_files(tmp_path)] == ["a.pkr.hcl", "b.pkr.hcl"]
    assert template_files(tmp_path / "a.pkr.hcl") == (tmp_path / "a.pkr.hcl",)
