"""One run of a request at a time, across every worker that shares the audit log.

The audit log decides which images of a request are settled, but looking and releasing are two
steps: two deliveries of one job running at once (a worker cut off from the broker keeps working
while its job is handed to another) could both find nothing and both release.  So a run holds a
lock named by its request id for as long as it looks and releases: a PostgreSQL advisory lock on
the audit log's server, or a byte-range lock on a file beside a SQLite log (one machine).  Both
belong to the connection or the process, so a worker killed mid-run frees its lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hallmark.errors import AuditError


def lock_key(request_id: str) -> int:
    """A signed 63-bit number for the request id (what ``pg_advisory_lock`` takes)."""
    return int.from_bytes(hashlib.sha256(b"hallmark-request:" + request_id.encode()).digest()[:8], "big") >> 1


@contextmanager
def request_lock(audit_url: str, request_id: str, *, lock_file: Path) -> Iterator[None]:
    """Hold the lock of ``request_id`` for the duration of the block (waiting for it if another
    run holds it)."""
    if audit_url.startswith("sqlite"):
        with _file_lock(lock_file, lock_key(request_id)):
            yield
        return
    with _advisory_lock(audit_url, lock_key(request_id)):
        yield


@contextmanager
def _advisory_lock(url: str, key: int) -> Iterator[None]:
    import psycopg

    parts = urlsplit(url)  # hallmark's own ``schema`` parameter is not libpq's
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "schema"]
    conninfo = urlunsplit(parts._replace(query=urlencode(query)))
    try:
        conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
    except psycopg.Error as e:
        raise AuditError(
            f"cannot connect to the audit log's server to lock a request: {type(e).__name__}"
        ) from e
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


@contextmanager
def _file_lock(path: Path, key: int) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    offset = key % (2**31)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, offset)
        try:
            yield
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)
    finally:
        os.close(fd)
