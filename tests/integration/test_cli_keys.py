"""`hallmark keys init|show` driven through typer's runner."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from hallmark.pipeline.cli._keys import app

runner = CliRunner()


def test_init_then_show(home: Path) -> None:
    result = runner.invoke(app, ["init", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "Created keys" in result.output and "signer.key" in result.output
    keys = home / "keys"
    assert oct(keys.stat().st_mode & 0o777) == "0o700"

    result = runner.invoke(app, ["show", "--json"])  # HALLMARK_HOME from the fixture
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["subject"].startswith("CN=hallmark development signer")
    assert info["issuer"].startswith("CN=hallmark development CA")
    assert len(info["fingerprint"]) == 64
    assert info["files"] == {
        "ca.pem": "0644",
        "ca.key": "0600",
        "signer-chain.pem": "0644",
        "signer.key": "0600",
        "watermark.key": "0600",
    }
    assert "PRIVATE KEY" not in result.output
    for name in ("ca.key", "signer.key"):
        assert (keys / name).read_text().splitlines()[1] not in result.output
    assert (keys / "watermark.key").read_bytes().hex() not in result.output


def test_init_keeps_existing_keys_then_force_replaces_them(home: Path) -> None:
    assert runner.invoke(app, ["init", "--json"]).exit_code == 0
    first = json.loads(runner.invoke(app, ["show", "--json"]).output)["fingerprint"]
    result = runner.invoke(app, ["init", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["created"] is False
    assert json.loads(result.output)["fingerprint"] == first
    assert "already exist" in runner.invoke(app, ["init"]).output
    result = runner.invoke(app, ["init", "--force", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["created"] is True
    assert json.loads(result.output)["fingerprint"] != first


def test_show_without_keys_is_a_one_line_error(home: Path) -> None:
    result = runner.invoke(app, ["show"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "signer-chain.pem is missing" in lines[0] and "hallmark keys init" in lines[0]


def test_show_flags_a_key_file_others_can_read(home: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    os.chmod(home / "keys" / "signer.key", 0o644)
    result = runner.invoke(app, ["show"])
    assert result.exit_code == 0
    assert "readable by others" in result.output


def test_hallmark_keys_through_the_real_entry_point(tmp_path: Path) -> None:
    """`hallmark keys` as installed: a fresh interpreter, the console script's app, no torch."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    script = (
        "import sys\n"
        "from hallmark.pipeline.cli import app\n"
        "code = 0\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit as e:\n"
        "    code = e.code or 0\n"
        "print('heavy:', sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(repo), "HALLMARK_HOME": str(tmp_path / "home")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=120
        )

    first = run("keys", "init", "--json")
    assert first.returncode == 0, first.stderr
    assert "heavy: []" in first.stdout
    again = run("keys", "init")
    assert again.returncode == 0, again.stderr
    assert "already exist" in again.stdout
    shown = run("keys", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout[: shown.stdout.rindex("heavy:")])
    assert info["problems"] == []
