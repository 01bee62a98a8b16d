"""``hallmark audit witness add|list|cosign`` and ``audit verify --witness`` against a C2SP
tlog-witness served on 127.0.0.1 (tests/audit/tlog_witness.py), and an offline witness."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from hallmark.audit import AuditLog, WitnessKey, cosign
from hallmark.pipeline.cli._audit import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "1000"})
    return result.exit_code, result.output


def local_witness():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parents[1] / "audit" / "tlog_witness.py"
    spec = importlib.util.spec_from_file_location("hallmark_tests_tlog_witness", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LocalWitness


def fill(home: Path, n: int, start: int = 0) -> tuple[str, str]:
    """Append ``n`` entries as the pipeline does; return the log's origin and verifier key."""
    with AuditLog.open(
        f"sqlite:///{home / 'audit.db'}",
        key_path=home / "keys" / "audit-checkpoint.key",
        checkpoint_path=home / "audit-checkpoint.txt",
    ) as log:
        for i in range(start, start + n):
            log.append("image.released", {"record_id": f"r{i}"}, personal={"user": "u"})
        return log.origin, log.verifier_key()


def test_an_online_witness_from_the_cli(home: Path, tmp_path: Path) -> None:
    origin, log_key = fill(home, 2)
    shutil.copy(home / "audit.db", tmp_path / "backup.db")
    shutil.copy(home / "audit-checkpoint.txt", tmp_path / "backup-checkpoint.txt")
    fill(home, 2, start=2)
    code, out = run("verify", "--witness")
    assert code == 2 and "no witnesses are registered" in out
    code, out = run("witness", "cosign")
    assert code == 2 and "no witnesses are registered" in out
    with local_witness()(name="witness.test/w1", origin=origin, log_key=log_key) as w:
        code, out = run("witness", "add", w.url)
        assert code == 2 and "needs its public key" in out
        code, out = run("witness", "add", w.url, "--key", str(w.key))
        assert code == 0 and "registered witness witness.test/w1" in out
        code, out = run("witness", "list", "--json")
        assert [json.loads(line) for line in out.splitlines()] == [
            {
                "schema": "urn:hallmark:schema:audit-witness:1",
                "name": "witness.test/w1",
                "key": str(w.key),
                "url": w.url,
            }
        ]
        code, out = run("verify", "--witness")
        assert (
            code == 1 and "witness witness.test/w1 has not cosigned a checkpoint of 4 entries or more" in out
        )
        code, out = run("witness", "cosign")
        assert code == 0 and "witness.test/w1 cosigned 4 entries" in out
        code, out = run("verify", "--witness", "--json")
        result = json.loads(out)
        assert code == 0 and result["witnesses"] == [
            {"name": "witness.test/w1", "ok": True, "size": 4, "timestamp": w.now, "reason": ""}
        ]
        code, out = run("checkpoint", "--export", str(home / "copy.txt"))
        assert code == 0 and "\u2014 witness.test/w1 " in (home / "copy.txt").read_text()  # cosigned copy
        # An insider restores the database and the home's checkpoint file from a backup of 2
        # entries: everything in the home agrees, but the witness remembers 4.
        for p in home.glob("audit.db*"):
            p.unlink()
        shutil.copy(tmp_path / "backup.db", home / "audit.db")
        shutil.copy(tmp_path / "backup-checkpoint.txt", home / "audit-checkpoint.txt")
        code, out = run("verify")
        assert code == 0  # the home alone cannot tell ...
        code, out = run("verify", "--witness")
        assert (
            code == 1 and "has not cosigned a checkpoint of 2 entries or more" in out
        )  # ... the witness can
        code, out = run("witness", "cosign")
        assert code == 1 and "it has seen 4 entries, more than the log's 2: the log was rolled back" in out
        fill(home, 3, start=10)  # and goes on from there: a fork of what the witness saw
        code, out = run("witness", "cosign")
        assert code == 1 and "the consistency proof failed" in out
        code, out = run("verify", "--witness", "--checkpoint", str(home / "copy.txt"))
        assert code == 1 and "log forked: its first 4 entries do not match the checkpoint file" in out


def test_an_offline_witness_from_the_cli(home: Path, tmp_path: Path) -> None:
    fill(home, 3)
    private = Ed25519PrivateKey.generate()
    key = WitnessKey.from_private(private, name="auditor.example/offline")
    (tmp_path / "witness.vkey").write_text(f"{key}\n")
    code, out = run("witness", "add", str(tmp_path / "witness.vkey"))
    assert code == 0 and "(offline)" in out
    code, out = run("witness", "cosign")
    assert code == 0 and "is offline" in out  # nobody to ask: not a failure
    code, out = run("checkpoint", "--export", str(tmp_path / "cp.txt"))
    note = (tmp_path / "cp.txt").read_text()
    (tmp_path / "cosigned.txt").write_text(
        note + cosign(private, name=key.name, note=note, timestamp=1_790_000_000)
    )
    code, out = run("verify", "--witness")
    assert code == 1
    code, out = run("verify", "--witness", "--checkpoint", str(tmp_path / "cosigned.txt"))
    assert code == 0 and "witness auditor.example/offline: cosigned 3 entries" in out


def test_a_text_edit_of_a_body_is_named_not_a_traceback(home: Path) -> None:
    fill(home, 5)
    conn = sqlite3.connect(home / "audit.db", isolation_level=None)
    conn.execute("UPDATE audit_entries SET body = replace(body, 'r3', 'r9') WHERE idx = 3")  # BLOB -> TEXT
    conn.close()
    result = runner.invoke(app, ["verify"], env={"COLUMNS": "1000"})
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "audit log does NOT verify at entry 3: entry 3 was edited: its body is TEXT" in result.output
