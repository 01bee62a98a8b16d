"""``hallmark doctor`` through the CLI: exit codes, the one-line fixes, and the JSON shape."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner, Result

import hallmark
from hallmark.pipeline.cli import app

runner = CliRunner()


def doctor(*args: str) -> Result:
    return runner.invoke(app, ["doctor", *args])


@pytest.fixture
def keyed(home: Path) -> Path:
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    return home


@pytest.fixture
def no_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave the dependencies out (importing them all takes seconds): one test keeps them."""
    monkeypatch.setattr("hallmark.pipeline._doctor._dependencies", lambda tick: [])


def fix_line(result: Result, name: str) -> str:
    """The line of the "To fix:" list for check ``name``."""
    lines = result.stdout.splitlines()
    start = lines.index("To fix:")
    found = [line.strip() for line in lines[start + 1 :] if line.strip().startswith(f"{name}: ")]
    assert len(found) == 1, result.stdout
    return found[0]


def test_a_fresh_keys_init_home_passes(keyed: Path) -> None:
    result = doctor("--home", str(keyed))
    assert result.exit_code == 0, result.output
    assert "ready: `hallmark generate` can run with policy default" in result.stdout
    assert "torch" in result.stdout and "signing certificate" in result.stdout
    assert "problem" not in result.stdout


def test_json_output_shape(keyed: Path, no_imports: None) -> None:
    result = doctor("--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == ["schema", "ok", "hallmark_version", "home", "policy", "checks"]
    assert doc["schema"] == "urn:hallmark:schema:doctor-report:1" and doc["ok"] is True
    assert doc["home"] == str(keyed) and doc["policy"] == "default"
    assert doc["hallmark_version"] == hallmark.__version__
    for check in doc["checks"]:
        assert list(check) == ["name", "status", "detail", "fix"]
        assert check["status"] in ("ok", "warning", "problem", "not_checked")
    names = [c["name"] for c in doc["checks"]]
    assert {"python", "image classifier", "signing key", "watermark key", "audit log", "disk space"} <= set(
        names
    )
    schema = json.loads(hallmark.schema_path(doc["schema"]).read_text(encoding="utf-8"))
    Draft202012Validator(schema).validate(doc)


def test_a_deleted_signing_key_fails_with_a_one_line_fix_naming_the_file(
    keyed: Path, no_imports: None
) -> None:
    (keyed / "keys" / "signer.key").unlink()
    result = doctor()
    assert result.exit_code == 1, result.output
    line = fix_line(result, "signing key")
    assert str(keyed / "keys" / "signer.key") in line and "`hallmark keys init --force`" in line
    assert "1 problem stop `hallmark generate`" in result.stdout
    assert json.loads(doctor("--json").stdout)["ok"] is False


def test_a_world_readable_signing_key_fails_with_chmod(keyed: Path, no_imports: None) -> None:
    key = keyed / "keys" / "signer.key"
    os.chmod(key, 0o644)
    result = doctor()
    assert result.exit_code == 1, result.output
    assert fix_line(result, "signing key") == f"signing key: Run `chmod 600 {key}`."
    assert "PRIVATE KEY" not in result.output and key.read_text().splitlines()[1] not in result.output


def test_a_cjk_label_without_a_font_names_the_install_command(
    keyed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_imports: None
) -> None:
    monkeypatch.setattr("hallmark.provenance.labels._visible.FONT_CANDIDATES", ())
    monkeypatch.setattr("hallmark.provenance.labels._visible._FONT_GLOBS", ())
    policy = tmp_path / "cn.yaml"
    policy.write_text(
        "id: cn\nextends: default\nlabels:\n  profiles: [cn_gb45438]\naudit:\n  retention_days: 183\n"
    )
    result = doctor("--policy", str(policy))
    assert result.exit_code == 1, result.output
    line = fix_line(result, "labels")
    assert "install-system-deps.sh" in line or "fonts-noto-cjk" in line


def test_no_keys_at_all(home: Path, no_imports: None) -> None:
    result = doctor()
    assert result.exit_code == 1
    assert fix_line(result, "keys") == "keys: run `hallmark keys init`"
    assert not home.exists()  # doctor creates nothing
