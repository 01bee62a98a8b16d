"""Stable detection: wm1 gives an image, its copy shifted by one pixel and its re-save at the same
quality the same decision, marked or not, on one image of every hard-content class; and the report
shows the bit errors and the false-positive probability of every match."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from hallmark.pipeline._png import encode_png
from hallmark.pipeline._readback import mark_for_release
from hallmark.provenance import CheckStatus, WatermarkReading, verify_image, watermark_scheme
from hallmark.provenance.verify._checks import KEYED_EVIDENCE

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import hard_content  # noqa: E402 - bench/hard_content.py, the set the benchmark tables by class

KEY = bytes(range(32))
PAYLOAD = bytes.fromhex("a1b2c3d4e5f6")


def _one_per_class() -> list[tuple[str, Image.Image]]:
    module = hard_content
    items = module.content_set()
    return [next((i.cls, i.image) for i in items if i.cls == c) for c in module.CLASSES]


SAMPLES = _one_per_class()


def _shifted(image: Image.Image) -> Image.Image:
    """The picture moved one pixel left and up: its first column and row cut off."""
    return image.crop((1, 1, image.width, image.height))


def _jpeg(image: Image.Image, quality: int = 90) -> Image.Image:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _decision(reading: WatermarkReading) -> tuple[bool, bytes | None]:
    return reading.found, reading.payload if reading.found else None


@pytest.fixture(scope="module")
def wm1():  # noqa: ANN201 - a WatermarkScheme
    return watermark_scheme("hallmark.wm1", key=KEY)


@pytest.mark.parametrize(("cls", "image"), SAMPLES, ids=[c for c, _ in SAMPLES])
def test_a_one_pixel_shift_and_a_re_save_keep_the_decision(wm1, cls: str, image: Image.Image) -> None:  # noqa: ANN001
    release = mark_for_release(wm1, image, PAYLOAD, encode=lambda im: encode_png(im, compress_level=1))
    marked = Image.open(io.BytesIO(release.data))
    decision = _decision(wm1.detect(marked))
    # The release-time self-check promises that what is released reads back.
    assert decision == ((True, PAYLOAD) if release.readable else decision), cls
    assert _decision(wm1.detect(_shifted(marked))) == decision, f"{cls}: the 1-pixel shift changed it"
    once = _jpeg(marked)
    assert _decision(wm1.detect(_jpeg(once))) == _decision(wm1.detect(once)), f"{cls}: a re-save changed it"
    # And an unmarked picture stays unmarked under the same edits.
    for variant in (image, _shifted(image), _jpeg(image)):
        assert _decision(wm1.detect(variant)) == (False, None), cls


def test_the_report_shows_bit_errors_and_the_false_positive_probability(wm1) -> None:  # noqa: ANN001
    _, photo = SAMPLES[0]
    release = mark_for_release(wm1, photo, PAYLOAD, encode=lambda im: encode_png(im, compress_level=1))
    assert release.readable
    report = verify_image(release.data, watermark_key=KEY)
    check = next(c for c in report.checks if c.name == "watermark:hallmark.wm1")
    assert check.status is CheckStatus.PASSED
    assert "bit errors" in check.summary and "false-positive probability" in check.summary
    assert isinstance(check.details["bit_errors"], int)
    assert 0 < check.details["false_positive_probability"] <= KEYED_EVIDENCE  # enough to say "your key"
