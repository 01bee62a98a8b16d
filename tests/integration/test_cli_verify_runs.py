"""Long verification runs: ``hallmark verify --jsonl FILE`` writes each report as its file
finishes, ``--resume FILE`` skips what is on record (same path, same content) and appends the
rest, an interrupted run leaves a file of whole reports, and ``--as-done`` hands reports over
as workers finish them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from hallmark.pipeline._report_log import ReportLog

REPO = Path(__file__).resolve().parents[2]
SCHEMA = "urn:hallmark:schema:verify-report:1"


def verify(*args: str | Path, home: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HALLMARK_HOME": str(home), "OMP_NUM_THREADS": "1"}
    env.pop("HALLMARK_AUDIT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "hallmark", "verify", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
        **kw,
    )


def lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def pictures(out: Path, n: int, *, side: int = 128) -> Path:
    """``n`` small unsigned pictures, each different, named 00.png, 01.png..."""
    rng = np.random.default_rng(11)
    out.mkdir()
    for i in range(n):
        pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((side, side)).save(out / f"{i:02d}.png")
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return pictures(tmp_path / "found", 12)


def test_jsonl_then_resume_verifies_only_new_and_changed_files(folder: Path, tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "run.jsonl"
    first = verify(folder, "--jsonl", log, "--workers", "0", home=home)
    assert first.returncode == 0, first.stderr
    reports = lines(log)
    assert [Path(r["source"]).name for r in reports] == [f"{i:02d}.png" for i in range(12)]
    assert all(r["schema"] == SCHEMA and r["verdict"] == "no-provenance-found" for r in reports)
    # One file changes, one is added: only those two are verified again.
    Image.new("RGB", (128, 128), (200, 10, 10)).save(folder / "03.png")
    shutil.copy(folder / "05.png", folder / "12.png")
    second = verify(folder, "--resume", log, "--workers", "0", home=home)
    assert second.returncode == 0, second.stderr
    assert "resuming: 11 files already reported" in second.stderr
    added = lines(log)[12:]
    assert sorted(Path(r["source"]).name for r in added) == ["03.png", "12.png"]
    assert "  13  no-provenance-found" in second.stdout  # the summary counts the whole archive


def test_an_interrupted_run_leaves_whole_reports_and_resumes_without_duplicates(tmp_path: Path) -> None:
    folder = pictures(tmp_path / "found", 90, side=384)
    home, log = tmp_path / "home", tmp_path / "run.jsonl"
    env = {**os.environ, "HALLMARK_HOME": str(home), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hallmark", "verify", str(folder), "--jsonl", str(log), "--workers", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    deadline = time.monotonic() + 120
    while (not log.exists() or len(log.read_bytes().splitlines()) < 3) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    proc.wait(timeout=60)
    done = lines(log)  # every line whole
    assert 3 <= len(done) < 90
    # A crash in the middle of a line leaves a piece of one: the resumed run drops it.
    with open(log, "a", encoding="utf-8") as f:
        f.write('{"schema": "' + SCHEMA + '", "source": "cut sho')
    again = verify(folder, "--resume", log, "--workers", "0", home=home)
    assert again.returncode == 0, again.stderr
    names = [Path(r["source"]).name for r in lines(log)]
    assert sorted(names) == [f"{i:02d}.png" for i in range(90)]  # each file once


def test_as_done_hands_over_every_report_once(folder: Path, tmp_path: Path) -> None:
    result = verify(folder, "--json", "--workers", "2", "--as-done", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    names = [Path(json.loads(line)["source"]).name for line in result.stdout.splitlines()]
    assert sorted(names) == [f"{i:02d}.png" for i in range(12)]


def test_a_resumed_failure_still_fails_the_run(folder: Path, tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    verify(folder, "--jsonl", log, "--workers", "0", home=tmp_path / "home")
    docs = lines(log)
    docs[0]["verdict"] = "tampered"  # what an earlier run said of the first file
    log.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    again = verify(folder, "--resume", log, "--workers", "0", home=tmp_path / "home")
    assert again.returncode == 1 and "resuming: 12 files" in again.stderr


def test_bad_report_files_are_refused_before_any_image_is_read(folder: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = verify(folder, "--jsonl", tmp_path, home=home)
    assert r.returncode == 2 and "cannot write reports to" in r.stderr and "it is a folder" in r.stderr
    r = verify(folder, "--jsonl", tmp_path / "a.jsonl", "--resume", tmp_path / "b.jsonl", home=home)
    assert r.returncode == 2 and "--jsonl and --resume name different files" in r.stderr
    assert not (tmp_path / "a.jsonl").exists() and not (tmp_path / "b.jsonl").exists()


def test_report_log_truncates_a_cut_line_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    image = tmp_path / "x.png"
    image.write_bytes(b"pixels")
    import hashlib

    digest = hashlib.sha256(b"pixels").hexdigest()
    good = {"source": str(image), "verdict": "no-provenance-found", "image": {"sha256": digest}}
    path.write_text(json.dumps(good) + "\n" + '{"source": "half', encoding="utf-8")
    with ReportLog.open(path, resume=True) as log:
        assert log.recorded == 1
        assert log.done(image) is not None and log.done(tmp_path / "other.png") is None
        image.write_bytes(b"changed")
        assert log.done(image) is None  # same path, new content: verified again
    assert path.read_text(encoding="utf-8") == json.dumps(good) + "\n"
