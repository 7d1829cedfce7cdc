"""Ancestry: found, not declared. A version whose inputs contain an image ID that
the registry knows is a child of the version that produced that image."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from hybridcore.packer.store.registry.models import OutdatedChild
from hybridcore.packer.store.registry.schema import (
    channel_events,
    channels,
    images,
    parents,
    versions,
)

__all__ = ["descendants", "link_parents", "outdated_children"]

_CHUNK = 500  # bound parameters per IN (...)


def link_parents(
    connection: Connection, child_id: str, candidates: Iterable[str]
) -> list[tuple[str, str]]:
    """Record as parents the versions whose images appear among `candidates`; when an
    image ID belongs to several versions (imported twice), the newest one. Returns
    (parent version ID, image ID) pairs."""
    wanted = sorted({c for c in candidates if c})
    newest: dict[str, tuple[str, str]] = {}  # image ID -> (created_at + id, version ID)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = connection.execute(
            select(images.c.image_id, versions.c.id, versions.c.created_at)
            .join(versions, versions.c.id == images.c.version_id)
            .where(images.c.image_id.in_(chunk), versions.c.id != child_id)
        )
        for image_id, version_id, created_at in rows:
            key = f"{created_at}{version_id}"
            if image_id not in newest or key > newest[image_id][0]:
                newest[image_id] = (key, version_id)
    linked: dict[str, str] = {}
    for image_id, (_, version_id) in sorted(newest.items()):
        linked.setdefault(version_id, image_id)
    for parent_id, image_id in linked.items():
        connection.execute(
            insert(parents).values(child_id=child_id, parent_id=parent_id, image_id=image_id)
        )
    return sorted(linked.items())


def descendants(connection: Connection, version_id: str) -> list[str]:
    """Every version built (directly or not) from `version_id`, breadth first."""
    seen: list[str] = []
    frontier = [version_id]
    while frontier:
        rows = connection.execute(
            select(parents.c.child_id).where(parents.c.parent_id.in_(frontier))
        )
        frontier = [row[0] for row in rows if row[0] not in seen and row[0] != version_id]
        frontier = list(dict.fromkeys(frontier))
        seen += frontier
    return seen


def outdated_children(connection: Connection) -> list[OutdatedChild]:
    """Children whose parent is revoked, or whose parent a channel of the parent's build
    pointed to once and points to no more. Of each child build, only its versions that
    still matter: the newest, and those a channel points to."""
    current = {
        (row.build, row.name): row.version_id for row in connection.execute(select(channels))
    }
    held = set(current.values())
    newest = {
        row.build: row.id
        for row in connection.execute(
            select(versions.c.build, versions.c.id).order_by(versions.c.number)
        )
    }
    ever: dict[str, set[tuple[str, str]]] = {}  # version -> channels that held it
    for row in connection.execute(
        select(channel_events.c.build, channel_events.c.channel, channel_events.c.version_id)
    ):
        ever.setdefault(row.version_id, set()).add((row.build, row.channel))
    child = versions.alias("child")
    parent = versions.alias("parent")
    rows = connection.execute(
        select(
            child.c.id.label("child_id"),
            child.c.build.label("child_build"),
            child.c.number.label("child_number"),
            child.c.revoked_at.label("child_revoked"),
            parent.c.id.label("parent_id"),
            parent.c.build.label("parent_build"),
            parent.c.number.label("parent_number"),
            parent.c.revoked_reason,
            parent.c.revoked_at,
            parents.c.image_id,
        )
        .join(child, child.c.id == parents.c.child_id)
        .join(parent, parent.c.id == parents.c.parent_id)
        .order_by(child.c.build, child.c.number, parent.c.build)
    )
    found = []
    for link in rows:
        if link.child_id not in held and newest.get(link.child_build) != link.child_id:
            continue
        if link.revoked_at is not None:
            reason = f"parent revoked: {link.revoked_reason}"
        else:
            left = sorted(
                name
                for key in ever.get(link.parent_id, set())
                for name in [key[1]]
                if current.get(key) != link.parent_id
            )
            if not left:
                continue
            reason = f"parent no longer on channel(s) {', '.join(left)} of {link.parent_build}"
        found.append(
            OutdatedChild(
                child_version_id=link.child_id,
                child=f"{link.child_build}@{link.child_number}",
                child_revoked=link.child_revoked is not None,
                parent_version_id=link.parent_id,
                parent=f"{link.parent_build}@{link.parent_number}",
                image_id=link.image_id,
                reason=reason,
            )
        )
    return found
