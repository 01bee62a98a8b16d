"""diagnose(): what a home and this machine lack, and a one-line fix for each problem."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hallmark.pipeline._doctor import Diagnosis, DiagnosisStatus, DoctorReport, diagnose
from hallmark.provenance import init_keys, read_key_info

OK, WARNING, PROBLEM, NOT_CHECKED = (
    DiagnosisStatus.OK,
    DiagnosisStatus.WARNING,
    DiagnosisStatus.PROBLEM,
    DiagnosisStatus.NOT_CHECKED,
)


@pytest.fixture
def keyed(home: Path) -> Path:
    init_keys(home / "keys")
    return home


@pytest.fixture
def no_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave the dependencies out (importing them all takes seconds); their own tests cover them."""
    monkeypatch.setattr("hallmark.pipeline._doctor._dependencies", lambda tick: [])


def policy_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text("id: test\nextends: default\n" + body)
    return path


def the(report: DoctorReport, name: str) -> Diagnosis:
    found = report.check(name)
    assert found is not None, [d.name for d in report.checks]
    return found


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_fresh_home_after_keys_init_is_ready_and_nothing_is_created(keyed: Path) -> None:
    before = files_under(keyed)
    report = diagnose(keyed)
    assert report.ok, [d for d in report.checks if d.status is PROBLEM]
    assert files_under(keyed) == before  # no audit database, no manifest folder, no key
    from importlib import metadata

    declared = [r.split(";")[0] for r in metadata.requires("hallmark-genai") or [] if "extra ==" not in r]
    packages = [d for d in report.checks if d.name.startswith("package ")]
    assert len(packages) == len(declared) and all(d.status is OK for d in packages)
    assert the(report, "package torch").detail.startswith("2.")
    for name in (
        "python",
        "policy",
        "prompt filter",
        "image classifier",
        "keys",
        "signing key",
        "watermark key",
    ):
        assert the(report, name).status is OK, the(report, name)
    assert "valid until" in the(report, "signing certificate").detail
    assert "first generate creates" in the(report, "audit log").detail
    assert the(report, "labels").status is NOT_CHECKED  # the default policy draws no label
    text = json.dumps(report.to_dict())
    assert (keyed / "keys" / "watermark.key").read_bytes().hex() not in text
    assert (keyed / "keys" / "signer.key").read_text().splitlines()[1] not in text


def test_a_home_without_keys_says_to_run_keys_init(home: Path, tmp_path: Path, no_imports: None) -> None:
    report = diagnose(home)  # HALLMARK_HOME: the command needs no --home
    keys = the(report, "keys")
    assert not report.ok and keys.status is PROBLEM and keys.fix == "run `hallmark keys init`"
    assert the(report, "signing key").status is NOT_CHECKED
    assert not home.exists()
    other = tmp_path / "other home"
    assert the(diagnose(other), "keys").fix == f"run `hallmark keys init --home '{other}'`"


def test_a_deleted_signing_key_is_a_problem_whose_fix_names_the_file(keyed: Path, no_imports: None) -> None:
    (keyed / "keys" / "signer.key").unlink()
    report = diagnose(keyed)
    signing = the(report, "signing key")
    assert not report.ok and signing.status is PROBLEM
    assert "signer.key" in signing.detail and "\n" not in signing.fix
    assert f"restore {keyed / 'keys' / 'signer.key'} from a backup" in signing.fix
    assert "hallmark keys init --force" in signing.fix


def test_a_signing_key_others_can_read_is_a_problem_fixed_by_chmod(keyed: Path, no_imports: None) -> None:
    key = keyed / "keys" / "signer.key"
    os.chmod(key, 0o644)
    report = diagnose(keyed)
    signing = the(report, "signing key")
    assert not report.ok and signing.status is PROBLEM
    assert "0644" in signing.detail and f"chmod 600 {key}" in signing.fix
    assert report.check("key file signer.key") is None  # reported once


def test_loose_permissions_that_do_not_stop_signing_are_warnings(keyed: Path, no_imports: None) -> None:
    os.chmod(keyed / "keys" / "ca.key", 0o640)
    os.chmod(keyed / "keys", 0o755)
    report = diagnose(keyed)
    assert report.ok
    assert the(report, "key file ca.key").status is WARNING
    assert the(report, "key file ca.key").fix == f"chmod 600 {keyed / 'keys' / 'ca.key'}"
    assert the(report, "keys").status is WARNING and the(report, "keys").fix.startswith("chmod 700 ")


def test_the_certificate_warns_before_it_expires_and_fails_after(keyed: Path, no_imports: None) -> None:
    end = read_key_info(keyed / "keys").not_after
    soon = diagnose(keyed, now=end - timedelta(days=10))
    assert soon.ok and the(soon, "signing certificate").status is WARNING
    assert "in 10 days" in the(soon, "signing certificate").detail
    late = diagnose(keyed, now=end + timedelta(days=1))
    assert not late.ok and the(late, "signing certificate").status is PROBLEM
    assert "expired on" in the(late, "signing certificate").detail
    assert "hallmark keys init" in the(late, "signing certificate").fix


def test_a_cjk_label_without_a_cjk_font_is_a_problem_with_the_install_command(
    keyed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_imports: None
) -> None:
    monkeypatch.setattr("hallmark.provenance.labels._visible.FONT_CANDIDATES", ())
    monkeypatch.setattr("hallmark.provenance.labels._visible._FONT_GLOBS", ())
    policy = policy_file(tmp_path, "labels:\n  profiles: [cn_gb45438]\naudit:\n  retention_days: 183\n")
    report = diagnose(keyed, policy=str(policy))
    labels = the(report, "labels")
    assert not report.ok and labels.status is PROBLEM
    assert "no CJK font" in labels.detail
    assert "install-system-deps.sh" in labels.fix or "fonts-noto-cjk" in labels.fix


def test_a_missing_classifier_extra_is_a_problem_with_the_install_command(
    keyed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_imports: None
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "nudenet", None)
    monkeypatch.setattr("hallmark.guardrails._image._INSTANCES", {})
    report = diagnose(keyed, policy=str(policy_file(tmp_path, "image:\n  classifier: nudenet\n")))
    classifier = the(report, "image classifier")
    assert classifier.status is PROBLEM and "pip install 'hallmark-genai[nudenet]'" in classifier.fix


def test_dependencies_missing_too_old_or_broken(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    from importlib import metadata

    from hallmark.pipeline import _doctor

    declared = [
        "no-such-dist-for-hallmark>=1",
        "pillow>=999",
        "nudenet==3.4.2; extra == 'nudenet'",
        "rich>=1",
    ]
    monkeypatch.setattr(metadata, "requires", lambda dist: declared)
    real = _doctor._import_name
    monkeypatch.setattr(_doctor, "_import_name", lambda d, c: "no_such_module" if d == "rich" else real(d, c))
    found = {d.name: d for d in _doctor._dependencies(lambda name: None)}
    assert sorted(found) == ["package no-such-dist-for-hallmark", "package pillow", "package rich"]
    missing = found["package no-such-dist-for-hallmark"]
    assert missing.status is PROBLEM and missing.fix == "pip install 'no-such-dist-for-hallmark>=1'"
    old = found["package pillow"]
    assert (
        old.status is PROBLEM
        and "hallmark needs >=999" in old.detail
        and old.fix == "pip install 'pillow>=999'"
    )
    broken = found["package rich"]
    assert broken.status is PROBLEM and "`import no_such_module` fails" in broken.detail
    assert broken.fix == "pip install --force-reinstall 'rich>=1'"


def test_a_tampered_audit_log_is_a_problem(keyed: Path, no_imports: None) -> None:
    from hallmark.audit import AuditLog

    with AuditLog.open(
        f"sqlite:///{keyed / 'audit.db'}", key_path=keyed / "keys" / "audit-checkpoint.key"
    ) as log:
        log.append("image.released", {"record_id": "r1"})
        log.append("image.released", {"record_id": "r2"})
    assert the(diagnose(keyed), "audit log").detail.endswith("2 entries, verifies")
    db = sqlite3.connect(keyed / "audit.db")
    body = db.execute("SELECT body FROM audit_entries WHERE idx = 1").fetchone()[0]
    db.execute("UPDATE audit_entries SET body = ? WHERE idx = 1", (body.replace(b"r2", b"rX"),))
    db.commit()
    db.close()
    audit = the(diagnose(keyed), "audit log")
    assert audit.status is PROBLEM and "does NOT verify at entry 1" in audit.detail
    assert "hallmark audit verify" in audit.fix


def test_a_log_whose_checkpoint_key_is_gone_is_a_problem(keyed: Path, no_imports: None) -> None:
    from hallmark.audit import AuditLog

    key = keyed / "keys" / "audit-checkpoint.key"
    with AuditLog.open(f"sqlite:///{keyed / 'audit.db'}", key_path=key) as log:
        log.append("image.released", {"record_id": "r1"})
    assert diagnose(keyed).check("audit checkpoint key") is None
    key.unlink()
    report = diagnose(keyed)
    gone = the(report, "audit checkpoint key")
    assert not report.ok and gone.status is PROBLEM and gone.fix == f"restore {key} from a backup"


def test_an_unreachable_database_never_shows_its_password(
    keyed: Path, monkeypatch: pytest.MonkeyPatch, no_imports: None
) -> None:
    monkeypatch.setenv("HALLMARK_AUDIT_URL", "postgresql://ann:hunter2@127.0.0.1:1/hallmark?password=hunter2")
    report = diagnose(keyed)
    audit = the(report, "audit log")
    assert audit.status is PROBLEM and audit.detail.startswith("postgresql://127.0.0.1:1/hallmark: ")
    assert "hunter2" not in json.dumps(report.to_dict()) and "ann:" not in audit.detail


def test_a_check_that_breaks_is_reported_not_raised(
    keyed: Path, monkeypatch: pytest.MonkeyPatch, no_imports: None
) -> None:
    def broken(home: Any) -> list[Diagnosis]:
        raise RuntimeError("statvfs went away")

    monkeypatch.setattr("hallmark.pipeline._doctor._disk_space", broken)
    disk = the(diagnose(keyed), "disk space")
    assert disk.status is PROBLEM and "RuntimeError: statvfs went away" in disk.detail and disk.fix


def test_little_free_space_is_a_warning(
    keyed: Path, monkeypatch: pytest.MonkeyPatch, no_imports: None
) -> None:
    monkeypatch.setattr("hallmark.pipeline._doctor_home.MIN_FREE_BYTES", 1 << 62)
    report = diagnose(keyed)
    assert report.ok and the(report, "disk space").status is WARNING


def test_a_policy_that_does_not_load_is_a_problem_and_its_checks_are_skipped(
    keyed: Path, tmp_path: Path, no_imports: None
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nprompt:\n  enabled: [not, a, bool]\n")
    report = diagnose(keyed, policy=str(bad))
    assert the(report, "policy").status is PROBLEM and "bad.yaml:3" in the(report, "policy").detail
    assert "hallmark policy lint" in the(report, "policy").fix
    assert the(report, "image classifier").status is NOT_CHECKED


def test_without_packaging_versions_are_not_compared_and_it_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from hallmark.pipeline import _doctor

    for name in ("packaging", "packaging.specifiers", "packaging.requirements", "packaging.utils"):
        monkeypatch.setitem(sys.modules, name, None)
    python, missing = _doctor._python()
    assert python.status is OK and missing.status is PROBLEM and missing.fix == "pip install packaging"
    assert _doctor._dependencies(lambda name: None) == []
