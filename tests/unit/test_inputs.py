"""inputs: what each build depends on, found from its template and resolved like Packer."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from hybridcore.packer.store.hashing import HashCache
from hybridcore.packer.store.inputs_manifest import hash_inputs, write_hash_manifest
from hybridcore.packer.template.facts import read_template
from hybridcore.packer.template.inputs import (
    SECRET_SET,
    SECRET_UNSET,
    BuildInputs,
    discover_inputs,
)
from tests.conftest import EXAMPLE, write_template

SECRET = "s3cr3t-Value-1234567890"


def _touch(root: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content of {name}\n")
        paths.append(path)
    return paths


def _discover(
    target: Path,
    *,
    cwd: Path,
    variables: Mapping[str, str] | None = None,
    var_files: Sequence[Path] = (),
    environ: Mapping[str, str] | None = None,
    secret_names: set[str] | None = None,
) -> dict[str, BuildInputs]:
    return discover_inputs(
        target.resolve(),
        read_template(target),
        cwd=cwd,
        variables=dict(variables or {}),
        var_files=[path.resolve() for path in var_files],
        environ=dict(environ or {}),
        secret_names=set(secret_names or ()),
    )


def _kinds(found: BuildInputs, root: Path) -> dict[str, str]:
    """relative path -> kind (paths outside `root` keep their absolute form)."""
    shown = {}
    for item in found.files:
        path = item.path.resolve()
        try:
            name = path.relative_to(root.resolve()).as_posix()
        except ValueError:
            name = str(path)
        shown[name] = item.kind
    return shown


def test_every_file_key_of_sources_and_provisioners(tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    cwd = tmp_path / "cwd"
    _touch(
        tpl,
        "scripts/one.sh",
        "scripts/two.sh",
        "scripts/three.sh",
        "files/app.conf",
        "files/conf.d/a.conf",
        "files/conf.d/nested/b.conf",
        "ansible/site.yml",
        "ansible/roles/web/tasks/main.yml",
        "ansible/roles/db/tasks/main.yml",
        "http/preseed.cfg",
        "http/sub/late.sh",
        "cd/user-data",
        "cd/meta-data",
        "floppy/autounattend.xml",
        "iso/local.iso",
    )
    _touch(cwd, "relative/cwd-script.sh")
    write_template(
        tpl,
        """
        variable "ansible_dir" {
          type    = string
          default = "ansible"
        }
        locals {
          scripts = "${path.root}/scripts"
        }
        source "null" "full" {
          communicator   = "none"
          http_directory = "${path.root}/http"
          cd_files       = ["${path.root}/cd/user-data", "${path.root}/cd/meta-data"]
          floppy_files   = ["${path.root}/floppy/autounattend.xml"]
          iso_url        = "${path.root}/iso/local.iso"
        }
        build {
          sources = ["source.null.full"]
          provisioner "shell" {
            script = "${local.scripts}/one.sh"
          }
          provisioner "shell" {
            scripts = ["${local.scripts}/two.sh", "${path.root}/scripts/three.sh"]
          }
          provisioner "shell-local" {
            script = "relative/cwd-script.sh"
          }
          provisioner "file" {
            source      = "${path.root}/files/app.conf"
            destination = "/etc/app.conf"
          }
          provisioner "file" {
            source      = "${path.root}/files/conf.d"
            destination = "/etc/conf.d"
          }
          provisioner "ansible" {
            playbook_file = "${path.root}/${var.ansible_dir}/site.yml"
            role_paths = [
              "${path.root}/${var.ansible_dir}/roles/web",
              "${path.root}/ansible/roles/db",
            ]
          }
        }
        """,
    )
    found = _discover(tpl / "main.pkr.hcl", cwd=cwd)
    assert list(found) == ["null.full"]
    kinds = _kinds(found["null.full"], tmp_path)
    assert kinds == {
        "tpl/main.pkr.hcl": "template",
        "tpl/scripts/one.sh": "script",
        "tpl/scripts/two.sh": "script",
        "tpl/scripts/three.sh": "script",
        "cwd/relative/cwd-script.sh": "script",  # relative paths: from Packer's cwd
        "tpl/files/app.conf": "script",
        "tpl/files/conf.d/a.conf": "script",
        "tpl/files/conf.d/nested/b.conf": "script",
        "tpl/ansible/site.yml": "script",
        "tpl/ansible/roles/web/tasks/main.yml": "script",
        "tpl/ansible/roles/db/tasks/main.yml": "script",
        "tpl/http/preseed.cfg": "config",
        "tpl/http/sub/late.sh": "config",
        "tpl/cd/user-data": "config",
        "tpl/cd/meta-data": "config",
        "tpl/floppy/autounattend.xml": "config",
        "tpl/iso/local.iso": "iso",
    }
    assert all(item.path.is_absolute() for item in found["null.full"].files)


def test_the_bundled_example(tmp_path: Path, example: Path) -> None:
    found = _discover(example, cwd=tmp_path, var_files=[example / "ci.pkrvars.hcl"])
    assert sorted(found) == ["file.seed", "null.azure", "null.vsphere"]
    for build in found.values():
        assert _kinds(build, example) == {
            "hybrid.pkr.hcl": "template",
            "variables.pkr.hcl": "template",
            "ci.pkrvars.hcl": "var-file",
            "scripts/provision.sh": "script",
        }
        assert build.variables["image_version"] == json.dumps("1.4.0")  # from the var file
        assert build.variables["image_name"] == json.dumps("golden-ubuntu")
        assert build.variables["registry_token"] == SECRET_UNSET
    assert EXAMPLE.exists()


def _var_template(tpl: Path) -> Path:
    _touch(
        tpl, "default/run.sh", "from-hcl-file/run.sh", "from-json-file/run.sh", "from-var/run.sh"
    )
    _touch(tpl, "from-env/run.sh", "from-auto/run.sh")
    return write_template(
        tpl,
        """
        variable "flavour" {
          type    = string
          default = "default"
        }
        source "null" "a" {
          communicator = "none"
        }
        build {
          sources = ["source.null.a"]
          provisioner "shell-local" {
            script = "${path.root}/${var.flavour}/run.sh"
          }
        }
        """,
    )


def _script_of(found: dict[str, BuildInputs], tpl: Path) -> str:
    scripts = [f.path for f in found["null.a"].files if f.kind == "script"]
    assert len(scripts) == 1, scripts
    return scripts[0].relative_to(tpl.resolve()).parts[0]


def test_paths_resolve_through_variables_in_packers_order(tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    target = _var_template(tpl)
    hcl_file = tmp_path / "vars.pkrvars.hcl"
    hcl_file.write_text('flavour = "from-hcl-file"\n')
    json_file = tmp_path / "vars.pkrvars.json"
    json_file.write_text(json.dumps({"flavour": "from-json-file"}))
    env = {"PKR_VAR_flavour": "from-env"}

    assert _script_of(_discover(target, cwd=tmp_path), tpl) == "default"
    assert _script_of(_discover(target, cwd=tmp_path, environ=env), tpl) == "from-env"
    assert _script_of(_discover(target, cwd=tmp_path, var_files=[hcl_file]), tpl) == (
        "from-hcl-file"
    )
    # var files in order, the last one wins; each var file given is an input of its own
    both = _discover(target, cwd=tmp_path, environ=env, var_files=[hcl_file, json_file])
    assert _script_of(both, tpl) == "from-json-file"
    kinds = _kinds(both["null.a"], tmp_path)
    assert kinds["vars.pkrvars.hcl"] == kinds["vars.pkrvars.json"] == "var-file"
    # -var beats everything
    top = _discover(
        target,
        cwd=tmp_path,
        environ=env,
        var_files=[hcl_file, json_file],
        variables={"flavour": "from-var"},
    )
    assert _script_of(top, tpl) == "from-var"
    assert top["null.a"].variables["flavour"] == json.dumps("from-var")


def test_auto_var_files_of_a_directory_target(tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    _var_template(tpl)
    (tpl / "site.auto.pkrvars.hcl").write_text('flavour = "from-auto"\n')
    found = _discover(tpl, cwd=tmp_path)
    assert _script_of(found, tpl) == "from-auto"
    assert _kinds(found["null.a"], tpl)["site.auto.pkrvars.hcl"] == "var-file"


def test_path_cwd_is_the_working_directory_packer_runs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl = tmp_path / "tpl"
    project = tmp_path / "project"
    _touch(project, "scripts/run.sh")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the Python process runs somewhere else than `cwd`
    target = write_template(
        tpl,
        """
        source "null" "a" {
          communicator = "none"
        }
        build {
          sources = ["source.null.a"]
          provisioner "shell-local" {
            script = "${path.cwd}/scripts/run.sh"
          }
        }
        """,
    )
    found = _discover(target, cwd=project)
    assert _kinds(found["null.a"], tmp_path).get("project/scripts/run.sh") == "script"


def test_provisioner_only_and_except_per_build(tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    _touch(tpl, "all.sh", "only-a.sh", "except-a.sh", "only-named-c.sh", "pp.sh")
    target = write_template(
        tpl,
        """
        source "null" "a" {
          communicator = "none"
        }
        source "null" "b" {
          communicator = "none"
        }
        build {
          sources = ["source.null.a", "source.null.b"]
          provisioner "shell-local" {
            script = "${path.root}/all.sh"
          }
          provisioner "shell-local" {
            only   = ["null.a"]
            script = "${path.root}/only-a.sh"
          }
          provisioner "shell-local" {
            except = ["null.a"]
            script = "${path.root}/except-a.sh"
          }
          post-processor "shell-local" {
            only   = ["null.b"]
            script = "${path.root}/pp.sh"
          }
        }
        build {
          name = "named"
          source "source.null.a" {
            name = "c"
          }
          provisioner "shell-local" {
            only   = ["null.c"]
            script = "${path.root}/only-named-c.sh"
          }
          provisioner "shell-local" {
            except = ["null.c"]
            script = "${path.root}/except-a.sh"
          }
        }
        """,
    )
    found = _discover(target, cwd=tmp_path)
    scripts = {
        build: sorted(f.path.name for f in inputs.files if f.kind == "script")
        for build, inputs in found.items()
    }
    assert scripts == {
        "null.a": ["all.sh", "only-a.sh"],
        "null.b": ["all.sh", "except-a.sh", "pp.sh"],
        "named.null.c": ["only-named-c.sh"],
    }


def test_declared_extra_inputs_beside_the_template(tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    _touch(
        tpl,
        "config/a.cfg",
        "config/b.cfg",
        "config/ignored.txt",
        "tree/x/y.bin",
        "tree/z.bin",
        "unlisted.sh",
    )
    _touch(tmp_path, "shared/common.env")
    (tpl / "hybridcore.inputs").write_text(
        "# extra inputs, one glob per line, relative to this file\n"
        "config/*.cfg\n"
        "\n"
        "tree   # a directory: everything below it\n"
        "../shared/*.env\n"
        "no-such-file-*\n"
    )
    target = write_template(
        tpl,
        """
        source "null" "a" {
          communicator = "none"
        }
        build {
          sources = ["source.null.a"]
        }
        """,
    )
    kinds = _kinds(_discover(target, cwd=tmp_path)["null.a"], tmp_path)
    assert kinds == {
        "tpl/main.pkr.hcl": "template",
        "tpl/hybridcore.inputs": "config",
        "tpl/config/a.cfg": "config",
        "tpl/config/b.cfg": "config",
        "tpl/tree/x/y.bin": "config",
        "tpl/tree/z.bin": "config",
        "shared/common.env": "config",
    }


def test_urls_and_values_needing_functions_are_not_files(tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    _touch(tpl, "plain.sh")
    target = write_template(
        tpl,
        """
        source "null" "a" {
          communicator   = "none"
          iso_url        = "https://example.com/ubuntu.iso"
          http_directory = "${abspath(path.root)}/http"
        }
        build {
          sources = ["source.null.a"]
          provisioner "shell-local" {
            script = "${path.root}/plain.sh"
          }
          provisioner "shell-local" {
            script = "${path.root}/${uuidv4()}.sh"
          }
          provisioner "file" {
            source      = "${path.root}/missing-file"
            destination = "/tmp/x"
          }
        }
        """,
    )
    kinds = _kinds(_discover(target, cwd=tmp_path)["null.a"], tpl)
    assert kinds == {"main.pkr.hcl": "template", "plain.sh": "script"}


def _secret_template(tpl: Path) -> Path:
    return write_template(
        tpl,
        """
        variable "token" {
          type      = string
          default   = env("HC_TEST_TOKEN")
          sensitive = true
        }
        variable "password" {
          type      = string
          default   = ""
          sensitive = true
        }
        variable "reads_secret_env" {
          type    = string
          default = env("HC_EXTRA_SECRET")
        }
        variable "region" {
          type    = string
          default = "eu-1"
        }
        source "null" "a" {
          communicator = "none"
        }
        build {
          sources = ["source.null.a"]
        }
        """,
    )


def test_secret_values_are_recorded_as_set_or_unset_only(tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    target = _secret_template(tpl)
    unset = _discover(target, cwd=tmp_path)["null.a"].variables
    assert unset == {
        "password": SECRET_UNSET,
        "reads_secret_env": json.dumps(""),
        "region": json.dumps("eu-1"),
        "token": SECRET_UNSET,
    }

    var_file = tmp_path / "secret.pkrvars.hcl"
    var_file.write_text(f'password = "{SECRET}-pw"\n')
    environ = {"HC_TEST_TOKEN": SECRET, "HC_EXTRA_SECRET": f"{SECRET}-extra"}
    found = _discover(
        target,
        cwd=tmp_path,
        var_files=[var_file],
        environ=environ,
        secret_names={"HC_TEST_TOKEN", "HC_EXTRA_SECRET"},
    )["null.a"]
    assert found.variables == {
        "password": SECRET_SET,
        "reads_secret_env": SECRET_SET,
        "region": json.dumps("eu-1"),
        "token": SECRET_SET,
    }
    manifest = hash_inputs(found, workdir=tmp_path, packer_version="1.6.6", cache=None)
    written = write_hash_manifest(tmp_path / "wd", manifest, None, command_id="c1")
    text = written.read_text()
    assert SECRET not in text
    assert SECRET not in json.dumps(manifest.model_dump(mode="json"))
    assert SECRET_SET in text


def test_a_secret_given_as_pkr_var_is_recorded_as_set_only(tmp_path: Path) -> None:
    target = _secret_template(tmp_path / "tpl")
    found = _discover(
        target,
        cwd=tmp_path,
        environ={"PKR_VAR_token": SECRET, "PKR_VAR_region": "eu-2"},
        secret_names={"PKR_VAR_token"},
    )["null.a"]
    assert found.variables["token"] == SECRET_SET
    assert found.variables["region"] == json.dumps("eu-2")
    assert SECRET not in json.dumps(found.variables)


def test_only_whether_a_secret_is_set_changes_the_digest(tmp_path: Path) -> None:
    target = _secret_template(tmp_path / "tpl")

    def digest(environ: dict[str, str]) -> str:
        found = _discover(target, cwd=tmp_path, environ=environ, secret_names=set(environ))
        return hash_inputs(
            found["null.a"], workdir=tmp_path, packer_version="1.6.6", cache=None
        ).digest

    unset = digest({})
    one = digest({"HC_TEST_TOKEN": "first-secret"})
    other = digest({"HC_TEST_TOKEN": "second-secret"})
    assert one == other  # rotating a secret is not a change of inputs
    assert one != unset  # setting it is


def test_a_variable_value_change_changes_the_digest(tmp_path: Path) -> None:
    target = _secret_template(tmp_path / "tpl")
    cache = HashCache(None)

    def digest(**variables: str) -> str:
        found = _discover(target, cwd=tmp_path, variables=variables)["null.a"]
        return hash_inputs(found, workdir=tmp_path, packer_version="1.6.6", cache=cache).digest

    assert digest() == digest(region="eu-1")  # the default, given explicitly
    assert digest() != digest(region="eu-2")
    assert digest(region="eu-2") == digest(region="eu-2")


def test_template_and_var_files_are_inputs_of_every_build(tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    _touch(tpl, "a.sh")
    write_template(
        tpl,
        """
        source "null" "a" {
          communicator = "none"
        }
        source "null" "b" {
          communicator = "none"
        }
        """,
        name="sources.pkr.hcl",
    )
    write_template(
        tpl,
        """
        build {
          sources = ["source.null.a", "source.null.b"]
          provisioner "shell-local" {
            only   = ["null.a"]
            script = "${path.root}/a.sh"
          }
        }
        """,
        name="build.pkr.hcl",
    )
    var_file = tmp_path / "x.pkrvars.hcl"
    var_file.write_text("")
    found = _discover(tpl, cwd=tmp_path, var_files=[var_file])
    common = {
        "tpl/build.pkr.hcl": "template",
        "tpl/sources.pkr.hcl": "template",
        "x.pkrvars.hcl": "var-file",
    }
    assert _kinds(found["null.b"], tmp_path) == common
    assert _kinds(found["null.a"], tmp_path) == {**common, "tpl/a.sh": "script"}
