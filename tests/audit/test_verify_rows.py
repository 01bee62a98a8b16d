"""Raw-row edits made through SQL, 520 per store with a fixed seed: value, type and NULL changes,
deleted, duplicated and reordered rows, in every table.  Each edit that changes what is stored
makes ``verify_log`` fail with a named reason; an edit that changes nothing (a value set to
itself, a constraint that refuses it) passes; nothing ever raises.

Left out on purpose, because the log does not vouch for them: deleting a row of the checkpoint
history (each is a signed note of an older size, which any verifier can recompute; losing one loses
nothing) and its ``created`` column, and settings rows other than the origin (``retention_days`` is
a setting, not part of the signed log; the fuzzed log has none).
"""

from __future__ import annotations

import random
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hallmark.audit import AuditLog, verify_log

EDITS = 520
SEED = 2026_20
KEYS = {
    "audit_entries": ("idx",),
    "audit_personal": ("idx",),
    "audit_nodes": ("level", "idx"),
    "audit_checkpoints": ("size",),
    "audit_head": ("id",),
    "audit_meta": ("key",),
}
COLUMNS = {
    "audit_entries": ("idx", "kind", "created", "record_id", "payload", "sha256", "body", "leaf"),
    "audit_personal": ("idx", "salt", "data", "subject"),
    "audit_nodes": ("level", "idx", "hash"),
    "audit_checkpoints": ("size", "note"),
    "audit_head": ("id", "size", "root", "frontier", "last_leaf", "note", "vkey"),
    "audit_meta": ("key", "value"),
}
ALL_COLUMNS = {
    **COLUMNS,
    "audit_checkpoints": ("size", "note", "created"),
}
NAMED = re.compile(
    r"entry \d+|entries \d+|tree head|tree node|checkpoint|audit tables|origin|personal data|rolled back"
    r"|forked|replaced|covered by any signed|a personal-data row|an entry row|the log's settings"
)

Edit = list[tuple[str, tuple[Any, ...]]]


def build(url: str, key: Path, pin: Path) -> None:
    """A small log with every kind of row: personal data, an erasure, a stored checkpoint."""
    with AuditLog.open(url, key_path=key, checkpoint_path=pin) as log:
        for i in range(11):
            personal = {"prompt": f"p{i}", "user": f"u{i % 3}"} if i % 4 else None
            log.append(
                "image.released",
                {"record_id": f"r{i}", "payload": f"{i:012X}", "sha256": f"{i:064x}"},
                personal=personal,
            )
        log.checkpoint()
        log.erase("r5", force=True)
        log.append("prompt.blocked", {"decisions": {}}, personal={"user": "u9"})


def mutate_value(rng: random.Random, value: Any) -> Any:
    if isinstance(value, bytes):
        data = bytearray(value)
        choice = rng.randrange(4) if data else 2
        if choice == 0:
            p = rng.randrange(len(data))
            data[p] ^= 1 << rng.randrange(8)
        elif choice == 1:
            del data[-1]
        elif choice == 2:
            data.append(rng.randrange(256))
        else:
            data = bytearray()
        return bytes(data)
    if isinstance(value, str):
        choice = rng.randrange(4) if value else 2
        if choice == 0:
            p = rng.randrange(len(value))
            return value[:p] + rng.choice('aZ09+ /{"') + value[p + 1 :]
        return value[:-1] if choice == 1 else value + "x" if choice == 2 else ""
    if isinstance(value, int):
        return rng.choice([value + 1, value - 1, value * 2 + 7, 0, -1, 2**40])
    return rng.choice(["x", b"x", 1])


class Target:
    """One store's pristine log and a work copy that each edit is made on."""

    ph = "?"
    typed = False  # True where columns keep any type (SQLite)

    def restore(self) -> None: ...

    def connect(self) -> Any: ...

    def run(self, edit: Edit) -> bool:
        """Apply ``edit`` in one transaction; False when the database refused it."""
        conn = self.connect()
        try:
            conn.execute("BEGIN")
            try:
                for sql, params in edit:
                    conn.execute(sql.replace("?", self.ph), params)
            except Exception:
                conn.execute("ROLLBACK")
                return False
            conn.execute("COMMIT")
            return True
        finally:
            conn.close()

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        conn = self.connect()
        try:
            out = {}
            for table, columns in ALL_COLUMNS.items():
                rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
                out[table] = sorted((tuple((type(v).__name__, v) for v in row) for row in rows), key=repr)
            return out
        finally:
            conn.close()


class SqliteTarget(Target):
    typed = True

    def __init__(self, tmp: Path) -> None:
        self.pristine = tmp / "pristine" / "audit.db"
        self.work = tmp / "work" / "audit.db"
        self.work.parent.mkdir()
        self.url = f"sqlite:///{self.work}"
        self.build_url = f"sqlite:///{self.pristine}"

    def restore(self) -> None:
        for p in self.work.parent.glob("audit.db*"):
            p.unlink()
        shutil.copy(self.pristine, self.work)

    def connect(self) -> Any:
        conn = sqlite3.connect(self.work, isolation_level=None)
        conn.text_factory = lambda b: b.decode(
            "utf-8", "surrogateescape"
        )  # TEXT that is not UTF-8, losslessly
        return conn


class PostgresTarget(Target):
    ph = "%s"

    def __init__(self, base: str) -> None:
        tag = uuid.uuid4().hex[:10]
        self.base = base
        self.source, self.schema = f"hm_fuzz_{tag}_src", f"hm_fuzz_{tag}_work"
        self.build_url = f"{base}?schema={self.source}"
        self.url = f"{base}?schema={self.schema}"

    def connect(self) -> Any:
        import psycopg

        # No fsync per commit of these scratch copies: the fuzz restores them 520 times.
        return psycopg.connect(
            self.base, autocommit=True, options=f"-c search_path={self.schema} -c synchronous_commit=off"
        )

    def prepare(self) -> None:
        conn = self.connect()
        try:
            conn.execute(f"CREATE SCHEMA {self.schema}")
            for table in KEYS:
                conn.execute(f"CREATE TABLE {self.schema}.{table} (LIKE {self.source}.{table} INCLUDING ALL)")
        finally:
            conn.close()

    def restore(self) -> None:
        conn = self.connect()
        try:
            with conn.transaction():
                for table in KEYS:  # DELETE, not TRUNCATE: far cheaper on tables this small
                    conn.execute(f"DELETE FROM {table}")
                    conn.execute(f"INSERT INTO {table} SELECT * FROM {self.source}.{table}")
        finally:
            conn.close()

    def drop(self) -> None:
        conn = self.connect()
        try:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            conn.execute(f"DROP SCHEMA IF EXISTS {self.source} CASCADE")
        finally:
            conn.close()


def where(table: str, row: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    keys = KEYS[table]
    return " AND ".join(f"{k} = ?" for k in keys), tuple(row[k] for k in keys)


def edits(
    rng: random.Random, rows: dict[str, list[dict[str, Any]]], typed: bool
) -> Iterator[tuple[str, str, Any, Edit]]:
    """(kind, table, the edited row's entry index or None, statements) forever."""
    kinds = ["value", "value", "null", "delete", "duplicate", "reorder"] + ["type", "type"] * typed
    while True:
        kind = rng.choice(kinds)
        table = rng.choice([t for t in KEYS if rows[t]])
        row = rng.choice(rows[table])
        cond, key = where(table, row)
        index = row.get("idx") if table in ("audit_entries", "audit_personal") else None
        if table == "audit_meta" and row["key"] != "origin":
            continue
        column = rng.choice(COLUMNS[table])
        if kind == "value":
            yield (
                kind,
                table,
                (index, column),
                [(f"UPDATE {table} SET {column} = ? WHERE {cond}", (mutate_value(rng, row[column]), *key))],
            )
        elif kind == "null":
            yield kind, table, (index, column), [(f"UPDATE {table} SET {column} = NULL WHERE {cond}", key)]
        elif kind == "type":
            expr = rng.choice(
                [
                    f"CAST({column} AS TEXT)",
                    f"replace({column}, 'a', 'b')",
                    f"CAST({column} AS BLOB)",
                    f"CAST({column} AS REAL)",
                    f"{column} || ''",
                    f"{column} + 0.5",
                ]
            )
            yield kind, table, (index, column), [(f"UPDATE {table} SET {column} = {expr} WHERE {cond}", key)]
        elif kind == "delete":
            if table == "audit_checkpoints":
                continue  # left out: see the module docstring
            yield kind, table, (None, None), [(f"DELETE FROM {table} WHERE {cond}", key)]
        elif kind == "duplicate":
            if table == "audit_meta":
                continue
            copy = dict(row)
            k = KEYS[table][-1]
            copy[k] = (
                rng.choice([row[k] + 1, row[k] - 1, row[k] + 100, 0]) if isinstance(row[k], int) else row[k]
            )
            columns = ALL_COLUMNS[table]
            marks = ", ".join("?" * len(columns))
            yield (
                kind,
                table,
                (None, None),
                [
                    (
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                        tuple(copy[c] for c in columns),
                    )
                ],
            )
        else:
            others = [r for r in rows[table] if r is not row]
            if table in ("audit_head", "audit_meta") or not others:
                continue
            other = rng.choice(others)
            k = KEYS[table][-1]
            cond2, key2 = where(table, other)
            parking = -7 if isinstance(row[k], int) else "parking"
            yield (
                kind,
                table,
                (None, None),
                [
                    (f"UPDATE {table} SET {k} = ? WHERE {cond}", (parking, *key)),
                    (f"UPDATE {table} SET {k} = ? WHERE {cond2}", (row[k], *key2)),
                    (
                        f"UPDATE {table} SET {k} = ? WHERE {' AND '.join(f'{c} = ?' for c in KEYS[table])}",
                        (other[k], *[parking if c == k else row[c] for c in KEYS[table]]),
                    ),
                ],
            )


def fuzz(target: Target, key: Path, pin: Path) -> None:
    rng = random.Random(SEED)
    target.restore()
    pristine = target.dump()
    rows = {t: [dict(zip(ALL_COLUMNS[t], (v for _, v in r), strict=True)) for r in pristine[t]] for t in KEYS}
    assert verify_log(target.url, key_path=key, checkpoint_file=pin).verified
    problems: list[str] = []
    seen: dict[str, int] = {}
    changed_count = 0
    generator = edits(rng, rows, target.typed)
    for n in range(EDITS):
        kind, table, (index, column), edit = next(generator)
        target.restore()
        applied = target.run(edit)
        changed = applied and target.dump() != pristine
        what = f"#{n} {kind} {table}.{column} {edit}"
        try:
            check = verify_log(target.url, key_path=key, checkpoint_file=pin)
        except Exception as e:  # noqa: BLE001 - the point of the test
            problems.append(f"{what}: raised {type(e).__name__}: {e}")
            continue
        seen[kind] = seen.get(kind, 0) + 1
        if not changed:
            if not check.verified:
                problems.append(
                    f"{what}: changed nothing but did not verify: {check.reason or check.unchecked}"
                )
            continue
        changed_count += 1
        if check.ok or not NAMED.search(check.reason):
            problems.append(f"{what}: not caught or not named: ok={check.ok} {check.reason!r}")
        elif index is not None and column not in KEYS[table] and f"entry {index}" not in check.reason:
            problems.append(f"{what}: does not name entry {index}: {check.reason!r}")
    assert not problems, "\n".join(problems[:20])
    assert changed_count > EDITS * 0.6  # most edits did change the stored log
    assert set(seen) >= {"value", "null", "delete", "duplicate", "reorder"} | (
        {"type"} if target.typed else set()
    )


def test_raw_row_edits_on_sqlite(tmp_path: Path) -> None:
    target = SqliteTarget(tmp_path)
    key, pin = tmp_path / "keys" / "audit-checkpoint.key", tmp_path / "audit-checkpoint.txt"
    build(target.build_url, key, pin)
    fuzz(target, key, pin)


@pytest.mark.postgres
def test_raw_row_edits_on_postgresql(tmp_path: Path, pg_base_url: str) -> None:
    target = PostgresTarget(pg_base_url)
    key, pin = tmp_path / "keys" / "audit-checkpoint.key", tmp_path / "audit-checkpoint.txt"
    try:
        build(target.build_url, key, pin)
        target.prepare()
        fuzz(target, key, pin)
    finally:
        target.drop()
