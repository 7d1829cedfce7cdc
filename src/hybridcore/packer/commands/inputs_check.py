"""`drift` and `verify`: compare a template's current inputs with what was built.

The baseline is the build's last version in the registry (shared by every
runner that points at it). `drift` lists, per build, the inputs added, removed
or changed since then (exit 1, class `drift`, when any did). `verify` is the
publish gate for CI: it re-hashes every input and passes only when the digest
equals the registered version's, and neither that version nor a parent of it
is revoked. The workdir's own hash manifest and records, where present, are
still checked: one that was edited, or that disagrees with the other, is a
tampering signal (exit 3).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

from pydantic import Field
from typing_extensions import Unpack

from hybridcore.packer.base.build_drift import BuildDrift
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.keywords import refuse_unknown
from hybridcore.packer.base.model import FrozenModel
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.commands._current_inputs import current_manifests
from hybridcore.packer.commands._registration import open_for
from hybridcore.packer.commands._workdir import open_workdir
from hybridcore.packer.run.version import locate_packer
from hybridcore.packer.store.artifact_records import ArtifactRegistry
from hybridcore.packer.store.drift import compare
from hybridcore.packer.store.inputs_manifest import HashManifest, load_hash_manifest
from hybridcore.packer.store.layout import Workdir
from hybridcore.packer.template.facts import (
    Targets,
    read_template,
    resolve_targets,
    toggle_variables,
)
from hybridcore.packer.template.secret_policy import collect_secrets

if TYPE_CHECKING:  # SQLAlchemy loads when the registry is opened
    from hybridcore.packer.store.registry.store import Registry

__all__ = ["CheckArgs", "CheckReport", "current_inputs", "drift", "report", "verify"]


class CheckReport(FrozenModel):
    """The result of `drift`, `verify` or `gate`: one entry per build."""

    schema_version: Literal["1.0"] = "1.0"
    command: Literal["drift", "verify", "gate"]
    exit_code: int = Field(ge=0, le=3)
    classification: Literal["ok", "drift", "config", "transient", "security", "internal"]
    rule: str
    message: str
    remediation: str | None
    builds: list[BuildDrift]
    workdir: str
    started_at: str
    finished_at: str

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


class CheckArgs(TypedDict, total=False):
    """What `drift` and `verify` take besides the targets: the builds and variables as for
    `build` (`only`, `except_`, `vars`, `var_files`, `secrets`, `provisioners`), where
    (`workdir`, `cwd`), which `packer` and which `registry`."""

    only: Iterable[str]
    except_: Iterable[str]
    vars: Mapping[str, str] | None
    var_files: Iterable[str | os.PathLike[str]]
    secrets: Iterable[str]
    provisioners: Iterable[str] | None
    workdir: str | os.PathLike[str] | None
    cwd: str | os.PathLike[str] | None
    packer: str | None
    registry: str | None


def current_inputs(
    targets: Targets, args: CheckArgs, *, workdir: Path, cwd: Path, full: bool
) -> dict[str, HashManifest]:
    """The current inputs manifest of each selected build; exit 1 when a template does
    not parse or nothing is selected."""
    paths = resolve_targets(targets, cwd)
    templates = {path: read_template(cwd / path) for path in paths}
    for path, info in templates.items():
        if info.parse_error:
            raise HybridcoreError(
                f"template '{path}' cannot be read: {info.parse_error}.",
                klass=ExitClass.CONFIG,
                rule="hcl_syntax",
                remediation="Fix the template (`hybridcore-packer validate PATH` shows Packer's "
                "own error); its inputs cannot be checked until it parses.",
            )
    environ = dict(os.environ)
    toggles = toggle_variables(args.get("provisioners"), templates.values())
    secret_set = collect_secrets(args.get("secrets", ()), templates.values(), environ)
    current = current_manifests(
        templates,
        cwd=cwd,
        workdir=workdir,
        variables={
            **{k: "true" if v else "false" for k, v in toggles.items()},
            **{k: str(v) for k, v in (args.get("vars") or {}).items()},
        },
        var_files=[str(v) for v in args.get("var_files", ())],
        environ=environ,
        secret_names=secret_set.masked_names,
        packer_version=locate_packer(
            args.get("packer"), cache=Workdir(workdir).version_cache_file
        ).version_text,
        only=tuple(args.get("only", ())),
        except_=tuple(args.get("except_", ())),
        full=full,
        redactor=secret_set.redactor,
    )
    if not current:
        raise HybridcoreError(
            "no build matches the selection: nothing to check.",
            klass=ExitClass.CONFIG,
            rule="no_build_selected",
            remediation="Select builds by the names Packer prints (e.g. null.vsphere) with "
            "--only, or drop --only / --except.",
        )
    return current


_FAILED = {
    "drift": (
        "inputs_drifted",
        "Rebuild the drifted builds (or revert the inputs) before publishing; the Open "
        "Issues pointers name the area to reconcile upstream.",
    ),
    "verify": (
        "not_verified",
        "Rebuild the drifted builds (or revert the inputs) before publishing; the Open "
        "Issues pointers name the area to reconcile upstream.",
    ),
    "gate": (
        "gate_failed",
        "Run the named builds' shards again (`build --only BUILD`; the recipes retry exit 2 "
        "once), or fix what failed and push; `hybridcore-packer plan` lists what is left.",
    ),
}


def report(
    command: Literal["drift", "verify", "gate"],
    builds: list[BuildDrift],
    workdir: Path,
    started: datetime,
    error: HybridcoreError | None = None,
) -> CheckReport:
    """The report of `command` over `builds`, or of the `error` that stopped it."""
    if error is not None:
        klass, rule, message, remediation = (
            error.klass,
            error.rule,
            error.message,
            error.remediation,
        )
    elif any(b.status in ("drifted", "failed") for b in builds):
        klass = ExitClass.DRIFT
        rule, remediation = _FAILED[command]
        bad = [b for b in builds if b.status in ("drifted", "failed")]
        message = "; ".join(b.message for b in bad)
        if command == "gate":
            message = (
                f"{len(bad)} of {len(builds)} build(s) not registered from their current "
                f"inputs: {', '.join(b.build for b in bad)}."
            )
    else:
        klass, rule, remediation = ExitClass.OK, "ok", None
        message = f"{command}: {len(builds)} build(s) checked, no drift."
        if command == "gate":
            message = f"gate: {len(builds)} build(s) registered from their current inputs."
    return CheckReport(
        command=command,
        exit_code=klass.code,
        classification=klass.name,  # type: ignore[arg-type]
        rule=rule,
        message=message,
        remediation=remediation,
        builds=builds,
        workdir=str(workdir),
        started_at=rfc3339(started),
        finished_at=rfc3339(datetime.now(UTC)),
    )


def _check(
    command: Literal["drift", "verify"],
    judge: Callable[[Registry, Path, str, HashManifest], BuildDrift],
    targets: Targets,
    args: CheckArgs,
    *,
    full: bool,
) -> CheckReport:
    """Hash the selected builds' inputs and `judge` each against what was registered."""
    refuse_unknown(command, args, CheckArgs)
    started = datetime.now(UTC)
    cwd, workdir = args.get("cwd"), args.get("workdir")
    here = Path(cwd) if cwd else Path.cwd()
    root = here / workdir if workdir else here
    try:
        open_workdir(root)
        current = current_inputs(targets, args, workdir=root, cwd=here, full=full)
        store = open_for(args.get("registry"), root, os.environ, None)
        builds = [
            judge(store, root, build, manifest) for build, manifest in sorted(current.items())
        ]
    except HybridcoreError as error:
        return report(command, [], root, started, error)
    return report(command, builds, root, started)


def drift(targets: Targets, *, full: bool = False, **args: Unpack[CheckArgs]) -> CheckReport:
    """Each selected build's inputs against its last registered version (`full`: every
    input hashed again, not only the changed ones)."""
    return _check("drift", _drift_one, targets, args, full=full)


def _drift_one(registry: Registry, root: Path, build: str, current: HashManifest) -> BuildDrift:
    load_hash_manifest(root, build)  # a tampered workdir manifest is still exit 3
    registered = registry.baseline(build)
    found = compare(current, registered.inputs if registered else None)
    if registered is None:
        return found.model_copy(
            update={"message": f"{build}: no registered version yet (never built with this tool)"}
        )
    return found


def _check_workdir_files(root: Path, build: str) -> None:
    """The workdir's hash manifest and records agree (when both exist), else exit 3."""
    manifest = load_hash_manifest(root, build)
    records = [r for r in ArtifactRegistry(root).load(build) if r.provenance.source == "build"]
    if manifest is None or not records:
        return
    latest_run = records[-1].provenance.command_id
    latest = [r for r in records if r.provenance.command_id == latest_run]
    recorded = {r.provenance.inputs_digest for r in latest}
    if recorded != {manifest.digest}:
        raise HybridcoreError(
            f"{build}: the hash manifest's digest {manifest.digest[:12]} disagrees with the "
            f"artifact record's {sorted(map(str, recorded))}.",
            klass=ExitClass.SECURITY,
            rule="record_mismatch",
            remediation="Do not publish: one of the files was edited or replaced; rebuild.",
        )
    if sorted(map(str, manifest.artifact_ids)) != sorted(str(r.artifact_id) for r in latest):
        raise HybridcoreError(
            f"{build}: the hash manifest names artifacts {manifest.artifact_ids}, the record "
            f"{[r.artifact_id for r in latest]}.",
            klass=ExitClass.SECURITY,
            rule="record_mismatch",
            remediation="Do not publish: one of the files was edited or replaced; rebuild.",
        )


def _failed(build: str, current: HashManifest, baseline: str | None, why: str) -> BuildDrift:
    return BuildDrift(
        build=build,
        status="failed",
        digest=current.digest,
        baseline_digest=baseline,
        message=f"{build}: {why}",
    )


def _verify_one(registry: Registry, root: Path, build: str, current: HashManifest) -> BuildDrift:
    _check_workdir_files(root, build)
    registered = registry.baseline(build)
    if registered is None or registered.inputs is None:
        return _failed(
            build,
            current,
            None,
            f"no registered version in {registry.target.shown}: build it with this tool (and "
            "the team's --registry) before publishing",
        )
    if registered.revoked is not None:
        return _failed(
            build,
            current,
            registered.inputs_digest,
            f"version {registered.ref} is revoked: {registered.revoked.reason}",
        )
    for parent in registered.parents:
        found = registry.version(parent.version_id)
        if found.revoked is not None:
            return _failed(
                build,
                current,
                registered.inputs_digest,
                f"version {registered.ref} was built from {found.ref} ({parent.image_id}), "
                f"which is revoked: {found.revoked.reason}",
            )
    if current.digest != registered.inputs_digest:
        drifted = compare(current, registered.inputs)
        return drifted.model_copy(update={"status": "failed"})
    artifacts = ", ".join(str(r.artifact_id) for r in registered.records) or "no artifact"
    return BuildDrift(
        build=build,
        status="verified",
        digest=current.digest,
        baseline_digest=registered.inputs_digest,
        message=f"{build}: inputs match registered version {registered.ref} ({artifacts})",
    )


def verify(targets: Targets, **args: Unpack[CheckArgs]) -> CheckReport:
    """Publish gate: re-hash every input; pass only if they are what was built (and
    registered, with no revoked version in its ancestry)."""
    return _check("verify", _verify_one, targets, args, full=True)
