"""The audit stores by URL scheme, and opening one from a URL.

The registry lives apart from the store protocol (``_store``) and the stores themselves, so that
the stores import the protocol and this module imports the stores, never the other way round.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from hallmark.errors import AuditError
from hallmark.registry import Registry

from ._postgres import PostgresStore
from ._sqlite import SqliteStore
from ._store import AuditStore

_URL_HINT = "Use sqlite:///path/to/audit.db or postgresql://host/db."


class StoreFactory(Protocol):
    """Opens the store at ``url``; ``create=False`` refuses to start a new log where there is none;
    ``read_only`` opens it so that nothing can be written through it."""

    def __call__(self, url: str, *, create: bool = True, read_only: bool = False) -> AuditStore: ...


def _open_postgres(url: str, *, create: bool = True, read_only: bool = False) -> AuditStore:
    # A PostgreSQL log lives in a database that must already exist; ``create`` concerns files.
    return PostgresStore(url, read_only=read_only)


# The explicit registry: URL scheme -> factory.  No discovery.  Registered in alphabetical
# order, the order an unknown scheme's error lists them in.
STORES: Registry[StoreFactory] = Registry("audit store scheme", error=AuditError, hint=_URL_HINT)
STORES.register("postgres", _open_postgres)
STORES.register("postgresql", _open_postgres)
STORES.register("sqlite", SqliteStore)


def open_store(url: str, *, create: bool = True, read_only: bool = False) -> AuditStore:
    """Open the store for ``url`` by its scheme; an unknown scheme lists the known ones.

    ``read_only`` opens it so that nothing can be written through it (SQLite ``mode=ro``,
    PostgreSQL read-only transactions); a missing SQLite file is then an error.
    """
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise AuditError(f"not a log URL: {url!r}", hint=_URL_HINT)
    # ``postgresql+psycopg://`` names a driver too (SQLAlchemy's convention): the store is the same.
    return STORES.get(scheme.split("+")[0].lower())(url, create=create, read_only=read_only)


def redact_url(url: str) -> str:
    """The URL without its password, for messages and reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
