"""The HTML report: self-contained, escaped, and really rendered by headless Chromium when present."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from hallmark.provenance import Verdict, verify_batch
from hallmark.provenance.verify._html import render_html_report, write_html_report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture
def reports(tmp_path: Path) -> list:
    good = tmp_path / "<b onmouseover=alert(1)>x.png"
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (30, 160, 90)).save(buf, "PNG")
    good.write_bytes(buf.getvalue())
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    return list(verify_batch([good, bad], workers=0, schemes=[]))


def test_report_is_self_contained_and_escaped(reports: list) -> None:
    page = render_html_report(reports, now=dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
    assert "<b onmouseover" not in page
    assert "&lt;b onmouseover=alert(1)&gt;x.png" in page
    # Nothing loads from elsewhere: the only URLs are data URIs.
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "img-src data:" in page
    thumbs = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', page)
    assert len(thumbs) == 1  # the broken file gets "no preview"
    assert Image.open(io.BytesIO(base64.b64decode(thumbs[0]))).size[0] <= 200
    assert page.count('<section class="image"') == 2
    assert 'data-verdict="no-provenance-found"' in page and 'data-verdict="error"' in page
    assert "2026-11-24T00:00:00+00:00" in page


def test_write_replaces_the_file(reports: list, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    out.write_text("old")
    assert write_html_report(reports, out) == out
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert not list(tmp_path.glob(".r.html*"))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(reports: list, tmp_path: Path) -> None:
    out = write_html_report(reports, tmp_path / "report.html")
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*args, "--virtual-time-budget=3000", "--dump-dom", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    # The inline script ran after load and counted the thumbnails that decoded.
    assert 'data-rendered="yes"' in dom
    assert 'data-thumbs-loaded="1"' in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*args, f"--screenshot={shot}", "--window-size=1000,700", out.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    im = Image.open(shot).convert("RGB")
    colours = im.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20  # text, badges and the thumbnail, not a blank page
    # The thumbnail's green is on screen.
    assert any(abs(r - 30) < 12 and abs(g - 160) < 12 and abs(b - 90) < 12 for _, (r, g, b) in colours)
    assert Verdict.ERROR.value in dom
