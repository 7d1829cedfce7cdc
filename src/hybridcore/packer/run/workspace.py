"""A private working directory per parallel build that still sees the user's files.

Packer resolves relative paths against its working directory and writes there
(its manifest, `crash.log`, builders' default output directories). Each parallel
build therefore runs in its own directory that mirrors the user's: every entry
of the user's directory appears as a symlink, so reading `scripts/x.sh` or
writing into an existing `out/` works as before, while a file Packer creates at
the top (a manifest, `crash.log`, `output-<name>/`) lands in the build's own
directory. The directories that hold the template's manifest outputs are
mirrored as real directories too, so no two builds ever share a manifest path.

A template reached by an absolute path outside the user's directory is mirrored
under ``_template/`` and Packer is given that path, so `path.root` points into
the build's directory as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Workspace", "make_workspace"]

_NEVER_LINKED = {"crash.log"}
_OUTSIDE = "_template"


@dataclass(frozen=True)
class Workspace:
    cwd: Path  # where packer runs
    target: str  # the template path to give packer, as seen from `cwd`
    manifest_outputs: tuple[Path, ...]  # where this build's manifests will be written
    shared_outputs: tuple[Path, ...]  # manifest paths outside the workspace (not isolated)


def _mirror(real: Path, shadow: Path) -> None:
    """Make `shadow` a real directory holding a symlink to every entry of `real`."""
    shadow.mkdir(parents=True, exist_ok=True)
    for entry in real.iterdir():
        link = shadow / entry.name
        if entry.name in _NEVER_LINKED or link.exists() or link.is_symlink():
            continue
        link.symlink_to(entry)


class _Mirror:
    """The mirror of `user_cwd` (and of an outside template directory) in `root`."""

    def __init__(self, root: Path, user_cwd: Path, template_dir: Path) -> None:
        self.root, self.user_cwd, self.template_dir = root, user_cwd, template_dir
        _mirror(user_cwd, root)

    def real_of(self, relative: Path) -> Path:
        if relative.parts and relative.parts[0] == _OUTSIDE:
            return self.template_dir.joinpath(*relative.parts[1:])
        return self.user_cwd / relative

    def materialize(self, relative: Path) -> Path:
        """Turn each directory along `relative` into a real, mirrored directory."""
        shadow = self.root
        for index in range(len(relative.parts)):
            shadow = shadow / relative.parts[index]
            if shadow.is_symlink():
                shadow.unlink()
            real = self.real_of(Path(*relative.parts[: index + 1]))
            if real.is_dir():
                _mirror(real, shadow)
            else:
                shadow.mkdir(parents=True, exist_ok=True)
        return shadow


def _inside(path: Path, root: Path) -> Path | None:
    try:
        return path.relative_to(root)
    except ValueError:
        return None


def make_workspace(
    root: Path, user_cwd: Path, target: str, manifest_expressions: tuple[str, ...]
) -> Workspace:
    """Build the mirror in `root` for the template `target` (as the user gave it)."""
    user_cwd = user_cwd.resolve()
    full_target = (user_cwd / target).resolve()
    template_dir = full_target if full_target.is_dir() else full_target.parent
    mirror = _Mirror(root, user_cwd, template_dir)
    relative_dir = _inside(template_dir, user_cwd)
    if relative_dir is None:
        relative_dir = Path(_OUTSIDE)
    shadow_template = mirror.materialize(relative_dir)
    if Path(target).is_absolute() or relative_dir.parts[:1] == (_OUTSIDE,):
        given = shadow_template if full_target.is_dir() else shadow_template / full_target.name
        target = str(given)

    outputs, shared = [], []
    for expression in manifest_expressions:
        text = expression.replace("${path.root}", str(shadow_template))
        text = text.replace("${path.cwd}", str(root))
        if "${" in text:
            continue
        path = Path(text) if Path(text).is_absolute() else root / text
        inner = _inside(path.parent, root)
        if inner is None:
            shared.append(path)
            continue
        (mirror.materialize(inner) / path.name).unlink(missing_ok=True)
        outputs.append(path)
    return Workspace(
        cwd=root, target=target, manifest_outputs=tuple(outputs), shared_outputs=tuple(shared)
    )
