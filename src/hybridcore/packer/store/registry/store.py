"""The registry as one object: each method is one transaction over the query modules."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import and_, select, text
from sqlalchemy.engine import Connection, Engine

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.timestamps import rfc3339
from hybridcore.packer.store.registry import ancestry, attempts, channels, revocation
from hybridcore.packer.store.registry import versions as version_queries
from hybridcore.packer.store.registry.db_errors import registry_errors
from hybridcore.packer.store.registry.engine import READ_ONLY, ensure_schema
from hybridcore.packer.store.registry.models import (
    Attempt,
    ChannelEvent,
    ChannelState,
    OutdatedChild,
    RegistryVersion,
)
from hybridcore.packer.store.registry.schema import artifacts, builds, versions
from hybridcore.packer.store.registry.target import RegistryTarget
from hybridcore.packer.store.registry.versions import NewVersion

__all__ = ["Registry", "open_registry"]


def _now() -> str:
    return rfc3339(datetime.now(UTC))


def _no_channel(build: str, channel: str) -> HybridcoreError:
    return HybridcoreError(
        f"build {build!r} has no channel {channel!r}.",
        klass=ExitClass.CONFIG,
        rule="channel_not_found",
        remediation="Assign it with `hybridcore-packer registry channel set BUILD CHANNEL "
        "VERSION`, or ask for `latest`; `registry versions BUILD` lists what exists.",
    )


class Registry:
    """Versions, channels, revocation and ancestry of one registry database."""

    def __init__(self, target: RegistryTarget, engine: Engine) -> None:
        self.target = target
        self.engine = engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with registry_errors(self.target), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with (
            registry_errors(self.target),
            self.engine.connect().execution_options(**{READ_ONLY: True}) as connection,
            connection.begin(),
        ):
            yield connection

    def check_writable(self) -> None:
        """Exit 3 now, not after an hour of building, if this role cannot register."""
        if self.target.backend == "postgresql":
            with self._read() as connection:
                allowed = connection.execute(
                    text(
                        "SELECT has_table_privilege('versions', 'INSERT') AND "
                        "has_table_privilege('channels', 'UPDATE') AND "
                        "has_table_privilege('attempts', 'UPDATE')"
                    )
                ).scalar()
        else:
            allowed = os.access(str(self.target.url.database), os.W_OK)
        if not allowed:
            raise HybridcoreError(
                f"registry {self.target.shown} denied this change: this role cannot register "
                "versions.",
                klass=ExitClass.SECURITY,
                rule="registry_permission_denied",
                remediation="Build with the writer role's credentials (docs/registry.md, Roles); "
                "the read-only role is for lookups.",
            )

    # --- versions -----------------------------------------------------------------------

    def register(self, new: NewVersion) -> RegistryVersion:
        """Store a new version, link its parents and move `latest` to it."""
        now = _now()
        with self._write() as connection:
            version_id, _ = version_queries.insert_version(connection, new, now=now)
            ancestry.link_parents(connection, version_id, new.candidates)
            channels.move_latest(connection, new.build, version_id, now)
            return version_queries.load_version(connection, version_id)

    def adopt(self, news: Sequence[NewVersion]) -> list[RegistryVersion]:
        """Register imported versions, skipping those already there (the same artifact
        record, or the same Packer run of the same build): importing twice adds nothing."""
        added = []
        for new in news:
            with self._write() as connection:
                if self._known(connection, new):
                    continue
                now = _now()
                version_id, _ = version_queries.insert_version(connection, new, now=now)
                ancestry.link_parents(connection, version_id, new.candidates)
                channels.move_latest(connection, new.build, version_id, now)
                added.append(version_queries.load_version(connection, version_id))
        return added

    @staticmethod
    def _known(connection: Connection, new: NewVersion) -> bool:
        ids = [record.record_id for record in new.records]
        if (
            ids
            and connection.execute(
                select(artifacts.c.id).where(artifacts.c.record_id.in_(ids)).limit(1)
            ).first()
        ):
            return True
        if new.packer_run_uuid is None:
            return False
        same_run = and_(
            versions.c.build == new.build, versions.c.packer_run_uuid == new.packer_run_uuid
        )
        return (
            connection.execute(select(versions.c.id).where(same_run).limit(1)).first() is not None
        )

    def builds(self) -> list[str]:
        with self._read() as connection:
            return [
                str(r[0]) for r in connection.execute(select(builds.c.name).order_by(builds.c.name))
            ]

    def versions(self, build: str, *, limit: int | None = None) -> list[RegistryVersion]:
        with self._read() as connection:
            return version_queries.list_versions(connection, build, limit=limit)

    def version(self, ref: str, *, build: str | None = None) -> RegistryVersion:
        with self._read() as connection:
            found = version_queries.resolve_version(connection, ref, build=build)
            return version_queries.load_version(connection, found)

    def baseline(self, build: str) -> RegistryVersion | None:
        """The newest version of `build` that this tool built: drift and verify compare
        the current inputs with its inputs manifest."""
        with self._read() as connection:
            return version_queries.baseline_version(connection, build)

    # --- channels -----------------------------------------------------------------------

    def channel(self, build: str, channel: str) -> ChannelState:
        """Where the channel points; a revoked version is refused (exit 3)."""
        with self._read() as connection:
            row = channels.channel_row(connection, build, channel)
            if row is None:
                raise _no_channel(build, channel)
            version_id = str(row["version_id"])
            revocation.refuse_revoked(connection, version_id, doing=f"{build} {channel}")
            return ChannelState(
                build=build,
                channel=channel,
                revision=int(str(row["revision"])),
                managed=bool(row["managed"]),
                updated_at=str(row["updated_at"]),
                version=version_queries.load_version(connection, version_id),
            )

    def assign(
        self,
        build: str,
        channel: str,
        ref: str,
        *,
        expect: str | None = None,
        actor: str | None = None,
    ) -> ChannelState:
        """Point the channel at the version `ref`; with `expect` (a version reference or
        "none"), only if the channel points there now (compare-and-set)."""
        channels.check_channel_name(channel)
        if channel == channels.LATEST:
            raise HybridcoreError(
                f"channel {channels.LATEST!r} is managed: every registration of {build} moves it.",
                klass=ExitClass.CONFIG,
                rule="channel_managed",
                remediation="Assign another channel (e.g. production), or register a new "
                "build to move latest.",
            )
        with self._write() as connection:
            version_id = version_queries.resolve_version(connection, ref, build=build)
            revocation.refuse_revoked(connection, version_id, doing=f"assign {channel}")
            expected = None
            if expect is not None and expect.lower() != channels.NONE:
                expected = version_queries.resolve_version(connection, expect, build=build)
            channels.assign(
                connection,
                build=build,
                channel=channel,
                version_id=version_id,
                expect=expected,
                expect_given=expect is not None,
                action="set",
                actor=actor,
                now=_now(),
            )
        return self.channel(build, channel)

    def rollback(self, build: str, channel: str, *, actor: str | None = None) -> ChannelState:
        """Point the channel back at what it pointed to before its current assignment."""
        with self._write() as connection:
            row = channels.channel_row(connection, build, channel, lock=True)
            if row is None:
                raise _no_channel(build, channel)
            earlier = channels.previous_assignment(connection, build, channel)
            if earlier is None:
                raise HybridcoreError(
                    f"channel {channel!r} of {build} has no earlier assignment to roll back to.",
                    klass=ExitClass.CONFIG,
                    rule="no_earlier_assignment",
                    remediation="Use `registry channel set BUILD CHANNEL VERSION` to choose a "
                    "version; `registry channel history` lists past assignments.",
                )
            revocation.refuse_revoked(connection, earlier, doing=f"roll back {channel}")
            channels.assign(
                connection,
                build=build,
                channel=channel,
                version_id=earlier,
                expect=str(row["version_id"]),
                expect_given=True,
                action="rollback",
                actor=actor,
                now=_now(),
            )
        return self.channel(build, channel)

    def history(self, build: str, channel: str | None = None) -> list[ChannelEvent]:
        with self._read() as connection:
            return channels.history(connection, build, channel)

    # --- revocation and ancestry --------------------------------------------------------

    def revoke(
        self, ref: str, *, reason: str, cascade: bool = False, actor: str | None = None
    ) -> list[RegistryVersion]:
        with self._write() as connection:
            version_id = version_queries.resolve_version(connection, ref)
            done = revocation.revoke(
                connection, version_id, reason=reason, cascade=cascade, actor=actor, now=_now()
            )
            return [version_queries.load_version(connection, item) for item in done]

    def restore(self, ref: str) -> list[RegistryVersion]:
        with self._write() as connection:
            version_id = version_queries.resolve_version(connection, ref)
            done = revocation.restore(connection, version_id)
            return [version_queries.load_version(connection, item) for item in done]

    def outdated(self) -> list[OutdatedChild]:
        with self._read() as connection:
            return ancestry.outdated_children(connection)

    # --- attempts -----------------------------------------------------------------------

    def start_attempts(
        self, digests: Mapping[str, str | None], *, command_id: str, runner: str
    ) -> dict[str, str]:
        """Note that `runner` starts these builds (build -> inputs digest); returns
        build -> attempt ID for `finish_attempt`."""
        ids = (version_queries.new_version_id() for _ in digests)
        with self._write() as connection:
            return attempts.start_attempts(
                connection,
                digests=digests,
                command_id=command_id,
                runner=runner,
                now=_now(),
                new_id=ids,
            )

    def finish_attempt(
        self, attempt_id: str, *, classification: str, rule: str, version_id: str | None
    ) -> None:
        """How the attempt ended: succeeded when it registered `version_id`."""
        with self._write() as connection:
            attempts.finish_attempt(
                connection,
                attempt_id,
                succeeded=version_id is not None,
                classification=classification,
                rule=rule,
                version_id=version_id,
                now=_now(),
            )

    def last_attempts(self, builds: Iterable[str]) -> dict[str, Attempt]:
        with self._read() as connection:
            return attempts.last_attempts(connection, builds)


def open_registry(target: RegistryTarget) -> Registry:
    """The registry at `target`, its schema checked (and created when empty)."""
    return Registry(target, ensure_schema(target))
