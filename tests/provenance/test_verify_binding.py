"""verify_image's watermark verdicts are bound to the picture: a benign copy of a released image is
``hallmark-recovered``, its mark transplanted onto another photo is ``watermark-mismatch``, a
record older than content binding never earns more than ``hallmark-watermark``, and a scheme
without a keyed check is read only when asked for and never says "made with your key"."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter
from skimage import data

from hallmark import provenance as P
from hallmark.provenance import CheckStatus, Verdict, verify_image

KEY = bytes(range(32))


def encode(im: Image.Image, fmt: str = "PNG", **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, fmt, **kw)
    return buf.getvalue()


def square(array: np.ndarray, size: int) -> Image.Image:
    img = Image.fromarray(array).convert("RGB")
    s = min(img.size)
    return img.crop((0, 0, s, s)).resize((size, size), Image.Resampling.LANCZOS)


def transplant(marked: Image.Image, target: np.ndarray, *, gain: float, quality: int) -> bytes:
    """The blind attack of issue 20: the marked image minus a blurred copy of itself, added to an
    unrelated photo, as JPEG."""
    m = np.asarray(marked, np.float32)
    residual = m - np.asarray(marked.filter(ImageFilter.GaussianBlur(1.2)), np.float32)
    t = np.asarray(square(target, marked.width), np.float32)
    forged = Image.fromarray(np.clip(np.rint(t + gain * residual), 0, 255).astype(np.uint8))
    return encode(forged, "JPEG", quality=quality)


class Released:
    """A picture released under one record: its marked pixels and the record a log would keep."""

    def __init__(self, scheme_id: str, photo: np.ndarray, *, fingerprint: bool = True) -> None:
        self.record_id = str(uuid.UUID(int=7, version=4))
        scheme = P.watermark_scheme(scheme_id, key=KEY)
        payload = P.payload_for_record(uuid.UUID(self.record_id).bytes, scheme.payload_bits)
        self.image = scheme.embed(square(photo, 1024), payload)
        self.png = encode(self.image)
        self.record: dict[str, Any] = {
            "record_id": self.record_id,
            "kind": "image.released",
            "created": "2026-12-01T10:00:00+00:00",
            "scheme_id": scheme_id,
            "payload": payload.hex(),
            "sha256": "0" * 64,  # the signed file's hash; found copies never match it
        }
        if fingerprint:
            self.record["fingerprint"] = P.content_fingerprint(self.image)
        self.calls: list[tuple[str, str]] = []

    def lookup(self, scheme_id: str, payload_hex: str) -> dict[str, Any] | None:
        self.calls.append((scheme_id, payload_hex))
        return dict(self.record) if payload_hex == self.record["payload"] else None


@pytest.fixture(scope="module")
def released() -> Released:
    return Released("hallmark.wm1", data.coffee())


def statuses(report: P.VerificationReport) -> dict[str, str]:
    return {c.name: c.status.value for c in report.checks}


@pytest.mark.parametrize(
    ("name", "copy"),
    [
        ("jpeg75", lambda im: encode(im, "JPEG", quality=75)),
        ("half size", lambda im: encode(im.resize((512, 512), Image.Resampling.LANCZOS))),
        ("crop, half size, jpeg", lambda im: encode(im.crop((60, 40, 980, 1000)).resize((460, 480)), "JPEG")),
    ],
)
def test_a_benign_copy_is_recovered_and_bound(released: Released, name: str, copy: Any) -> None:
    report = verify_image(copy(released.image), watermark_key=KEY, lookup=released.lookup)
    assert report.verdict is Verdict.HALLMARK_RECOVERED, report.explanation
    assert report.passed
    binding = report.check("binding")
    assert binding.status is CheckStatus.PASSED, binding.summary
    assert binding.details["distance"] <= binding.details["threshold"] == 0.2
    assert "fingerprint distance" in binding.summary and "threshold 0.20" in binding.summary
    assert "matches the image released" in report.explanation


@pytest.mark.parametrize(
    ("target", "gain", "quality"),
    [(data.rocket, 1.0, 95), (data.chelsea, 2.0, 85), (data.camera, 3.0, 70)],
)
def test_a_transplanted_mark_is_a_mismatch(
    released: Released, target: Any, gain: float, quality: int
) -> None:
    forged = transplant(released.image, target(), gain=gain, quality=quality)
    report = verify_image(forged, watermark_key=KEY, lookup=released.lookup)
    reading = next(w for w in report.watermarks if w.scheme_id == "hallmark.wm1")
    assert reading.found and reading.payload.hex() == released.record["payload"]  # the attack reads
    assert report.verdict is Verdict.WATERMARK_MISMATCH, report.explanation
    assert not report.passed
    binding = report.check("binding")
    assert binding.status is CheckStatus.FAILED and binding.codes == ("fingerprint.mismatch",)
    assert binding.details["distance"] > binding.details["threshold"]
    assert released.record_id in report.explanation and "copied from another image" in report.explanation


def test_the_fingerprint_stays_out_of_the_report(released: Released) -> None:
    report = verify_image(encode(released.image, "JPEG"), watermark_key=KEY, lookup=released.lookup)
    assert "fingerprint" not in report.record
    assert released.record["fingerprint"]["steps"] not in json.dumps(report.to_dict())


def test_a_record_older_than_binding_is_not_bound() -> None:
    legacy = Released("hallmark.wm1", data.coffee(), fingerprint=False)
    for found in (encode(legacy.image, "JPEG"), transplant(legacy.image, data.rocket(), gain=2, quality=85)):
        report = verify_image(found, watermark_key=KEY, lookup=legacy.lookup)
        assert report.verdict is Verdict.HALLMARK_WATERMARK, report.explanation
        assert report.check("binding").summary == "Not bound: the record predates content binding."
        assert report.check("binding").status is CheckStatus.NOT_CHECKED
        assert "predates content binding" in report.explanation and legacy.record_id in report.explanation
        assert report.record["record_id"] == legacy.record_id


def test_a_mark_without_a_record_says_nothing_binds_it(released: Released) -> None:
    report = verify_image(encode(released.image, "JPEG"), watermark_key=KEY, lookup=lambda s, p: None)
    assert report.verdict is Verdict.HALLMARK_WATERMARK
    assert "nothing binds the mark to this picture" in report.explanation
    assert report.check("binding").status is CheckStatus.NOT_CHECKED


@pytest.fixture(scope="module")
def dwt_released() -> Released:
    return Released("hallmark.dwtdctsvd-bch", data.astronaut())


def test_the_unkeyed_scheme_is_not_read_by_default(dwt_released: Released) -> None:
    assert "hallmark.dwtdctsvd-bch" not in P.verify_schemes()
    report = verify_image(encode(dwt_released.image, "JPEG", quality=90), watermark_key=KEY)
    assert report.check("watermark:hallmark.dwtdctsvd-bch") is None
    assert report.verdict is Verdict.NO_PROVENANCE_FOUND


def test_the_unkeyed_scheme_never_says_made_with_your_key(dwt_released: Released) -> None:
    found = encode(dwt_released.image, "JPEG", quality=90)
    alone = verify_image(
        found, watermark_key=KEY, schemes=["hallmark.dwtdctsvd-bch"], lookup=lambda s, p: None
    )
    reading = alone.watermarks[0]
    assert reading.found and reading.false_positive_probability > 1e-6
    assert alone.verdict is Verdict.NO_PROVENANCE_FOUND, alone.explanation
    assert any("no keyed check" in w for w in alone.warnings)
    # With its audit record, the same decode leads to the record and the picture is bound.
    bound = verify_image(
        found, watermark_key=KEY, schemes=["hallmark.dwtdctsvd-bch"], lookup=dwt_released.lookup
    )
    assert bound.verdict is Verdict.HALLMARK_RECOVERED, bound.explanation
    assert bound.check("binding").status is CheckStatus.PASSED


def test_an_unkeyed_decode_does_not_stop_the_keyed_scheme(released: Released) -> None:
    report = verify_image(
        encode(released.image, "JPEG"),
        watermark_key=KEY,
        schemes=["hallmark.dwtdctsvd-bch", "hallmark.wm1"],
        lookup=released.lookup,
    )
    assert report.check("watermark:hallmark.wm1").status is CheckStatus.PASSED
    assert report.verdict is Verdict.HALLMARK_RECOVERED
