"""Attempts: a row per build a command starts, finished with how it ended.

A runner killed mid-build leaves its row `running`; the gate names it as the
last runner to touch that build.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from hybridcore.packer.store.registry.models import Attempt
from hybridcore.packer.store.registry.schema import attempts

__all__ = ["finish_attempt", "last_attempts", "start_attempts"]

_CHUNK = 500  # bound parameters per IN (...)


def start_attempts(
    connection: Connection,
    *,
    digests: Mapping[str, str | None],
    command_id: str,
    runner: str,
    now: str,
    new_id: Iterable[str],
) -> dict[str, str]:
    """A `running` row per build of `digests`; returns build -> attempt ID."""
    started = {}
    for (build, digest), attempt_id in zip(sorted(digests.items()), new_id, strict=False):
        connection.execute(
            insert(attempts).values(
                id=attempt_id,
                build=build,
                command_id=command_id,
                runner=runner,
                inputs_digest=digest,
                status="running",
                started_at=now,
            )
        )
        started[build] = attempt_id
    return started


def finish_attempt(
    connection: Connection,
    attempt_id: str,
    *,
    succeeded: bool,
    classification: str,
    rule: str,
    version_id: str | None,
    now: str,
) -> None:
    connection.execute(
        update(attempts)
        .where(attempts.c.id == attempt_id)
        .values(
            status="succeeded" if succeeded else "failed",
            classification=classification,
            rule=rule,
            version_id=version_id,
            finished_at=now,
        )
    )


def last_attempts(connection: Connection, builds: Iterable[str]) -> dict[str, Attempt]:
    """The newest attempt of each of `builds` that has one."""
    wanted = sorted(set(builds))
    found: dict[str, Attempt] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        newest = (
            select(attempts.c.build, func.max(attempts.c.started_at).label("at"))
            .where(attempts.c.build.in_(chunk))
            .group_by(attempts.c.build)
            .subquery()
        )
        rows = connection.execute(
            select(attempts)
            .join(
                newest,
                (attempts.c.build == newest.c.build) & (attempts.c.started_at == newest.c.at),
            )
            .order_by(attempts.c.id)
        ).mappings()
        for row in rows:  # same start time: the later ID (IDs sort by creation) wins
            found[str(row["build"])] = Attempt.model_validate(
                {key: row[key] for key in Attempt.model_fields}
            )
    return found
