"""Revocation: a revoked version is hidden from channel lookups and cannot be
assigned; `cascade` revokes every descendant too, `restore` undoes a revocation
and the ones it cascaded to."""

from __future__ import annotations

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Connection

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.registry.ancestry import descendants
from hybridcore.packer.store.registry.schema import versions
from hybridcore.packer.store.registry.versions import version_rows

__all__ = ["refuse_revoked", "restore", "revoke"]


def revoke(
    connection: Connection,
    version_id: str,
    *,
    reason: str,
    cascade: bool,
    actor: str | None,
    now: str,
) -> list[str]:
    """Revoke `version_id` (and, with `cascade`, its descendants not yet revoked).
    Returns the IDs revoked by this call."""
    if not reason.strip():
        raise HybridcoreError(
            "a revocation needs a reason.",
            klass=ExitClass.CONFIG,
            rule="revocation_reason_missing",
            remediation="Pass --reason TEXT: consumers see it when a lookup is refused.",
        )
    done = []
    result = connection.execute(
        update(versions)
        .where(and_(versions.c.id == version_id, versions.c.revoked_at.is_(None)))
        .values(revoked_at=now, revoked_reason=reason, revoked_by=actor, revoked_via=None)
    )
    if result.rowcount:
        done.append(version_id)
    if cascade:
        for child in descendants(connection, version_id):
            result = connection.execute(
                update(versions)
                .where(and_(versions.c.id == child, versions.c.revoked_at.is_(None)))
                .values(
                    revoked_at=now,
                    revoked_reason=f"built from revoked {version_id}: {reason}",
                    revoked_by=actor,
                    revoked_via=version_id,
                )
            )
            if result.rowcount:
                done.append(child)
    return done


def restore(connection: Connection, version_id: str) -> list[str]:
    """Lift the revocation of `version_id` and of the versions it cascaded to."""
    cascaded = [
        child
        for child, row in version_rows(connection, descendants(connection, version_id)).items()
        if row["revoked_via"] == version_id
    ]
    targets = [version_id, *cascaded]
    result = connection.execute(
        update(versions)
        .where(
            and_(
                or_(versions.c.id == version_id, versions.c.id.in_(cascaded)),
                versions.c.revoked_at.is_not(None),
            )
        )
        .values(revoked_at=None, revoked_reason=None, revoked_by=None, revoked_via=None)
    )
    return targets if result.rowcount else []


def refuse_revoked(connection: Connection, version_id: str, *, doing: str) -> None:
    """Raise the version's revocation (exit 3, rule version_revoked) if it has one."""
    row = version_rows(connection, [version_id]).get(version_id)
    if row is None or row["revoked_at"] is None:
        return
    raise HybridcoreError(
        f"{doing}: version {row['build']}@{row['number']} ({version_id}) was revoked at "
        f"{row['revoked_at']}: {row['revoked_reason']}.",
        klass=ExitClass.SECURITY,
        rule="version_revoked",
        remediation="Do not use this image: assign a version that is not revoked (`registry "
        "versions BUILD` lists them), or `registry restore` it if the revocation was wrong.",
    )
