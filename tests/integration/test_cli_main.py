"""The ``hallmark`` executable ends the process itself once a command returns: output and exit
codes must be exactly those of a normal exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def hallmark(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), HALLMARK_HOME=str(tmp_path / "home"))
    return subprocess.run(
        [sys.executable, "-m", "hallmark", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )


def test_output_is_complete_and_the_exit_code_kept(tmp_path: Path) -> None:
    ok = hallmark(tmp_path, "check", "a cat", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["action"] == "allow"
    files = []
    for i in range(40):  # enough JSON lines to fill several stdout buffers
        files.append(str(tmp_path / f"{i}.png"))
        Image.new("RGB", (300, 200), (120, 30, i)).save(files[-1])
    many = hallmark(tmp_path, "verify", *files, "--json", "--workers", "0")
    lines = many.stdout.splitlines()
    assert len(lines) == 40 and all(json.loads(line)["verdict"] for line in lines)
    assert many.returncode == 0  # "no provenance found" is an answer, not a failure
    missing = hallmark(tmp_path, "verify", str(tmp_path / "nope.jpg"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), HALLMARK_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hallmark", "policy", "show", "default"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # the reader goes away, as `| head -1` does
    proc.wait(timeout=120)
    assert "Traceback" not in proc.stderr.read().decode()
