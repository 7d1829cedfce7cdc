"""Database failures as HybridcoreErrors with the right exit class, passwords scrubbed.

Unreachable server or a busy SQLite file: transient (2). Refused credentials or
privileges (a read-only role asked to write): security (3). Anything else the
database says: an integrity problem a person must look at (3).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.registry.target import RegistryTarget
from hybridcore.redaction.engine import Redactor

__all__ = ["registry_errors"]

_AUTH_STATES = {"28000", "28P01"}
_PRIVILEGE_STATES = {"42501"}
_READ_ONLY_STATES = {"25006"}


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _translate(exc: SQLAlchemyError, target: RegistryTarget) -> HybridcoreError:
    said = Redactor(target.secrets).scrub(_first_line(exc))
    where = f"registry {target.shown}"
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    # libpq reports a refused login while connecting, before any SQLSTATE exists
    if state in _AUTH_STATES or "authentication failed" in said:
        return HybridcoreError(
            f"{where} refused the credentials: {said}.",
            klass=ExitClass.SECURITY,
            rule="registry_auth_failed",
            remediation="Check the user in the registry URL and its password "
            "(HYBRIDCORE_REGISTRY_PASSWORD, HYBRIDCORE_REGISTRY_PASSWORD_FILE or PGPASSWORD).",
        )
    if state in _PRIVILEGE_STATES or state in _READ_ONLY_STATES or "readonly database" in said:
        return HybridcoreError(
            f"{where} denied this change: {said}.",
            klass=ExitClass.SECURITY,
            rule="registry_permission_denied",
            remediation="This role may only read the registry (consumers look up, CI "
            "registers): run the command with the writer role's credentials, or ask the "
            "registry's owner to grant it (docs/registry.md, Roles).",
        )
    unreachable = target.backend == "postgresql" and state is None
    if isinstance(exc, OperationalError) and unreachable:
        return HybridcoreError(
            f"{where} cannot be reached: {said}.",
            klass=ExitClass.TRANSIENT,
            rule="registry_unavailable",
            remediation="Check that the database server is up and the URL's host, port or "
            "?host=/socket/dir is right; the command may be retried.",
        )
    if "database is locked" in said or (state or "").startswith(("08", "40", "57P")):
        return HybridcoreError(
            f"{where} is busy or went away: {said}.",
            klass=ExitClass.TRANSIENT,
            rule="registry_busy",
            remediation="Another writer held the registry too long; retry the command.",
        )
    if "unable to open database file" in said:
        return HybridcoreError(
            f"{where} cannot be opened: {said}.",
            klass=ExitClass.CONFIG,
            rule="registry_unopenable",
            remediation="Make --workdir (and its state/ directory) writable, or point "
            "--registry at a database you can reach.",
        )
    return HybridcoreError(
        f"{where} failed: {said}.",
        klass=ExitClass.SECURITY,
        rule="registry_error",
        remediation="Look at the database's own log; if the schema was changed by hand, "
        "restore it or run `hybridcore-packer registry migrate`.",
    )


@contextmanager
def registry_errors(target: RegistryTarget) -> Iterator[None]:
    """Turn SQLAlchemy errors raised inside into HybridcoreErrors."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise _translate(exc, target) from exc
