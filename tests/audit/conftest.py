"""Audit fixtures: the same tests run against SQLite and PostgreSQL (skipped only without a server)."""

from __future__ import annotations

import importlib.util
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("HALLMARK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


class RawDb:
    """Direct SQL on a log's tables, for tests that tamper with the stored rows."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            import sqlite3

            self.ph = "?"
            self.conn = sqlite3.connect(url.split("://", 1)[1][1:], isolation_level=None)
        else:
            import psycopg

            from hallmark.audit._postgres import split_schema

            conninfo, schema = split_schema(url)
            self.ph = "%s"
            self.conn = psycopg.connect(conninfo, autocommit=True, options=f"-c search_path={schema}")

    def query(self, sql: str, params: tuple = ()) -> list:
        return list(self.conn.execute(sql.replace("?", self.ph), params).fetchall())

    def run(self, *statements: tuple[str, tuple]) -> None:
        self.conn.execute("BEGIN")
        try:
            for sql, params in statements:
                self.conn.execute(sql.replace("?", self.ph), params)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def rows(self) -> list[tuple[int, bytes, bytes]]:
        return [
            (int(i), bytes(b), bytes(lf))
            for i, b, lf in self.query("SELECT idx, body, leaf FROM audit_entries ORDER BY idx")
        ]

    def full_rows(self) -> list[tuple]:
        return self.query(
            "SELECT idx, kind, created, record_id, payload, sha256, body, leaf FROM audit_entries ORDER BY idx"
        )

    def restore(self, rows: list[tuple]) -> None:
        self.conn.execute("BEGIN")
        cur = self.conn.cursor()
        cur.execute("DELETE FROM audit_entries")
        cur.executemany(
            "INSERT INTO audit_entries (idx, kind, created, record_id, payload, sha256, body, leaf)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)".replace("?", self.ph),
            rows,
        )
        self.conn.execute("COMMIT")

    def replace_rows(self, rows: list[tuple[int, bytes, bytes]]) -> None:
        """Replace the entries table with ``rows`` (index, body, leaf), keeping the other columns simple."""
        self.conn.execute("BEGIN")
        cur = self.conn.cursor()
        cur.execute("DELETE FROM audit_entries")
        cur.executemany(
            "INSERT INTO audit_entries (idx, kind, created, body, leaf) VALUES (?, 'image.released', '', ?, ?)".replace(
                "?", self.ph
            ),
            rows,
        )
        self.conn.execute("COMMIT")

    def dump(self) -> dict[str, list[tuple]]:
        """Every row of every audit table, as stored (values and their types)."""
        from hallmark.audit._sql import TABLES

        present = {t for t in TABLES if self.has_table(t)}
        return {t: sorted(self.query(f"SELECT * FROM {t}"), key=repr) for t in TABLES if t in present}

    def has_table(self, table: str) -> bool:
        if self.ph == "?":
            return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)))
        return self.query("SELECT to_regclass(?)", (table,))[0][0] is not None

    def load(self, dump: dict[str, list[tuple]]) -> None:
        """Put every table back as ``dump`` holds it."""
        self.conn.execute("BEGIN")
        cur = self.conn.cursor()
        for table, rows in dump.items():
            cur.execute(f"DELETE FROM {table}")
            if rows:
                marks = ", ".join([self.ph] * len(rows[0]))
                cur.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty log URL: a SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    if not _pg_reachable():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    import psycopg

    schema = f"hm_test_{uuid.uuid4().hex[:12]}"
    yield f"{PG_URL}?schema={schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def pg_base_url() -> str:
    """The PostgreSQL test database's URL; the test is skipped when the server is unreachable."""
    if not _pg_reachable():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    return PG_URL


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "audit-checkpoint.key"


@pytest.fixture
def raw(log_url: str) -> Iterator[RawDb]:
    db = RawDb(log_url)
    yield db
    db.close()


@pytest.fixture
def released():  # type: ignore[no-untyped-def]
    """A factory of realistic ``image.released`` payloads."""
    return make_released


def make_released(i: int, **extra: object) -> dict:
    """A realistic ``image.released`` payload."""
    data = {
        "record_id": f"0190-{i:04d}",
        "path": f"/nonexistent/{i}.png",
        "sha256": f"{i:064x}",
        "scheme_id": "hallmark.dwtdctsvd.bch48",
        "payload": f"{i:012X}",
        "decisions": {
            "prompt": {"action": "allow", "findings": []},
            "image": {
                "action": "flag" if i % 3 == 0 else "allow",
                "findings": [{"category": "sexual"}] if i % 3 == 0 else [],
            },
        },
        "model": "tiny" if i % 2 else "sd-turbo",
        "seed": i,
        "policy": {"id": "default", "version": 1, "digest": ("ab" if i % 2 else "cd") * 32},
    }
    data.update(extra)
    return data


def load_helper(name: str):  # type: ignore[no-untyped-def]
    """A helper module of tests/audit by file name (tests are imported in importlib mode: no package)."""
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"hallmark_tests_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def local_witness():  # type: ignore[no-untyped-def]
    """The ``LocalWitness`` class: a minimal C2SP tlog-witness on 127.0.0.1 (``tlog_witness.py``)."""
    return load_helper("tlog_witness").LocalWitness
