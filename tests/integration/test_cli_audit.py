"""``hallmark audit ...`` end to end on a real log in a temporary HALLMARK_HOME."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hallmark.audit import AuditLog
from hallmark.pipeline.cli._audit import app

T0 = datetime(2026, 5, 1, tzinfo=UTC)
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def filled(home: Path, tmp_path: Path) -> Path:
    image = tmp_path / "kept.png"
    image.write_bytes(b"png")
    with AuditLog.open(
        f"sqlite:///{home / 'audit.db'}",
        key_path=home / "keys" / "audit-checkpoint.key",
        checkpoint_path=home / "audit-checkpoint.txt",  # as the pipeline opens it
    ) as log:
        for i in range(6):
            log.append(
                "image.released",
                {
                    "record_id": f"rec-{i}",
                    "path": str(image) if i else str(tmp_path / "gone.png"),
                    "sha256": f"{i:064x}",
                    "payload": f"{i:012x}",
                    "model": "tiny",
                    "policy": {"id": "default", "version": 1, "digest": "ab" * 32},
                    "decisions": {
                        "prompt": {"action": "allow", "findings": []},
                        "image": {"action": "allow"},
                    },
                },
                personal={"prompt": "a lighthouse", "user": "ann" if i % 2 else "bob"},
                now=T0 + timedelta(days=i),
            )
        log.append(
            "prompt.blocked",
            {
                "decisions": {
                    "prompt": {"action": "block", "findings": [{"category": "violence", "action": "block"}]}
                }
            },
            personal={"prompt": "<redacted>", "user": "bob"},
            now=T0 + timedelta(days=9),
        )
    return home


def json_lines(text: str) -> list[dict]:
    """``list``, ``show`` and ``find`` print JSON Lines: one entry per line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_list_show_find(filled: Path) -> None:
    code, out = run("list", "--json", "--user", "ann")
    assert code == 0 and [e["index"] for e in json_lines(out)] == [1, 3, 5]
    code, out = run("list", "--verdict", "blocked", "--json")
    assert [e["kind"] for e in json_lines(out)] == ["prompt.blocked"]
    code, out = run("list", "--since", "2026-05-03", "--until", "2026-05-05", "--json")
    assert [e["index"] for e in json_lines(out)] == [2, 3]
    assert {e["schema"] for e in json_lines(out)} == {"urn:hallmark:schema:audit-entry:1"}
    code, out = run("list", "--category", "violence")
    assert code == 0 and "prompt.blocked" in out
    code, out = run("show", "2", "--json")
    assert code == 0 and json.loads(out)["data"]["record_id"] == "rec-2"
    code, out = run("show", "rec-4", "--json")
    assert json.loads(out)["index"] == 4
    code, out = run("find", "--payload", "000000000003", "--json")
    assert code == 0 and json_lines(out)[0]["index"] == 3
    code, out = run("find", "--sha256", "f" * 64)
    assert code == 1
    code, out = run("show", "99")
    assert code == 2 and "no audit entry at index 99" in out


def test_verify_reports_missing_files_and_tampering(filled: Path) -> None:
    code, out = run("verify", "--json")
    result = json.loads(out)
    assert code == 0 and result["ok"] and result["size"] == 7
    assert [m["index"] for m in result["missing_files"]] == [0]
    code, out = run("verify")
    assert code == 0 and "audit log verifies" in out and "missing file" in out
    db = sqlite3.connect(filled / "audit.db")
    body = db.execute("SELECT body FROM audit_entries WHERE idx = 4").fetchone()[0]
    db.execute("UPDATE audit_entries SET body = ? WHERE idx = 4", (body.replace(b"rec-4", b"rec-X"),))
    db.commit()
    code, out = run("verify", "--json")
    result = json.loads(out)
    assert code == 1 and result["first_bad_index"] == 4 and "edited" in result["reason"]
    code, out = run("verify")
    assert code == 1 and "does NOT verify at entry 4" in out


def test_prove_and_verify_proof_offline(filled: Path, tmp_path: Path) -> None:
    code, out = run("checkpoint", "--out", str(tmp_path / "cp.txt"), "--json")
    assert code == 0
    cp = json.loads(out)
    (tmp_path / "key.txt").write_text(cp["verifier_key"] + "\n")
    code, _ = run("prove", "3", "--out", str(tmp_path / "p.json"))
    assert code == 0
    code, out = run("verify-proof", str(tmp_path / "p.json"), "--key", str(tmp_path / "key.txt"), "--json")
    assert code == 0 and json.loads(out)["ok"]
    code, out = run("verify-proof", str(tmp_path / "p.json"), "--key", cp["verifier_key"])
    assert code == 0 and "proof verifies" in out
    # a consistency proof from the saved checkpoint after more appends
    with AuditLog.open(f"sqlite:///{filled / 'audit.db'}") as log:
        log.append("generation.failed", {"error": "x"})
    code, out = run("prove", "--since-checkpoint", str(tmp_path / "cp.txt"))
    assert code == 0
    (tmp_path / "c.json").write_text(out)
    code, out = run("verify-proof", str(tmp_path / "c.json"), "--key", cp["verifier_key"], "--json")
    assert code == 0 and json.loads(out) | {"origin": None} == {
        "schema": "urn:hallmark:schema:audit-proof-check:1",
        "ok": True,
        "type": "consistency",
        "origin": None,
        "old_size": 7,
        "new_size": 8,
    }
    # the same proof against another key, and a tampered proof
    from hallmark.audit._checkpoint import CheckpointSigner

    other = CheckpointSigner.from_file(tmp_path / "other.key", name=cp["origin"], create=True)
    code, out = run("verify-proof", str(tmp_path / "p.json"), "--key", str(other.verifier), "--json")
    assert code == 1 and "signed by another key" in json.loads(out)["reason"]
    proof = json.loads((tmp_path / "p.json").read_text())
    proof["entry"] = proof["entry"].replace("rec-3", "rec-9")
    (tmp_path / "bad.json").write_text(json.dumps(proof))
    code, out = run("verify-proof", str(tmp_path / "bad.json"), "--key", cp["verifier_key"])
    assert code == 1 and "does NOT verify" in out
    (tmp_path / "junk.json").write_text("junk")
    code, out = run("verify-proof", str(tmp_path / "junk.json"), "--key", cp["verifier_key"])
    assert code == 2 and "is not JSON" in out
    code, out = run("prove")
    assert code == 2 and "give an entry INDEX" in out
    code, out = run("verify", "--checkpoint", str(tmp_path / "cp.txt"))
    assert code == 0


def test_erase_export_stats_migrate(filled: Path, tmp_path: Path) -> None:
    code, out = run("erase", "rec-2", "--json")
    assert code == 0 and json.loads(out)["kind"] == "record.erased"
    code, out = run("erase", "rec-2")
    assert code == 2 and "no personal data left" in out
    code, out = run("verify", "--json")
    assert code == 0 and json.loads(out)["ok"]
    code, out = run("export", "--format", "csv", "--include-personal")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 8 and rows[2]["personal"] == "" and "ann" in rows[1]["personal"]
    code, out = run("export", "--out", str(tmp_path / "e.jsonl"))
    assert code == 0 and len((tmp_path / "e.jsonl").read_text().splitlines()) == 8
    code, out = run("export", "--format", "xml")
    assert code == 2 and "unknown export format" in out
    code, out = run("stats", "--json", "--plot", str(tmp_path / "stats.png"))
    stats = json.loads(out)
    assert code == 0 and stats["by_kind"]["image.released"] == 6 and stats["by_decision"]["prompt.block"] == 1
    assert (tmp_path / "stats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out = run("stats")
    assert code == 0 and "per decision" in out
    code, out = run("migrate", "--to", f"sqlite:///{tmp_path / 'copy.db'}", "--json")
    assert code == 0 and json.loads(out)["size"] == 8
    code, out = run("verify", "--log", f"sqlite:///{tmp_path / 'copy.db'}", "--json")
    assert code == 3 and json.loads(out)["ok"] and json.loads(out)["status"] == "unchecked"
    assert "rollback not checked" in json.loads(out)["unchecked"][0]  # a copy: no checkpoint kept for it
    code, out = run("checkpoint", "--export", str(tmp_path / "cp.txt"))
    code, out = run(
        "verify", "--log", f"sqlite:///{tmp_path / 'copy.db'}", "--checkpoint", str(tmp_path / "cp.txt")
    )
    assert code == 0 and "audit log verifies" in out


def test_retention_is_enforced_from_the_cli(home: Path) -> None:
    with AuditLog.open(
        f"sqlite:///{home / 'audit.db'}", key_path=home / "keys" / "audit-checkpoint.key", retention_days=180
    ) as log:
        log.append("image.released", {"record_id": "young"}, personal={"prompt": "p", "user": "u"})
    code, out = run("erase", "young")
    assert code == 2 and "retention setting keeps records 180 days" in out and "--force" in out
    code, out = run("erase", "young", "--force")
    assert code == 0


def test_missing_log_is_an_input_error(home: Path) -> None:
    code, out = run("list")
    assert code == 2 and "no audit log at" in out
    assert not (home / "audit.db").exists()


def test_top_level_cli_wires_the_audit_group(filled: Path) -> None:
    from hallmark.pipeline.cli import app as hallmark

    result = runner.invoke(hallmark, ["audit", "verify", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["ok"]
