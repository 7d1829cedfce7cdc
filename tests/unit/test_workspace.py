"""A parallel build's working directory mirrors the user's without sharing writes."""

from __future__ import annotations

from pathlib import Path

from hybridcore.packer.run.workspace import make_workspace


def _project(root: Path) -> Path:
    (root / "templates" / "scripts").mkdir(parents=True)
    (root / "templates" / "main.pkr.hcl").write_text("# template\n")
    (root / "templates" / "scripts" / "setup.sh").write_text("echo hi\n")
    (root / "templates" / "packer-manifest.json").write_text('{"builds": []}\n')
    (root / "vars.pkrvars.hcl").write_text("x = 1\n")
    (root / "crash.log").write_text("old crash\n")
    return root


def test_relative_reads_resolve_to_the_users_files(tmp_path: Path) -> None:
    user = _project(tmp_path / "user")
    ws = make_workspace(tmp_path / "ws", user, "templates", ())
    assert ws.target == "templates"
    assert (ws.cwd / "vars.pkrvars.hcl").read_text() == "x = 1\n"
    assert (ws.cwd / "templates" / "scripts" / "setup.sh").resolve() == (
        user / "templates" / "scripts" / "setup.sh"
    )
    assert not (ws.cwd / "crash.log").exists()  # never shared: Packer writes it


def test_manifest_outputs_are_private_to_the_build(tmp_path: Path) -> None:
    user = _project(tmp_path / "user")
    one = make_workspace(
        tmp_path / "one", user, "templates", ("packer-manifest.json", "${path.root}/m.json")
    )
    two = make_workspace(
        tmp_path / "two", user, "templates", ("packer-manifest.json", "${path.root}/m.json")
    )
    assert set(one.manifest_outputs).isdisjoint(two.manifest_outputs)
    for output in (*one.manifest_outputs, *two.manifest_outputs):
        assert not output.exists() and not output.is_symlink()
        assert output.parent.is_dir() and not output.parent.is_symlink()
    assert one.shared_outputs == two.shared_outputs == ()


def test_an_existing_manifest_in_the_template_dir_is_not_linked(tmp_path: Path) -> None:
    user = _project(tmp_path / "user")
    ws = make_workspace(tmp_path / "ws", user, "templates", ("${path.root}/packer-manifest.json",))
    (output,) = ws.manifest_outputs
    assert output == ws.cwd / "templates" / "packer-manifest.json"
    assert not output.exists()
    assert (user / "templates" / "packer-manifest.json").exists()  # the user's is untouched


def test_a_template_outside_the_directory_is_mirrored_under_template(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    elsewhere = _project(tmp_path / "elsewhere")
    ws = make_workspace(
        tmp_path / "ws", user, str(elsewhere / "templates"), ("${path.root}/m.json",)
    )
    assert ws.target == str(ws.cwd / "_template")
    assert (ws.cwd / "_template" / "main.pkr.hcl").resolve() == (
        elsewhere / "templates" / "main.pkr.hcl"
    )
    assert ws.manifest_outputs == (ws.cwd / "_template" / "m.json",)


def test_an_absolute_manifest_outside_is_reported_as_shared(tmp_path: Path) -> None:
    user = _project(tmp_path / "user")
    shared = tmp_path / "shared" / "manifest.json"
    ws = make_workspace(tmp_path / "ws", user, "templates", (str(shared),))
    assert ws.shared_outputs == (shared,)
    assert ws.manifest_outputs == ()
