"""Issue 20's attacks on a home's audit log, through ``hallmark audit verify``: none earns "verifies".

Wiping the log (deleting every row, dropping the tables, truncating or deleting the file), rolling it
back to an older state that verifies on its own, deleting a personal-data row without a
``record.erased`` entry, and rebuilding the log under a new checkpoint key.  Verification opens
the database read-only: it never re-creates what the attacker removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hallmark.audit import AuditLog, CheckpointFile
from hallmark.errors import TamperError
from hallmark.pipeline.cli._audit import app

runner = CliRunner()
RECORDS = [str(uuid.UUID(int=i + 1)) for i in range(13)]


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "1000"})  # no wrapped lines
    return result.exit_code, result.output


def open_log(home: Path, **kw: object) -> AuditLog:
    """The home's log as the pipeline opens it: the key file and the checkpoint file of the home."""
    return AuditLog.open(
        f"sqlite:///{home / 'audit.db'}",
        key_path=home / "keys" / "audit-checkpoint.key",
        checkpoint_path=home / "audit-checkpoint.txt",
        **kw,  # type: ignore[arg-type]
    )


def release(log: AuditLog, home: Path, i: int) -> None:
    (home / "manifests").mkdir(exist_ok=True)
    (home / "manifests" / f"{RECORDS[i]}.c2pa").write_bytes(b"jumbf")  # what the pipeline keeps
    log.append(
        "image.released",
        {"record_id": RECORDS[i], "sha256": hashlib.sha256(b"%d" % i).hexdigest()},
        personal={"prompt": "a lighthouse", "user": f"user{i % 2}"},
    )


@pytest.fixture
def home_log(home: Path) -> Path:
    with open_log(home) as log:
        for i in range(10):
            release(log, home, i)
    return home


def db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "audit.db", isolation_level=None)


def fingerprint(home: Path) -> tuple[bytes, list[str]]:
    """The database's bytes and the home's file names: what a read-only verify must leave alone."""
    path = home / "audit.db"
    data = path.read_bytes() if path.exists() else b""
    return data, sorted(p.name for p in home.iterdir() if not p.name.startswith("audit.db-"))


def test_a_clean_home_verifies(home_log: Path) -> None:
    code, out = run("verify")
    assert code == 0 and "audit log verifies: 10 entries" in out
    assert f"the key file {home_log / 'keys' / 'audit-checkpoint.key'}" in out
    assert "extends the home's checkpoint" in out
    code, out = run("verify", "--json")
    result = json.loads(out)
    assert code == 0 and result["status"] == "verified" and result["key_source"] == "key file"
    old_shape = {"ok", "size", "first_bad_index", "reason", "missing_files", "root_hash", "checked"}
    assert old_shape <= set(result)  # extended, not broken


@pytest.mark.parametrize("wipe", ["delete rows", "drop tables", "truncate", "delete file"])
def test_wiping_the_log_is_a_rollback_to_nothing(home_log: Path, wipe: str) -> None:
    path = home_log / "audit.db"
    if wipe == "delete rows":
        with db(home_log) as conn:
            for table in (
                "audit_entries",
                "audit_personal",
                "audit_nodes",
                "audit_checkpoints",
                "audit_head",
            ):
                conn.execute(f"DELETE FROM {table}")
    elif wipe == "drop tables":
        with db(home_log) as conn:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                conn.execute(f"DROP TABLE {table}")
    elif wipe == "truncate":
        for p in home_log.glob("audit.db*"):
            p.unlink()
        path.write_bytes(b"")
    else:
        for p in home_log.glob("audit.db*"):
            p.unlink()
    before = fingerprint(home_log)
    code, out = run("verify")
    assert code == 1 and "log rolled back from 10 to 0 entries" in out and "verifies" not in out
    assert fingerprint(home_log) == before  # read-only: nothing re-created
    # A writer (the pipeline, `audit erase`) refuses to start a new log under the checkpoint file.
    with pytest.raises(
        TamperError, match="the log was (deleted|wiped or replaced)|log rolled back from 10 to 0"
    ):
        open_log(home_log)
    assert fingerprint(home_log) == before


def test_a_wiped_log_in_a_home_without_a_checkpoint_file_still_fails(home_log: Path) -> None:
    (home_log / "audit-checkpoint.txt").unlink()  # a home from before the checkpoint file
    with db(home_log) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            conn.execute(f"DROP TABLE {table}")
    code, out = run("verify")
    assert code == 1 and "there are no audit tables" in out
    for p in home_log.glob("audit.db*"):
        p.unlink()
    code, out = run("verify")
    assert code == 2 and "no audit log at" in out  # nothing to verify, nothing claimed
    assert not (home_log / "audit.db").exists()


def test_rolling_back_to_an_older_checkpoint_kept_in_the_database(home_log: Path) -> None:
    """The attacker restores the tree head, checkpoints and nodes of size 10 and deletes what came
    after: the database verifies on its own, but not against the home's checkpoint file."""
    with open_log(home_log) as log:
        log.checkpoint()  # a signed checkpoint of size 10 kept in the database
    conn = db(home_log)
    old_head = conn.execute("SELECT * FROM audit_head").fetchall()
    with open_log(home_log) as log:
        for i in range(10, 13):
            release(log, home_log, i)
    conn.execute("BEGIN")
    conn.execute("DELETE FROM audit_entries WHERE idx >= 10")
    conn.execute("DELETE FROM audit_personal WHERE idx >= 10")
    conn.execute("DELETE FROM audit_nodes WHERE ((idx + 1) << level) > 10")
    conn.execute("DELETE FROM audit_head")
    conn.execute("INSERT INTO audit_head VALUES (?, ?, ?, ?, ?, ?, ?)", old_head[0])
    conn.execute("COMMIT")
    for i in range(10, 13):  # and the manifests of the rolled-back records
        (home_log / "manifests" / f"{RECORDS[i]}.c2pa").unlink()
    code, out = run("verify")
    assert code == 1 and "log rolled back from 13 to 10 entries" in out
    assert "the home's checkpoint" in out and "verifies" not in out
    # The home's manifests give it away too, even with the checkpoint file gone.
    (home_log / "manifests" / f"{RECORDS[11]}.c2pa").write_bytes(b"jumbf")
    (home_log / "audit-checkpoint.txt").unlink()
    code, out = run("verify")
    assert code == 1 and f"the manifest store holds 1 record(s) the log lacks: {RECORDS[11]}" in out
    # Without either, an upgraded home is told it is not protected, never "verifies".
    (home_log / "manifests" / f"{RECORDS[11]}.c2pa").unlink()
    code, out = run("verify")
    assert code == 3 and "consistent, but rollback not checked: there is no checkpoint file" in out
    assert "hallmark audit checkpoint --pin" in out and "verifies" not in out
    code, out = run("checkpoint", "--pin")
    assert code == 0 and CheckpointFile(home_log / "audit-checkpoint.txt").read().size == 10  # type: ignore[union-attr]
    code, out = run("verify")
    assert code == 0 and "audit log verifies: 10 entries" in out


def test_a_log_rolled_back_from_a_backup_file(home_log: Path) -> None:
    shutil.copy(home_log / "audit.db", home_log / "backup.db")
    with open_log(home_log) as log:
        for i in range(10, 12):
            release(log, home_log, i)
    for p in home_log.glob("audit.db*"):
        p.unlink()
    shutil.copy(home_log / "backup.db", home_log / "audit.db")
    code, out = run("verify")
    assert code == 1 and "log rolled back from 12 to 10 entries" in out


def test_deleting_a_personal_row_without_an_erasure_entry(home_log: Path) -> None:
    with db(home_log) as conn:
        conn.execute("DELETE FROM audit_personal WHERE idx = 3")
    code, out = run("verify")
    assert code == 1 and "does NOT verify at entry 3" in out
    assert "entry 3 was edited: its personal data was deleted without a record.erased entry" in out


def test_erasing_a_personal_row_properly_still_verifies(home_log: Path) -> None:
    code, _ = run("erase", RECORDS[3], "--force")
    assert code == 0
    code, out = run("verify")
    assert code == 0 and "audit log verifies: 11 entries" in out  # the erasure entry moved the file on
    assert CheckpointFile(home_log / "audit-checkpoint.txt").read().size == 11  # type: ignore[union-attr]


def rebuild_under_a_new_key(home: Path, target: Path) -> str:
    """An attacker's copy of the log with entry 4 changed, re-signed under a key of their own."""
    with AuditLog.open(f"sqlite:///{home / 'audit.db'}", read_only=True) as log:
        entries = list(log.entries())
    with AuditLog.open(f"sqlite:///{target}", key_path=target.parent / "forger.key") as forged:
        for e in entries:
            data = dict(e.data, sha256="0" * 64) if e.index == 4 else e.data
            forged.append(e.kind, data, personal=e.personal)
        return forged.verifier_key()


def test_a_log_rebuilt_under_a_new_key(home_log: Path, tmp_path: Path) -> None:
    with open_log(home_log) as log:
        real_key = log.verifier_key()
    forger_key = rebuild_under_a_new_key(home_log, tmp_path / "rebuilt.db")
    # An auditor's machine: no key file, no checkpoint file, just the database handed over.
    auditor = tmp_path / "auditor"
    rebuilt = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    code, out = run("verify", "--log", rebuilt, "--home", str(auditor))
    assert code == 3 and "consistent, but authenticity not checked: pass --key" in out
    assert f"checkpoint key {forger_key} (from the log itself)" in out and "verifies" not in out
    code, out = run("verify", "--log", rebuilt, "--home", str(auditor), "--json")
    assert code == 3 and json.loads(out)["status"] == "unchecked" and json.loads(out)["key_source"] == "log"
    code, out = run("verify", "--log", rebuilt, "--home", str(auditor), "--key", real_key)
    assert code == 1 and "not signed by key" in out and "(from --key)" in out
    # The operator's home: the rebuilt database put in place of the real one.
    for p in home_log.glob("audit.db*"):
        p.unlink()
    shutil.copy(tmp_path / "rebuilt.db", home_log / "audit.db")
    code, out = run("verify")
    assert code == 1 and "the log was replaced" in out
    (home_log / "audit-checkpoint.txt").unlink()  # even without the checkpoint file, the key file
    code, out = run("verify")
    assert code == 1 and "not signed by key" in out


def test_verify_help_documents_the_exit_codes() -> None:
    code, out = run("verify", "--help")
    assert code == 0 and "3 consistent, but" in " ".join(out.split())


@pytest.mark.postgres
def test_a_wiped_postgresql_log_of_a_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A home whose log is in PostgreSQL (HALLMARK_AUDIT_URL): the checkpoint file stays in the home."""
    import socket

    import psycopg

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    base = "postgresql://postgres@127.0.0.1:5432/test"
    schema = f"hm_cli_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("HALLMARK_AUDIT_URL", f"{base}?schema={schema}")
    try:
        from hallmark.pipeline._home import Home

        with Home.resolve(home).open_audit_log() as log:
            for i in range(5):
                log.append("image.released", {"record_id": RECORDS[i]})
        code, out = run("verify")
        assert code == 0 and "audit log verifies: 5 entries" in out
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        code, out = run("verify")
        assert code == 1 and "log rolled back from 5 to 0 entries: there are no audit tables" in out
        with psycopg.connect(base, autocommit=True) as conn:  # read-only: the schema was not re-created
            assert conn.execute("SELECT to_regnamespace(%s)", (schema,)).fetchone()[0] is None
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
