"""upgrade-check: run the smoke suite with two Packer binaries and diff what matters.

Each binary runs ``fmt -check``, ``validate`` and ``build`` through the public API
in its own working directory. What automation depends on (exit codes and classes,
builds, artifact records, manifest keys, machine-readable line types) is reduced
to a fingerprint; the two fingerprints are diffed and every difference names who
must sign it off. Timestamps, UUIDs and paths never enter a fingerprint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.result import Result
from hybridcore.packer.commands.build import build
from hybridcore.packer.commands.fmt import fmt
from hybridcore.packer.commands.validate import validate
from hybridcore.packer.store.state_files import atomic_write_text

__all__ = ["SIGNOFFS", "Difference", "UpgradeReport", "fingerprint", "id_shape", "upgrade_check"]

PLATFORM = "platform team lead"
TEMPLATES = "template owners"
PUBLISH = "owners of downstream publish automation"
MAINTAINERS = "hybridcore-packer maintainers"

SIGNOFFS: dict[str, str | None] = {
    "packer version": None,
    "exit code": PLATFORM,
    "builds": TEMPLATES,
    "builder ID": PUBLISH,
    "artifact ID shape": PUBLISH,
    "record fields": PUBLISH,
    "manifest keys": PUBLISH,
    "machine-readable line types": MAINTAINERS,
}

_HEX = re.compile(r"(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}")
_DIGITS = re.compile(r"[0-9]+")


def id_shape(artifact_id: str | None) -> str | None:
    """The shape of an artifact ID: hex runs of 8+ become `h`, digit runs `9`."""
    if artifact_id is None:
        return None
    return _DIGITS.sub("9", _HEX.sub("h", artifact_id))


@dataclass(frozen=True)
class Difference:
    kind: str
    detail: str
    before: str
    after: str
    signoff: str | None


@dataclass
class UpgradeReport:
    from_packer: str
    to_packer: str
    from_version: str | None
    to_version: str | None
    differences: list[Difference] = field(default_factory=list)

    @property
    def required_signoffs(self) -> list[str]:
        return sorted({d.signoff for d in self.differences if d.signoff})

    @property
    def exit_code(self) -> int:
        return (ExitClass.CONFIG if self.required_signoffs else ExitClass.OK).code

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": {"packer": self.from_packer, "version": self.from_version},
            "to": {"packer": self.to_packer, "version": self.to_version},
            "differences": [asdict(d) for d in self.differences],
            "required_signoffs": self.required_signoffs,
            "exit_code": self.exit_code,
        }

    def to_markdown(self) -> str:
        lines = [
            "# Packer upgrade check",
            "",
            f"- From: `{self.from_packer}` (Packer {self.from_version or 'unknown'})",
            f"- To: `{self.to_packer}` (Packer {self.to_version or 'unknown'})",
        ]
        needing = [d for d in self.differences if d.signoff]
        if not self.differences:
            lines += ["", "No differences: no sign-off needed."]
        elif not needing:
            lines += ["", "No differences that need sign-off (only the version): none needed."]
        if self.differences:
            lines += [
                "",
                "## Differences",
                "",
                "| Kind | Detail | Before | After | Sign-off |",
                "| --- | --- | --- | --- | --- |",
            ]
            lines += [
                f"| {d.kind} | {_cell(d.detail)} | {_cell(d.before)} | {_cell(d.after)} "
                f"| {d.signoff or '-'} |"
                for d in self.differences
            ]
        if needing:
            lines += ["", "## Required sign-offs", ""]
            for who in self.required_signoffs:
                kinds = sorted({d.kind for d in needing if d.signoff == who})
                lines.append(f"- [ ] {who}: {', '.join(kinds)}")
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> tuple[Path, Path]:
        directory = Path(directory)
        md_path, json_path = directory / "upgrade-check.md", directory / "upgrade-check.json"
        atomic_write_text(md_path, self.to_markdown())
        atomic_write_text(json_path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return md_path, json_path


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "-"


def _field_types(value: Any, prefix: str = "") -> list[str]:
    """`field: type` for every field, nested ones dotted; never the values themselves."""
    if isinstance(value, dict):
        return [
            line
            for key, item in sorted(value.items())
            for line in _field_types(item, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(value, list):
        return _field_types(value[0], f"{prefix}[]") if value else [f"{prefix}: list"]
    return [f"{prefix}: {type(value).__name__}"]


def _line_types(stdout: str) -> set[str]:
    found = set()
    for line in stdout.splitlines():
        parts = line.split(",")
        if len(parts) < 3 or not parts[0].isdigit():
            continue
        found.add(f"ui,{parts[3]}" if parts[2] == "ui" and len(parts) > 3 else parts[2])
    return found


def _manifest_keys(result: Result) -> dict[str, list[str]]:
    if not result.manifest_path or not Path(result.manifest_path).is_file():
        return {}
    data = json.loads(Path(result.manifest_path).read_text())
    keys = {"(top level)": sorted(data)}
    for entry in data.get("builds") or []:
        name = f"{entry.get('builder_type')}.{entry.get('name')}"
        keys[name] = sorted(set(keys.get(name, [])) | set(entry))
    return keys


def fingerprint(results: Sequence[Result]) -> dict[str, Any]:
    """What automation depends on, per kind, as JSON-ready strings and lists."""
    print_: dict[str, dict[str, Any]] = {kind: {} for kind in SIGNOFFS}
    for result in results:
        print_["exit code"][result.command] = f"{result.exit_code} ({result.classification})"
        print_["packer version"]["packer"] = result.packer_version
        if result.command != "build":
            continue
        print_["builds"]["builds"] = sorted({r.build for r in result.records})
        for record in result.records:
            dump = record.model_dump(mode="json")
            for kind, detail, values in (
                ("builder ID", record.build, [str(record.builder_id)]),
                (
                    "builder ID",
                    f"{record.build} type",
                    [f"{record.builder_type} ({record.platform})"],
                ),
                ("artifact ID shape", record.build, [str(id_shape(record.artifact_id))]),
                ("record fields", record.build, _field_types(dump)),
            ):
                seen = print_[kind].setdefault(detail, [])
                seen.extend(value for value in values if value not in seen)
        print_["manifest keys"] = _manifest_keys(result)
        types = set().union(*(_line_types(run.stdout) for run in result.runs))
        print_["machine-readable line types"]["build"] = sorted(types)
    return {
        kind: {k: sorted(v) if isinstance(v, list) else v for k, v in facts.items()}
        for kind, facts in print_.items()
    }


def _text(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, list):
        return ", ".join(sorted(str(v) for v in value)) or "(none)"
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Difference]:
    found = []
    for kind, signoff in SIGNOFFS.items():
        old, new = before.get(kind, {}), after.get(kind, {})
        for detail in sorted(set(old) | set(new)):
            if old.get(detail) == new.get(detail):
                continue
            a, b = old.get(detail), new.get(detail)
            if isinstance(a, list) and isinstance(b, list):
                gone, added = sorted(set(a) - set(b)), sorted(set(b) - set(a))
                a, b = (gone, added) if gone or added else (a, b)
            found.append(Difference(kind, detail, _text(a), _text(b), signoff))
    return found


def _smoke(
    target: str | Path,
    packer: str,
    only: Sequence[str],
    var_files: Sequence[str],
    workdir: Path,
    cwd: Path | None,
    plugin_dir: Path | None,
) -> list[Result]:
    common: dict[str, Any] = {
        "packer": packer,
        "workdir": workdir,
        "cwd": cwd,
        "plugin_dir": plugin_dir,
    }
    return [
        fmt([str(target)], check=True, **common),
        validate([str(target)], var_files=var_files, only=only, **common),
        build(
            [str(target)],
            var_files=var_files,
            only=only,
            force=True,
            use_cache=False,
            **common,
        ),
    ]


def upgrade_check(
    target: str | Path,
    *,
    old_packer: str,
    new_packer: str,
    only: Sequence[str] = (),
    var_files: Sequence[str] = (),
    workdir: Path,
    cwd: Path | None = None,
    plugin_dir: Path | None = None,
) -> UpgradeReport:
    """Run the smoke suite with each binary and diff the fingerprints; `plugin_dir` holds
    the plugins a template requires (installed by `init`)."""
    sides = {}
    for label, packer in (("from", old_packer), ("to", new_packer)):
        results = _smoke(target, packer, only, var_files, workdir / label, cwd, plugin_dir)
        sides[label] = fingerprint(results)
    return UpgradeReport(
        from_packer=old_packer,
        to_packer=new_packer,
        from_version=sides["from"]["packer version"].get("packer"),
        to_version=sides["to"]["packer version"].get("packer"),
        differences=diff(sides["from"], sides["to"]),
    )
