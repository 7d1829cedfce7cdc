"""`plan` and `gate`: which builds a change affects, and whether every one was built.

`plan` compares each selected build's current inputs with its last registered
version (the registry is what every runner shares) and gives it a status:

| status          | in the matrix | when                                                   |
|-----------------|---------------|--------------------------------------------------------|
| new             | yes           | no version of it is registered                         |
| changed         | yes           | its inputs differ from its last version's               |
| revoked         | yes           | its last version, built from these inputs, is revoked   |
| parent-revoked  | no            | its last version was built from a revoked parent image |
| parent-outdated | no            | ... from a parent image a channel has since moved from  |
| unchanged       | no            | its last version was built from these inputs            |

A build whose parent is revoked or outdated is reported, not run: its inputs name
that parent's image, so a rebuild from the same inputs would use it again; point
the inputs at the parent's current image and it becomes `changed`.

`gate` passes (exit 0) only when every selected build has a registered, unrevoked
version built from its current inputs and no revoked parent; otherwise exit 1 (class
drift) naming each build that is missing, failed, unfinished or stale and the runner
and command that last touched it (the registry's attempts).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from typing_extensions import Unpack

from hybridcore.packer.base.build_drift import BuildDrift
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.keywords import refuse_unknown
from hybridcore.packer.base.model import FrozenModel
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.commands._registration import open_for
from hybridcore.packer.commands._workdir import open_workdir
from hybridcore.packer.commands.inputs_check import CheckArgs, CheckReport, current_inputs, report
from hybridcore.packer.store.drift import compare
from hybridcore.packer.store.inputs_manifest import HashManifest
from hybridcore.packer.store.registry.models import Attempt, OutdatedChild, RegistryVersion
from hybridcore.packer.template.facts import Targets

if TYPE_CHECKING:  # SQLAlchemy loads when the registry is opened
    from hybridcore.packer.store.registry.store import Registry

__all__ = ["PlanReport", "PlannedBuild", "gate", "plan"]

PlanStatus = Literal["new", "changed", "unchanged", "revoked", "parent-revoked", "parent-outdated"]
TO_RUN: frozenset[str] = frozenset({"new", "changed", "revoked"})


class PlannedBuild(FrozenModel):
    """One selected build against the registry."""

    build: str
    status: PlanStatus
    run: bool = Field(description="In the matrix: a shard builds it")
    digest: str = Field(description="Digest of the current inputs")
    version: str | None = Field(description="BUILD@N: its last registered version")
    baseline_digest: str | None
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    reason: str
    last_attempt: Attempt | None = Field(description="The last runner that started it")


class PlanReport(FrozenModel):
    """The result of `plan`: every selected build, and the matrix of those to run."""

    schema_version: Literal["1.0"] = "1.0"
    command: Literal["plan"] = "plan"
    exit_code: int = Field(ge=0, le=3)
    classification: Literal["ok", "config", "transient", "security", "internal"]
    rule: str
    message: str
    remediation: str | None
    registry: str | None
    builds: list[PlannedBuild]
    matrix: dict[str, list[dict[str, str]]] = Field(
        description='GitHub Actions strategy.matrix: {"include": [{"build": NAME}, ...]}'
    )
    workdir: str
    started_at: str
    finished_at: str

    @property
    def to_run(self) -> list[str]:
        return [item["build"] for item in self.matrix["include"]]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def _parent_revoked(registry: Registry, version: RegistryVersion) -> str | None:
    for parent in version.parents:
        found = registry.version(parent.version_id)
        if found.revoked is not None:
            return (
                f"{version.ref} was built from {found.ref} ({parent.image_id}), which is "
                f"revoked: {found.revoked.reason}"
            )
    return None


def _judge(
    registry: Registry,
    current: HashManifest,
    version: RegistryVersion | None,
    outdated: list[OutdatedChild],
    attempt: Attempt | None,
) -> PlannedBuild:
    """The status of one build (see the module docstring)."""
    status: PlanStatus
    found = compare(current, version.inputs if version else None)
    if version is None or version.inputs is None:
        status, reason = "new", "no version registered yet"
    elif current.digest != version.inputs_digest:
        what = ", ".join([*found.changed, *found.added, *found.removed]) or "its inputs"
        status, reason = "changed", f"{what} changed since {version.ref}"
    elif version.revoked is not None:
        status, reason = "revoked", f"{version.ref} is revoked: {version.revoked.reason}"
    elif revoked_parent := _parent_revoked(registry, version):
        status, reason = "parent-revoked", revoked_parent
    elif outdated:
        link = outdated[0]
        status = "parent-outdated"
        reason = f"{version.ref} was built from {link.parent} ({link.image_id}): {link.reason}"
    else:
        status, reason = "unchanged", f"same inputs as {version.ref}"
    return PlannedBuild(
        build=current.build,
        status=status,
        run=status in TO_RUN,
        digest=current.digest,
        version=version.ref if version else None,
        baseline_digest=version.inputs_digest if version else None,
        added=found.added,
        removed=found.removed,
        changed=found.changed,
        reason=reason,
        last_attempt=attempt,
    )


def _planned(
    command: str, targets: Targets, args: CheckArgs, *, full: bool
) -> tuple[Path, Registry | None, list[PlannedBuild] | HybridcoreError]:
    """The workdir, the registry and each selected build's status, or the error that
    stopped the command."""
    refuse_unknown(command, args, CheckArgs)
    cwd, workdir = args.get("cwd"), args.get("workdir")
    here = Path(cwd) if cwd else Path.cwd()
    root = here / workdir if workdir else here
    try:
        open_workdir(root)
        current = current_inputs(targets, args, workdir=root, cwd=here, full=full)
        store = open_for(args.get("registry"), root, os.environ, None)
        return root, store, _statuses(store, current)
    except HybridcoreError as error:
        return root, None, error


def _statuses(store: Registry, current: dict[str, HashManifest]) -> list[PlannedBuild]:
    outdated: dict[str, list[OutdatedChild]] = {}
    for link in store.outdated():
        outdated.setdefault(link.child_version_id, []).append(link)
    attempts = store.last_attempts(current)
    planned = []
    for build, manifest in sorted(current.items()):
        version = store.baseline(build)
        links = outdated.get(version.version_id, []) if version else []
        planned.append(_judge(store, manifest, version, links, attempts.get(build)))
    return planned


def plan(targets: Targets, **args: Unpack[CheckArgs]) -> PlanReport:
    """Each selected build's status against the registry, and the matrix of builds to run
    (new, changed or revoked). An empty matrix is a valid plan (exit 0)."""
    started = datetime.now(UTC)
    root, store, found = _planned("plan", targets, args, full=False)
    shown = store.target.shown if store else None
    if isinstance(found, HybridcoreError):
        return _plan_report([], root, started, shown, found)
    return _plan_report(found, root, started, shown)


def _plan_report(
    planned: list[PlannedBuild],
    root: Path,
    started: datetime,
    registry: str | None,
    error: HybridcoreError | None = None,
) -> PlanReport:
    runs = [item.build for item in planned if item.run]
    if error is not None:
        klass, rule, message, remediation = (
            error.klass,
            error.rule,
            f"plan: {error.message}",
            error.remediation,
        )
    else:
        klass, rule, remediation = ExitClass.OK, "ok", None
        counts = ", ".join(
            f"{sum(1 for p in planned if p.status == s)} {s}"
            for s in ("new", "changed", "revoked", "parent-revoked", "parent-outdated")
            if any(p.status == s for p in planned)
        )
        message = f"plan: {len(runs)} of {len(planned)} build(s) to run" + (
            f" ({counts})." if counts else "; every build is unchanged."
        )
        if any(p.status.startswith("parent-") for p in planned):
            remediation = (
                "A build built from a revoked or outdated parent image is not rebuilt from the "
                "same inputs: point its inputs at the parent's current image "
                "(`registry channel get PARENT CHANNEL`)."
            )
    return PlanReport(
        exit_code=klass.code,
        classification=klass.name,  # type: ignore[arg-type]
        rule=rule,
        message=message,
        remediation=remediation,
        registry=registry,
        builds=planned,
        matrix={"include": [{"build": build} for build in runs]},
        workdir=str(root),
        started_at=rfc3339(started),
        finished_at=rfc3339(datetime.now(UTC)),
    )


_GATE_WORD = {
    "new": "missing",
    "changed": "stale",
    "revoked": "revoked",
    "parent-revoked": "built from a revoked parent",
}


def _touched(item: PlannedBuild) -> str:
    """Who last touched the build, and how that ended."""
    attempt = item.last_attempt
    if attempt is None:
        return "no runner has started it"
    if attempt.status == "running":
        how = f"started {attempt.started_at} and never finished (still running, or killed)"
    elif attempt.status == "failed":
        how = f"failed {attempt.finished_at} ({attempt.classification}: {attempt.rule})"
    else:
        how = f"succeeded {attempt.finished_at}"
    return f"last touched by {attempt.runner} (command {attempt.command_id}): {how}"


def _gate_item(item: PlannedBuild) -> BuildDrift:
    passed = item.status in ("unchanged", "parent-outdated")
    attempt = item.last_attempt
    word = _GATE_WORD.get(item.status, item.status)
    if not passed and attempt is not None and attempt.inputs_digest == item.digest:
        word = {"failed": "failed", "running": "unfinished"}.get(attempt.status, word)
    message = f"{item.build}: {item.reason}"
    if not passed:
        message = f"{item.build}: {word}: {item.reason}; {_touched(item)}"
    return BuildDrift(
        build=item.build,
        status="verified" if passed else "failed",
        digest=item.digest,
        baseline_digest=item.baseline_digest,
        added=item.added,
        removed=item.removed,
        changed=item.changed,
        message=message,
    )


def gate(targets: Targets, **args: Unpack[CheckArgs]) -> CheckReport:
    """After the shards: pass only if every selected build has a registered, unrevoked
    version built from its current inputs (every input re-hashed)."""
    started = datetime.now(UTC)
    root, _, found = _planned("gate", targets, args, full=True)
    if isinstance(found, HybridcoreError):
        return report("gate", [], root, started, found)
    return report("gate", [_gate_item(item) for item in found], root, started)
