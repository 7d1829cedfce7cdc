"""Drift: what changed in a build's inputs since its last hash manifest.

Each changed input belongs to an area: templates (template and var files),
provisioners (scripts and configs they use) or state (ISOs, variable values,
the Packer version). Drift points the operator at that area's Open Issues, as
the spec's Drift Detection requirement asks.
"""

from __future__ import annotations

from collections.abc import Mapping

from hybridcore.packer.base.build_drift import BuildDrift
from hybridcore.packer.store.inputs_manifest import HashManifest

__all__ = ["OPEN_ISSUES", "compare", "drift_areas"]

OPEN_ISSUES = (
    "assessments/2025-11-14-remediation-migration/remediations/hybridcore-packer-remediations.md"
)
_AREA_OF_KIND = {
    "template": "templates",
    "var-file": "templates",
    "script": "provisioners",
    "config": "provisioners",
    "iso": "state",
}


def _entries(manifest: HashManifest) -> dict[str, tuple[str, str]]:
    """name -> (area, fingerprint) for every input, variable and the Packer version."""
    found = {e.path: (_AREA_OF_KIND.get(e.kind, "provisioners"), e.sha256) for e in manifest.inputs}
    found.update({f"var.{k}": ("state", v) for k, v in manifest.variables.items()})
    found["packer_version"] = ("state", manifest.packer_version)
    return found


def drift_areas(names: Mapping[str, str]) -> list[str]:
    return sorted(set(names.values()))


def compare(current: HashManifest, baseline: HashManifest | None) -> BuildDrift:
    """Added, removed and changed inputs of `current` since `baseline`."""
    if baseline is None:
        return BuildDrift(
            build=current.build,
            status="no-baseline",
            digest=current.digest,
            baseline_digest=None,
            message=f"{current.build}: no hash manifest yet (never built with this tool)",
        )
    now, before = _entries(current), _entries(baseline)
    added = sorted(set(now) - set(before))
    removed = sorted(set(before) - set(now))
    changed = sorted(k for k in set(now) & set(before) if now[k][1] != before[k][1])
    touched = {k: (now.get(k) or before[k])[0] for k in [*added, *removed, *changed]}
    areas = drift_areas(touched)
    if not touched and current.digest == baseline.digest:
        return BuildDrift(
            build=current.build,
            status="clean",
            digest=current.digest,
            baseline_digest=baseline.digest,
            message=f"{current.build}: inputs unchanged",
        )
    pointers = [f"{OPEN_ISSUES}#{area}" for area in areas]
    listed = ", ".join(
        [*(f"+{k}" for k in added), *(f"-{k}" for k in removed), *(f"~{k}" for k in changed)]
    )
    return BuildDrift(
        build=current.build,
        status="drifted",
        digest=current.digest,
        baseline_digest=baseline.digest,
        added=added,
        removed=removed,
        changed=changed,
        areas=areas,
        open_issues=pointers,
        message=(
            f"{current.build}: inputs drifted in {', '.join(areas)} ({listed}); see the Open "
            f"Issues of that area: {', '.join(pointers)}"
        ),
    )
