"""Which registry a command talks to, and how to reach it.

`--registry URL`, else ``HYBRIDCORE_REGISTRY_URL``, else the embedded SQLite
file ``<workdir>/state/registry.db``. PostgreSQL URLs are written the way
people already write them for libpq (``postgresql://user@host:5432/db``,
``?host=/socket/dir`` for a Unix socket) and mapped to SQLAlchemy's psycopg 3
driver. The password is a secret: never taken from the command line, read from
``HYBRIDCORE_REGISTRY_URL``, ``HYBRIDCORE_REGISTRY_PASSWORD``, the file named by
``HYBRIDCORE_REGISTRY_PASSWORD_FILE``, or libpq's own ``PGPASSWORD``/``~/.pgpass``;
the URL is only ever shown with the password masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.layout import Workdir

__all__ = [
    "PASSWORD_ENV",
    "PASSWORD_FILE_ENV",
    "URL_ENV",
    "RegistryTarget",
    "resolve_target",
]

URL_ENV = "HYBRIDCORE_REGISTRY_URL"
PASSWORD_ENV = "HYBRIDCORE_REGISTRY_PASSWORD"
PASSWORD_FILE_ENV = "HYBRIDCORE_REGISTRY_PASSWORD_FILE"

_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}

Backend = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class RegistryTarget:
    """A registry's SQLAlchemy URL, how to show it, and the secret it holds (if any)."""

    url: URL
    backend: Backend
    shown: str
    secrets: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Identifies the database (with its credentials) for engine reuse."""
        return self.url.render_as_string(hide_password=False)


def _bad_url(text: str, why: str) -> HybridcoreError:
    return HybridcoreError(
        f"registry URL {text!r} cannot be used: {why}.",
        klass=ExitClass.CONFIG,
        rule="registry_url_invalid",
        remediation="Use postgresql://USER@HOST:PORT/DB (add ?host=/socket/dir for a Unix "
        "socket) or sqlite:///PATH; leave --registry out for the embedded "
        "<workdir>/state/registry.db.",
    )


def _masked(url: URL) -> str:
    return unquote(url.render_as_string(hide_password=True))


def _parse(text: str) -> URL:
    try:
        return make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise _bad_url("<unparsable>" if "@" in text else text, str(exc)) from exc


def _password_from(environ: Mapping[str, str]) -> str | None:
    if environ.get(PASSWORD_ENV):
        return environ[PASSWORD_ENV]
    file = environ.get(PASSWORD_FILE_ENV)
    if not file:
        return None
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise HybridcoreError(
            f"{PASSWORD_FILE_ENV} names {file}, which cannot be read: {exc.strerror}.",
            klass=ExitClass.CONFIG,
            rule="registry_password_file",
            remediation=f"Point {PASSWORD_FILE_ENV} at a readable file holding only the "
            "registry password (mode 0600).",
        ) from exc
    return text.rstrip("\r\n") or None


def _postgres(url: URL, environ: Mapping[str, str]) -> URL:
    url = url.set(drivername="postgresql+psycopg")
    if not url.database:
        raise _bad_url(_masked(url), "it names no database")
    if url.password is None:
        password = _password_from(environ)
        if password is not None:
            url = url.set(password=password)
    return url


def resolve_target(
    cli_url: str | None, *, workdir: Path, environ: Mapping[str, str]
) -> RegistryTarget:
    """The registry for this command. A password in `cli_url` is refused (exit 3)."""
    text = cli_url or environ.get(URL_ENV) or ""
    if not text:
        path = Workdir(workdir).registry_file
        url = URL.create("sqlite", database=str(path))
        return RegistryTarget(url=url, backend="sqlite", shown=str(path))
    url = _parse(text)
    if cli_url and url.password is not None:
        raise HybridcoreError(
            "refusing --registry with a password in the URL: a command line is visible to "
            "every user of the machine and lands in CI logs.",
            klass=ExitClass.SECURITY,
            rule="secret_on_command_line",
            remediation=f"Put the password in {PASSWORD_ENV} or a file named by "
            f"{PASSWORD_FILE_ENV} (or libpq's PGPASSWORD / ~/.pgpass), or pass the whole URL "
            f"in {URL_ENV}.",
        )
    scheme = url.drivername
    if scheme in _POSTGRES_SCHEMES:
        url = _postgres(url, environ)
        secrets = (url.password,) if isinstance(url.password, str) and url.password else ()
        return RegistryTarget(url=url, backend="postgresql", shown=_masked(url), secrets=secrets)
    if scheme in ("sqlite", "sqlite+pysqlite"):
        if not url.database or url.database == ":memory:":
            raise _bad_url(text, "an in-memory database would forget every version at exit")
        path = Path(url.database)
        url = URL.create("sqlite", database=str(path))
        return RegistryTarget(url=url, backend="sqlite", shown=str(path))
    raise _bad_url(_masked(url), f"the scheme {scheme!r} is not supported")
