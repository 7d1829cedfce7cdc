"""Channels: named pointers from a build to one of its versions, with history.

`assign` is a compare-and-set done as one conditional UPDATE (or an INSERT that
a primary key guards), so of two promotion jobs expecting the same current
version exactly one wins, on SQLite and on PostgreSQL alike. `latest` is
managed: every registration moves it, nobody else may.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.registry.models import ChannelEvent
from hybridcore.packer.store.registry.schema import channel_events, channels, versions

__all__ = [
    "CONFLICT_EXIT",
    "LATEST",
    "NONE",
    "assign",
    "channel_row",
    "check_channel_name",
    "history",
    "move_latest",
    "previous_assignment",
]

LATEST = "latest"
NONE = "none"  # --expect none: the channel must not exist yet
CONFLICT_EXIT = 1  # documented: the loser of a compare-and-set exits 1, rule channel_conflict

Action = Literal["set", "rollback", "latest"]


def check_channel_name(name: str) -> None:
    if not name or len(name) > 255 or not all(c.isalnum() or c in "-_." for c in name):
        raise HybridcoreError(
            f"channel name {name!r} is not valid.",
            klass=ExitClass.CONFIG,
            rule="invalid_channel",
            remediation="Use letters, digits, '-', '_' or '.', e.g. production, staging.",
        )


def channel_row(
    connection: Connection, build: str, channel: str, *, lock: bool = False
) -> dict[str, object] | None:
    """The channel's row; with `lock`, held until commit (PostgreSQL; SQLite writers
    are serialized already)."""
    query = select(channels).where(and_(channels.c.build == build, channels.c.name == channel))
    row = connection.execute(query.with_for_update() if lock else query).mappings().first()
    return dict(row) if row else None


def _event(
    connection: Connection,
    *,
    build: str,
    channel: str,
    version_id: str,
    previous_id: str | None,
    action: Action,
    actor: str | None,
    now: str,
) -> None:
    connection.execute(
        insert(channel_events).values(
            build=build,
            channel=channel,
            version_id=version_id,
            previous_id=previous_id,
            action=action,
            actor=actor,
            at=now,
        )
    )


def _pointed(connection: Connection, build: str, channel: str) -> str | None:
    row = channel_row(connection, build, channel)
    return str(row["version_id"]) if row else None


def _shown(connection: Connection, version_id: str | None) -> str:
    if version_id is None:
        return NONE
    row = connection.execute(
        select(versions.c.build, versions.c.number).where(versions.c.id == version_id)
    ).first()
    return f"{row.build}@{row.number} ({version_id})" if row else version_id


def _conflict(
    connection: Connection, build: str, channel: str, expected: str | None, found: str | None
) -> HybridcoreError:
    return HybridcoreError(
        f"channel {channel!r} of {build} moved: expected {_shown(connection, expected)}, it "
        f"points to {_shown(connection, found)}; nothing was changed.",
        klass=ExitClass.CONFIG,
        rule="channel_conflict",
        remediation="Another job assigned the channel first: read it again with `registry "
        "channel get`, decide, and retry with --expect set to what it points to now.",
    )


def _update(
    connection: Connection,
    build: str,
    channel: str,
    version_id: str,
    current: dict[str, object],
    now: str,
) -> None:
    """Conditional on the row being as read: a lost race is a conflict, never an overwrite."""
    done = connection.execute(
        update(channels)
        .where(
            and_(
                channels.c.build == build,
                channels.c.name == channel,
                channels.c.version_id == current["version_id"],
                channels.c.revision == current["revision"],
            )
        )
        .values(version_id=version_id, revision=channels.c.revision + 1, updated_at=now)
    )
    if done.rowcount != 1:
        found = channel_row(connection, build, channel)
        raise _conflict(
            connection,
            build,
            channel,
            str(current["version_id"]),
            str(found["version_id"]) if found else None,
        )


def assign(
    connection: Connection,
    *,
    build: str,
    channel: str,
    version_id: str,
    expect: str | None,
    expect_given: bool,
    action: Action,
    actor: str | None,
    now: str,
) -> str | None:
    """Point `channel` of `build` at `version_id`; with `expect_given`, only if it points
    at `expect` (None: the channel must not exist). Returns the previous version ID."""
    for _ in range(3):
        current = channel_row(connection, build, channel, lock=True)
        previous = str(current["version_id"]) if current else None
        if expect_given and previous != expect:
            raise _conflict(connection, build, channel, expect, previous)
        if current is not None:
            _update(connection, build, channel, version_id, current, now)
            break
        try:
            with connection.begin_nested():
                connection.execute(
                    insert(channels).values(
                        build=build,
                        name=channel,
                        version_id=version_id,
                        revision=1,
                        managed=channel == LATEST,
                        updated_at=now,
                    )
                )
            break
        except IntegrityError as exc:  # created by another writer since we looked
            if expect_given:
                raise _conflict(
                    connection, build, channel, expect, _pointed(connection, build, channel)
                ) from exc
    else:
        raise _conflict(connection, build, channel, expect, _pointed(connection, build, channel))
    _event(
        connection,
        build=build,
        channel=channel,
        version_id=version_id,
        previous_id=previous,
        action=action,
        actor=actor,
        now=now,
    )
    return previous


def move_latest(connection: Connection, build: str, version_id: str, now: str) -> None:
    """A registration moves `latest` (the build's row lock is held: no race here)."""
    assign(
        connection,
        build=build,
        channel=LATEST,
        version_id=version_id,
        expect=None,
        expect_given=False,
        action="latest",
        actor=None,
        now=now,
    )


def history(connection: Connection, build: str, channel: str | None) -> list[ChannelEvent]:
    """Assignments of the build's channels (or one channel), oldest first."""
    query = (
        select(channel_events, versions.c.number)
        .join(versions, versions.c.id == channel_events.c.version_id)
        .where(channel_events.c.build == build)
        .order_by(channel_events.c.id)
    )
    if channel is not None:
        query = query.where(channel_events.c.channel == channel)
    return [
        ChannelEvent(
            build=row.build,
            channel=row.channel,
            action=row.action,
            version_id=row.version_id,
            number=row.number,
            previous_id=row.previous_id,
            actor=row.actor,
            at=row.at,
        )
        for row in connection.execute(query)
    ]


def previous_assignment(connection: Connection, build: str, channel: str) -> str | None:
    """What the channel pointed to before its current assignment."""
    row = connection.execute(
        select(channel_events.c.previous_id)
        .where(and_(channel_events.c.build == build, channel_events.c.channel == channel))
        .order_by(channel_events.c.id.desc())
        .limit(1)
    ).first()
    return str(row[0]) if row and row[0] else None
