"""`registry ...`: versions, channels, revocation, ancestry and lookups, as reports.

Every function opens the registry (``registry`` URL, else $HYBRIDCORE_REGISTRY_URL,
else ``<workdir>/state/registry.db``), does one thing, and returns a
`RegistryReport`, failures included; nothing here prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from pydantic import Field
from typing_extensions import Unpack

from hybridcore.logs import register_redactor
from hybridcore.packer.base.artifact_record import ArtifactRecord
from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.keywords import refuse_unknown
from hybridcore.packer.base.model import FrozenModel
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.store.artifact_records import ArtifactRegistry
from hybridcore.packer.store.inputs_manifest import load_hash_manifest
from hybridcore.packer.store.registry.models import (
    ChannelEvent,
    ChannelState,
    OutdatedChild,
    RegistryVersion,
    VersionImage,
)
from hybridcore.redaction.engine import Redactor

if TYPE_CHECKING:  # SQLAlchemy loads when a command opens the registry, not at import
    from hybridcore.packer.store.registry.store import Registry
    from hybridcore.packer.store.registry.target import RegistryTarget
    from hybridcore.packer.store.registry.versions import NewVersion

__all__ = [
    "LOOKUP_KEYS",
    "RegistryArgs",
    "RegistryReport",
    "adopt_workdir",
    "channel_get",
    "channel_history",
    "channel_rollback",
    "channel_set",
    "import_records",
    "lookup",
    "outdated",
    "registry_migrate",
    "restore",
    "revoke",
    "versions",
]


class RegistryArgs(TypedDict, total=False):
    """Which registry every registry function opens: `registry` (a URL; default
    $HYBRIDCORE_REGISTRY_URL, else the embedded one under `workdir`), `workdir` (default:
    the current directory) and `environ` (where the password and the actor's name come
    from; default: os.environ)."""

    registry: str | None
    workdir: str | os.PathLike[str] | None
    environ: Mapping[str, str] | None


Classification = Literal["ok", "config", "transient", "security", "internal"]
LOOKUP_KEYS = ("build", "channel", "platform", "region")


class RegistryReport(FrozenModel):
    """What a registry command did; `exit_code` follows the 0/1/2/3 table."""

    schema_version: Literal["1.0"] = "1.0"
    command: str = Field(description="e.g. registry channel set")
    exit_code: int = Field(ge=0, le=3)
    classification: Classification
    rule: str
    message: str
    remediation: str | None
    evidence: str | None = Field(description="What decided: the version, channel or row")
    registry: str | None = Field(description="The registry used, password masked")
    versions: list[RegistryVersion] = Field(default_factory=list)
    channel: ChannelState | None = None
    history: list[ChannelEvent] = Field(default_factory=list)
    outdated: list[OutdatedChild] = Field(default_factory=list)
    lookup: dict[str, str] | None = Field(
        default=None, description="The answer of `registry lookup`: a JSON object of strings"
    )
    schema_revision: str | None = None
    started_at: str
    finished_at: str

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def _actor(environ: Mapping[str, str]) -> str | None:
    """Who made a change, as the CI system or the shell names them."""
    for name in ("HYBRIDCORE_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER", "LOGNAME"):
        if environ.get(name):
            return environ[name]
    return None


def _environ(where: RegistryArgs) -> Mapping[str, str]:
    environ = where.get("environ")
    return os.environ if environ is None else environ


def _root(where: RegistryArgs) -> Path:
    workdir = where.get("workdir")
    return Path(workdir) if workdir else Path.cwd()


def _target(where: RegistryArgs) -> RegistryTarget:
    from hybridcore.packer.store.registry.target import resolve_target

    target = resolve_target(where.get("registry"), workdir=_root(where), environ=_environ(where))
    if target.secrets:
        register_redactor(Redactor(target.secrets))
    return target


def _refuse_missing(target: RegistryTarget) -> None:
    """A question to a registry that does not exist must not create an empty one (in
    Terraform's working directory, say)."""
    if not Path(str(target.url.database)).is_file():
        raise HybridcoreError(
            f"there is no registry at {target.shown}.",
            klass=ExitClass.CONFIG,
            rule="registry_missing",
            remediation="Point HYBRIDCORE_REGISTRY_URL (or --registry) at the team's registry, "
            "or --workdir at the directory whose state/registry.db the builds wrote.",
        )


def _run(
    command: str,
    body: Callable[[Registry], dict[str, Any]],
    where: RegistryArgs,
    *,
    open_store: bool = True,
    reads_only: bool = False,
) -> RegistryReport:
    from hybridcore.packer.store.registry.engine import engine_for
    from hybridcore.packer.store.registry.store import Registry, open_registry

    refuse_unknown(command, where, RegistryArgs)
    started = datetime.now(UTC)
    shown = None
    fields: dict[str, Any]
    try:
        target = _target(where)
        shown = target.shown
        if reads_only and target.backend == "sqlite":
            _refuse_missing(target)
        store = open_registry(target) if open_store else Registry(target, engine_for(target))
        fields = {"exit_code": 0, "rule": "ok", "remediation": None, **body(store)}
        klass = ExitClass.of(fields["exit_code"])
    except HybridcoreError as error:
        klass = error.klass
        fields = {
            "exit_code": error.exit_code,
            "rule": error.rule,
            "remediation": error.remediation,
            "message": f"{command}: {error.message}",
            "evidence": None,
        }
    return RegistryReport(
        command=command,
        classification=klass.name,  # type: ignore[arg-type]
        registry=shown,
        started_at=rfc3339(started),
        finished_at=rfc3339(datetime.now(UTC)),
        **fields,
    )


def registry_migrate(
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """Upgrade the registry's schema to this tool's (needs the owner's role on PostgreSQL)."""

    from hybridcore.packer.store.registry.engine import migrate

    def body(store: Registry) -> dict[str, Any]:
        before, after = migrate(store.target)
        what = "already at" if before == after else f"upgraded from {before or 'empty'} to"
        return {
            "message": f"registry migrate: {what} schema revision {after}.",
            "evidence": before,
            "schema_revision": after,
        }

    return _run(
        "registry migrate",
        body,
        where,
        open_store=False,
    )


def versions(
    build: str,
    *,
    limit: int | None = None,
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """The versions of `build`, newest first."""

    def body(store: Registry) -> dict[str, Any]:
        found = store.versions(build, limit=limit)
        return {
            "message": f"registry versions: {len(found)} version(s) of {build}.",
            "evidence": found[0].ref if found else None,
            "versions": found,
        }

    return _run(
        "registry versions",
        body,
        where,
        reads_only=True,
    )


def _matching(state: ChannelState, platform: str | None, region: str | None) -> list[VersionImage]:
    found = [
        image
        for image in state.version.images
        if (platform is None or image.platform == platform)
        and (region is None or (image.region or "").lower() == region.lower())
    ]
    if (platform or region) and not found:
        where = "/".join(part for part in (platform, region) if part)
        have = ", ".join(f"{i.platform}/{i.region or '-'}" for i in state.version.images)
        raise HybridcoreError(
            f"version {state.version.ref} on channel {state.channel!r} has no image for "
            f"{where} (it has: {have or 'no images'}).",
            klass=ExitClass.CONFIG,
            rule="no_matching_image",
            remediation="Ask for a platform and region the version was built for, or assign "
            "the channel a version that has them.",
        )
    return found


def channel_get(
    build: str,
    channel: str,
    *,
    platform: str | None = None,
    region: str | None = None,
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """The version a channel points to (never a revoked one: exit 3 with the reason),
    with only its images on `platform` / in `region` when given."""

    def body(store: Registry) -> dict[str, Any]:
        state = store.channel(build, channel)
        images = _matching(state, platform, region)
        if platform or region:
            state = state.model_copy(
                update={"version": state.version.model_copy(update={"images": images})}
            )
        ids = ", ".join(image.image_id for image in state.version.images) or "no image"
        return {
            "message": f"registry channel get: {build} {channel} -> {state.version.ref} ({ids}).",
            "evidence": state.version.version_id,
            "channel": state,
        }

    return _run(
        "registry channel get",
        body,
        where,
        reads_only=True,
    )


def channel_set(
    build: str,
    channel: str,
    version: str,
    *,
    expect: str | None = None,
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """Point `channel` at `version`; with `expect` ("none" or a version), only if it
    points there now. The loser of a race exits 1 with rule `channel_conflict`."""
    env = _environ(where)

    def body(store: Registry) -> dict[str, Any]:
        state = store.assign(build, channel, version, expect=expect, actor=_actor(env))
        return {
            "message": f"registry channel set: {build} {channel} -> {state.version.ref} "
            f"(revision {state.revision}).",
            "evidence": state.version.version_id,
            "channel": state,
        }

    return _run("registry channel set", body, where)


def channel_rollback(
    build: str,
    channel: str,
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """Point `channel` back at the version it pointed to before its last assignment."""
    env = _environ(where)

    def body(store: Registry) -> dict[str, Any]:
        state = store.rollback(build, channel, actor=_actor(env))
        return {
            "message": f"registry channel rollback: {build} {channel} -> {state.version.ref}.",
            "evidence": state.version.version_id,
            "channel": state,
        }

    return _run("registry channel rollback", body, where)


def channel_history(
    build: str,
    channel: str | None = None,
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """Every assignment of the build's channels (or of one), oldest first."""

    def body(store: Registry) -> dict[str, Any]:
        events = store.history(build, channel)
        return {
            "message": f"registry channel history: {len(events)} assignment(s) of {build}"
            + (f" {channel}." if channel else "."),
            "evidence": None,
            "history": events,
        }

    return _run(
        "registry channel history",
        body,
        where,
        reads_only=True,
    )


def revoke(
    version: str,
    *,
    reason: str,
    cascade: bool = False,
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """Revoke a version (with `cascade`, every version built from it, at any depth)."""
    env = _environ(where)

    def body(store: Registry) -> dict[str, Any]:
        done = store.revoke(version, reason=reason, cascade=cascade, actor=_actor(env))
        names = ", ".join(item.ref for item in done) or "nothing (already revoked)"
        return {
            "message": f"registry revoke: revoked {names}.",
            "evidence": reason,
            "versions": done,
        }

    return _run("registry revoke", body, where)


def restore(
    version: str,
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """Lift a revocation (and the revocations it cascaded to)."""

    def body(store: Registry) -> dict[str, Any]:
        done = store.restore(version)
        names = ", ".join(item.ref for item in done) or "nothing (not revoked)"
        return {
            "message": f"registry restore: restored {names}.",
            "evidence": None,
            "versions": done,
        }

    return _run("registry restore", body, where)


def outdated(
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """Children built from a parent that was revoked, or that a channel moved away from."""

    def body(store: Registry) -> dict[str, Any]:
        found = store.outdated()
        return {
            "message": f"registry outdated: {len(found)} outdated child version(s).",
            "evidence": None,
            "outdated": found,
        }

    return _run(
        "registry outdated",
        body,
        where,
        reads_only=True,
    )


def _query(raw: Mapping[str, object]) -> dict[str, str]:
    unknown = sorted(set(raw) - set(LOOKUP_KEYS))
    bad = sorted(k for k, v in raw.items() if not isinstance(v, str))
    if unknown or bad or not raw.get("build"):
        why = (
            f"unknown key(s) {unknown}"
            if unknown
            else f"non-string value(s) for {bad}"
            if bad
            else "no `build`"
        )
        raise HybridcoreError(
            f"lookup query has {why}.",
            klass=ExitClass.CONFIG,
            rule="invalid_lookup_query",
            remediation="Send a JSON object of strings with `build` and optionally `channel` "
            "(default latest), `platform` and `region`, as Terraform's external data source "
            "does.",
        )
    return {k: str(v) for k, v in raw.items() if v != ""}


def lookup(
    query: Mapping[str, object],
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """Answer a consumer's question (Terraform's external data source protocol): which
    image does `channel` of `build` give on `platform` in `region`? `lookup` in the
    report is a flat JSON object of strings."""

    def body(store: Registry) -> dict[str, Any]:
        asked = _query(query)
        channel = asked.get("channel", "latest")
        state = store.channel(asked["build"], channel)
        images = _matching(state, asked.get("platform"), asked.get("region"))
        image = next(iter(images or state.version.images), None)
        answer = {
            "build": state.build,
            "channel": channel,
            "version": str(state.version.number),
            "version_id": state.version.version_id,
            "image_id": image.image_id if image else "",
            "platform": image.platform if image else "",
            "region": (image.region or "") if image else "",
            "artifact_id": (image.artifact_id or "") if image else "",
            "inputs_digest": state.version.inputs_digest or "",
            "git_sha": state.version.git_sha or "",
            "created_at": state.version.created_at,
        }
        return {
            "message": f"registry lookup: {state.build} {channel} -> {state.version.ref} "
            f"{answer['image_id'] or '(no image)'}.",
            "evidence": state.version.version_id,
            "lookup": answer,
        }

    return _run(
        "registry lookup",
        body,
        where,
        reads_only=True,
    )


def _imported(records: list[ArtifactRecord], workdir: Path) -> list[NewVersion]:
    """One version per recorded run (command ID, or Packer run UUID for imports) of each build."""
    from hybridcore.packer.store.registry.versions import NewVersion

    runs: dict[tuple[str, str], list[ArtifactRecord]] = {}
    for record in records:
        key = record.provenance.command_id or record.provenance.packer_run_uuid or record.record_id
        runs.setdefault((record.build, key), []).append(record)
    news = []
    for (build, _), group in runs.items():
        first = group[0].provenance
        manifest = load_hash_manifest(workdir, build) if first.source == "build" else None
        inputs = (
            manifest if manifest is not None and manifest.digest == first.inputs_digest else None
        )
        news.append(
            NewVersion(
                build=build,
                source=first.source,
                records=group,
                inputs=inputs,
                command_id=first.command_id,
                git_sha=first.git_sha,
                git_dirty=first.git_dirty,
                packer_version=first.packer_version,
                packer_run_uuid=first.packer_run_uuid,
                started_at=first.started_at,
                finished_at=first.finished_at,
            )
        )
    news.sort(key=lambda n: (n.finished_at or "", n.build))
    return news


def _workdir_records(workdir: Path) -> list[ArtifactRecord]:
    files = ArtifactRegistry(workdir)
    return [record for build in files.builds() for record in files.load(build)]


def adopt_workdir(store: Registry, workdir: Path) -> int:
    """Import the workdir's records (as `registry import` does); the number of versions added."""
    return len(store.adopt(_imported(_workdir_records(workdir), workdir)))


def import_records(
    records: list[ArtifactRecord] | None = None,
    **where: Unpack[RegistryArgs],
) -> RegistryReport:
    """Load artifact records into the registry: `records` (from `manifest import`), else
    every record under ``<workdir>/artifacts/`` with its hash manifest. What is there
    already is skipped, so importing twice adds nothing."""
    root = _root(where)

    def body(store: Registry) -> dict[str, Any]:
        found = records if records is not None else _workdir_records(root)
        added = store.adopt(_imported(list(found), root))
        return {
            "message": f"registry import: {len(added)} new version(s) from {len(found)} record(s).",
            "evidence": None,
            "versions": added,
        }

    return _run("registry import", body, where)
