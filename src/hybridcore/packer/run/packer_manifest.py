"""Artifacts from Packer's output: `-machine-readable` lines and the manifest file."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hybridcore.packer.base.result import Artifact
from hybridcore.packer.store.state_files import atomic_write_json
from hybridcore.redaction.engine import Redactor
from hybridcore.redaction.structured import scrub_data

__all__ = ["artifacts_from_lines", "capture_manifest", "resolve_manifest_output"]

_MR_COMMA = "%!(PACKER_COMMA)"


def _unescape(value: str) -> str:
    return value.replace(_MR_COMMA, ",").replace("\\n", "\n").replace("\\r", "\r")


def artifacts_from_lines(lines: Iterable[tuple[str, str]]) -> list[Artifact]:
    """Artifacts from ``(target, "INDEX,KEY,VALUE...")`` pairs of ``artifact`` lines.

    Packer prints, per artifact: builder-id, id, string, files-count, file N PATH, end.
    """
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for build, rest in lines:
        index_text, _, rest = rest.partition(",")
        key, _, value = rest.partition(",")
        if not index_text.isdigit():
            continue
        entry = found.setdefault(
            (build, int(index_text)),
            {"builder_id": None, "id": None, "description": None, "files": []},
        )
        if key == "builder-id":
            entry["builder_id"] = _unescape(value)
        elif key == "id":
            entry["id"] = _unescape(value)
        elif key == "string":
            entry["description"] = _unescape(value)
        elif key == "file":
            entry["files"].append(_unescape(value.partition(",")[2]))
    return [
        Artifact(build=build, index=index, **entry)
        for (build, index), entry in sorted(found.items())
    ]


def resolve_manifest_output(expression: str, template_dir: Path, cwd: Path) -> Path | None:
    """The file a manifest post-processor's `output` names, or None if it needs
    more than ``path.root``/``path.cwd`` to resolve (Packer then knows, we do not)."""
    text = expression.replace("${path.root}", str(template_dir)).replace("${path.cwd}", str(cwd))
    if "${" in text:
        return None
    path = Path(text)
    return path if path.is_absolute() else cwd / path


def capture_manifest(
    source: Path,
    destination: Path,
    not_before: float,
    redactor: Redactor,
    counts: Counter[str] | None = None,
) -> bool:
    """Copy this run's entries of the manifest at `source` to `destination`.

    Packer appends to its manifest across runs; this run's entries are those with
    the file's `last_run_uuid`. A file older than `not_before` (epoch seconds) was
    not written by this run and is ignored. Secrets (e.g. in `custom_data`) are
    scrubbed as data: names and keys are kept. Returns whether a manifest was captured.
    """
    try:
        if source.stat().st_mtime < not_before:
            return False
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict):
        return False
    run_uuid = data.get("last_run_uuid")
    builds = [
        entry
        for entry in data.get("builds") or []
        if isinstance(entry, dict) and entry.get("packer_run_uuid") == run_uuid
    ]
    captured = {"source": str(source), "last_run_uuid": run_uuid, "builds": builds}
    atomic_write_json(destination, scrub_data(captured, redactor, counts))
    return True
