"""The watermark registry, the payload code and the first scheme (hallmark.dwtdctsvd-bch)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from hallmark.errors import WatermarkError
from hallmark.provenance import (
    WatermarkScheme,
    payload_for_record,
    verify_schemes,
    watermark_scheme,
    watermark_schemes,
)
from hallmark.provenance.watermark._codec import DECODER_CALIBRATION, PayloadCode, check_key

KEY = bytes(range(32))
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.fromarray(data.astronaut())  # 512×512 RGB


@pytest.fixture(scope="module")
def dwt() -> WatermarkScheme:
    return watermark_scheme("hallmark.dwtdctsvd-bch", key=KEY)


@pytest.fixture(scope="module")
def marked(photo: Image.Image, dwt: WatermarkScheme) -> tuple[Image.Image, bytes]:
    payload = payload_for_record(b"record-1", dwt.payload_bits)
    return dwt.embed(photo, payload), payload


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


# -- registry -----------------------------------------------------------------------------


def test_registry_lists_both_schemes_and_builds_them() -> None:
    assert watermark_schemes() == ["hallmark.wm1", "hallmark.dwtdctsvd-bch"]
    for scheme_id in watermark_schemes():
        scheme = watermark_scheme(scheme_id, key=KEY)
        assert isinstance(scheme, WatermarkScheme)
        assert scheme.scheme_id == scheme_id
        assert scheme.payload_bits == 48 and scheme.min_size == 256


def test_verify_reads_only_keyed_schemes_by_default() -> None:
    assert verify_schemes() == ["hallmark.wm1"]
    for scheme_id in verify_schemes():
        assert watermark_scheme(scheme_id, key=KEY)._code.tag_bits >= 24  # type: ignore[attr-defined]
    assert watermark_scheme("hallmark.dwtdctsvd-bch", key=KEY)._code.tag_bits == 0  # type: ignore[attr-defined]


def test_unknown_scheme_lists_known_ids() -> None:
    with pytest.raises(
        WatermarkError, match="unknown watermark scheme 'nope'; known: hallmark.wm1, hallmark.dwtdctsvd-bch"
    ):
        watermark_scheme("nope", key=KEY)


@pytest.mark.parametrize("key", [b"short", "a string key of 32 characters!!", None])
def test_key_must_be_16_bytes_or_more(key: object) -> None:
    with pytest.raises(WatermarkError, match="must be at least 16 bytes"):
        watermark_scheme("hallmark.dwtdctsvd-bch", key=key)  # type: ignore[arg-type]
    with pytest.raises(WatermarkError, match="must be at least 16 bytes"):
        check_key(key, "x")


# -- payload code -------------------------------------------------------------------------


def test_code_corrects_up_to_t_errors_and_rejects_more() -> None:
    code = PayloadCode(key=KEY, label="t", data_bits=48, tag_bits=24, t=7, m=7)
    assert code.codeword_bits == 121
    payload = bytes.fromhex("0123456789ab")
    bits = code.encode(payload)
    rng = np.random.default_rng(1)
    for n in range(8):
        noisy = bits.copy()
        noisy[rng.choice(bits.size, n, replace=False)] ^= 1
        assert code.decode(noisy) == (payload, n)
    garbage = rng.integers(0, 2, bits.size).astype(np.uint8)
    assert code.decode(garbage) is None


def test_code_is_keyed_and_masks_constant_words() -> None:
    a = PayloadCode(key=KEY, label="t", data_bits=48, tag_bits=24, t=7, m=7)
    b = PayloadCode(key=b"k" * 32, label="t", data_bits=48, tag_bits=24, t=7, m=7)
    bits = a.encode(bytes(6))
    assert b.decode(bits) is None
    # A flat image reads as all zeros or all ones: neither may decode.
    assert a.decode(np.zeros(121, np.uint8)) is None and a.decode(np.ones(121, np.uint8)) is None


def test_false_positive_probability_is_the_calibrated_ball_volume_bound() -> None:
    code = PayloadCode(key=KEY, label="t", data_bits=48, tag_bits=24, t=7, m=7)
    assert code.analytic_false_positive_probability(0) == pytest.approx(2.0 ** (48 - 121))
    assert code.false_positive_probability(0) == pytest.approx(DECODER_CALIBRATION * 2.0 ** (48 - 121))
    probs = [code.false_positive_probability(e) for e in range(9)]
    assert probs == sorted(probs) and probs[7] == probs[8]  # capped at t
    assert code.false_positive_probability(7, trials=192) < 1e-6


WORDS = 1_000_000


@pytest.mark.parametrize("scheme_id", ["hallmark.wm1", "hallmark.dwtdctsvd-bch"])
def test_false_positive_rate_is_measured_through_the_decoder(scheme_id: str) -> None:
    """10^6 uniformly random words through the real decoder: the rate at which BCH accepts one
    (within t bits of a codeword), times 2^-tag for the keyed check (an HMAC of a payload nobody
    chose with the key matches by chance only), is never above the figure reports print."""
    code = watermark_scheme(scheme_id, key=KEY)._code  # type: ignore[attr-defined]
    accepted = code.count_decodable(code.random_words(WORDS, rng=np.random.default_rng(20)))
    measured = accepted / WORDS * 2.0**-code.tag_bits
    printed = code.false_positive_probability(code.t)
    assert accepted > 50  # enough events to mean something (~120-150 expected)
    assert measured <= printed
    assert printed <= 1.5 * measured  # and the figure is not absurdly pessimistic either


def test_bchlib_successes_beyond_t_are_refused() -> None:
    """bchlib reports success for many random words far from every codeword; the decoder counts
    the distance and refuses them (99% of bchlib's successes on random words)."""
    code = PayloadCode(key=KEY, label="t", data_bits=48, tag_bits=24, t=7, m=7)
    words = code.random_words(20_000, rng=np.random.default_rng(4))
    nbytes = code.message_bits // 8
    claimed = [w for w in words if code._bch.decode(w[:nbytes].tobytes(), w[nbytes:].tobytes())[0] >= 0]
    assert len(claimed) > 200  # bchlib claims ~2% of random words
    kept = [w for w in claimed if code._bch_decode(int.from_bytes(w.tobytes(), "big")) is not None]
    assert len(kept) < len(claimed) / 20
    for w in kept:
        message, nerr = code._bch_decode(int.from_bytes(w.tobytes(), "big"))  # type: ignore[misc]
        assert nerr <= code.t


def test_payload_must_have_the_scheme_length(dwt: WatermarkScheme, photo: Image.Image) -> None:
    with pytest.raises(WatermarkError, match="exactly 6 bytes"):
        dwt.embed(photo, b"\x00" * 5)


# -- hallmark.dwtdctsvd-bch ---------------------------------------------------------------


def test_dwt_round_trip(marked: tuple[Image.Image, bytes], dwt: WatermarkScheme, photo: Image.Image) -> None:
    image, payload = marked
    assert image.size == photo.size and image.mode == "RGB"
    psnr = 10 * np.log10(255**2 / np.mean((np.asarray(image, float) - np.asarray(photo, float)) ** 2))
    assert psnr > 35
    reading = dwt.detect(image)
    assert reading.found and reading.payload == payload and reading.bit_errors == 0
    assert reading.scheme_id == "hallmark.dwtdctsvd-bch"
    # Without a keyed check, any unmarked image decodes with ~1.5e-4: that is the honest figure,
    # whatever the bit errors of this decode.
    assert reading.false_positive_probability is not None and 1e-4 < reading.false_positive_probability < 1e-3


def test_dwt_survives_jpeg_75(marked: tuple[Image.Image, bytes], dwt: WatermarkScheme) -> None:
    image, payload = marked
    reading = dwt.detect(_jpeg(image, 75))
    assert reading.found and reading.payload == payload


def test_dwt_wrong_key_and_clean_images_do_not_decode(marked: tuple[Image.Image, bytes]) -> None:
    other = watermark_scheme("hallmark.dwtdctsvd-bch", key=b"another key, 32 bytes long......")
    assert not other.detect(marked[0]).found
    dwt = watermark_scheme("hallmark.dwtdctsvd-bch", key=KEY)
    for clean in (data.astronaut(), data.chelsea(), data.coffee(), data.rocket()):
        reading = dwt.detect(Image.fromarray(clean))
        assert not reading.found and reading.payload is None


def test_dwt_keeps_alpha_and_refuses_what_it_cannot_mark(dwt: WatermarkScheme, photo: Image.Image) -> None:
    rgba = photo.convert("RGBA")
    rgba.putalpha(200)
    out = dwt.embed(rgba, bytes(6))
    assert out.mode == "RGBA" and np.asarray(out)[:, :, 3].min() == 200
    assert dwt.detect(out).payload == bytes(6)
    with pytest.raises(WatermarkError, match="cannot mark a greyscale"):
        dwt.embed(photo.convert("L"), bytes(6))
    with pytest.raises(WatermarkError, match="smaller than hallmark.dwtdctsvd-bch can mark"):
        dwt.embed(photo.resize((255, 300)), bytes(6))
    with pytest.raises(WatermarkError, match="cannot mark CMYK images"):
        dwt.embed(photo.convert("CMYK"), bytes(6))
    small = dwt.detect(photo.resize((200, 300)))
    assert not small.found and "not readable" in small.detail
    assert not dwt.detect(photo.convert("L")).found  # read as RGB; a grey image holds no U mark
    with pytest.raises(WatermarkError, match="needs a PIL image"):
        dwt.embed(np.zeros((300, 300, 3)), bytes(6))  # type: ignore[arg-type]


def test_reading_imwatermark_does_not_import_torch() -> None:
    code = (
        "import sys; from hallmark.provenance.watermark._dwt import imwatermark_module;"
        "imwatermark_module('dwtDctSvd'); imwatermark_module('maxDct');"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env={"PYTHONPATH": str(REPO)})


# -- the vectorised dwtDctSvd reader ------------------------------------------------------


def _reference_block_reads(rgb: np.ndarray) -> np.ndarray:
    """invisible-watermark's own per-block reads (its Python loop), in block order."""
    import cv2
    import pywt

    from hallmark.provenance.watermark._dwt import imwatermark_module, to_bgr

    bgr = to_bgr(rgb)
    rows, cols = bgr.shape[:2]
    band = pywt.dwt2(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[: rows // 4 * 4, : cols // 4 * 4, 1], "haar")[0]
    engine = imwatermark_module("dwtDctSvd").EmbedDwtDctSvd([], wmLen=1, scales=[0, 36, 0], block=4)
    return np.asarray(engine.decode_frame(band, 36, [[]])[0], np.float64)


def test_vectorised_reader_matches_invisible_watermark(marked: tuple[Image.Image, bytes]) -> None:
    from hallmark.provenance.watermark._dwt import imwatermark_module, message_bits, svd_block_scores, to_bgr

    image = marked[0]
    cases = {
        "marked": image,
        "marked, JPEG 75": _jpeg(image, 75).convert("RGB"),
        "marked, JPEG 50": _jpeg(image, 50).convert("RGB"),
        "clean chelsea": Image.fromarray(data.chelsea()),
        "clean coffee, odd crop": Image.fromarray(data.coffee()).crop((5, 3, 598, 390)),
        "noise": Image.fromarray(np.random.default_rng(3).integers(0, 256, (300, 420, 3), dtype=np.uint8)),
    }
    engine = imwatermark_module("dwtDctSvd").EmbedDwtDctSvd([], wmLen=90, scales=[0, 36, 0], block=4)
    for name, case in cases.items():
        rgb = np.asarray(case)
        scores = svd_block_scores(rgb)
        assert np.array_equal(scores, _reference_block_reads(rgb)), name
        assert np.array_equal(message_bits(scores, 90), engine.decode(to_bgr(rgb)).astype(np.uint8)), name


def test_detect_agrees_with_the_invisible_watermark_decoder(marked: tuple[Image.Image, bytes]) -> None:
    from hallmark.provenance.watermark._codec import PayloadCode
    from hallmark.provenance.watermark._dwt import imwatermark_module, to_bgr

    image, payload = marked
    dwt = watermark_scheme("hallmark.dwtdctsvd-bch", key=KEY)
    code = PayloadCode(key=KEY, label="hallmark.dwtdctsvd-bch", data_bits=48, tag_bits=0, t=6, m=7)
    engine = imwatermark_module("dwtDctSvd").EmbedDwtDctSvd([], wmLen=90, scales=[0, 36, 0], block=4)
    for case in (image, _jpeg(image, 75), _jpeg(image, 60), Image.fromarray(data.rocket())):
        reading = dwt.detect(case)
        reference = code.decode(engine.decode(to_bgr(np.asarray(case.convert("RGB")))).astype(np.uint8))
        assert (reading.payload, reading.bit_errors) == (reference or (None, None))
    assert dwt.detect(_jpeg(image, 75)).payload == payload


def test_reader_handles_bands_with_no_whole_block() -> None:
    from hallmark.provenance.watermark._dwt import message_bits, svd_block_scores

    # 65,536 pixels but 4 rows: the Haar band has 2 rows, no 4×4 block: every bit reads 0.
    thin = np.full((4, 16384, 3), 200, np.uint8)
    assert svd_block_scores(thin).size == 0
    assert not message_bits(svd_block_scores(thin), 90).any()
    reading = watermark_scheme("hallmark.dwtdctsvd-bch", key=KEY).detect(Image.fromarray(thin))
    assert not reading.found and reading.payload is None


def test_reader_is_fast_at_1024_px() -> None:
    from hallmark.provenance.watermark._dwt import svd_block_scores

    rgb = np.asarray(Image.fromarray(data.astronaut()).resize((1024, 1024)))
    svd_block_scores(rgb)
    best = min(_timed(svd_block_scores, rgb) for _ in range(3))
    # ~30 ms here; invisible-watermark's loop takes 400+ ms. Loose: the CI machine is shared.
    assert best < 0.25, f"{best:.3f} s"


def _timed(fn: object, *args: object) -> float:
    import time

    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def test_interval_reads_agree_with_lapack_on_hard_blocks() -> None:
    from hallmark.provenance.watermark._dwt import _interval_reads

    rng = np.random.default_rng(11)
    q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    hard = [
        np.zeros((4, 4)),  # a flat block
        np.diag([18.0, 0, 0, 0]),  # exactly on an edge: 18 mod 36 is not above 18
        np.diag([54.0, 54.0, 3.0, 0]),  # a repeated largest value on an edge (54 mod 36 = 18)
        np.diag([55.0, 55.0, 3.0, 0]),  # and off one (19)
        np.diag([36.0 + 1e-12, 36.0, 1.0, 1.0]),  # a hair above an edge, close second value
        np.diag([17.999999999, 5.0, 0, 0]),  # a hair below one
        q @ np.diag([90.0, 89.9999, 10.0, 0.0]) @ q.T,  # slow power-iteration convergence
    ]
    blocks = np.stack(hard + list(rng.normal(0, 40, (4000, 4, 4))) + list(rng.normal(0, 4, (4000, 4, 4))))
    gram = np.matmul(blocks.transpose(0, 2, 1), blocks)
    expected = (np.sqrt(np.maximum(np.linalg.eigvalsh(gram)[:, -1], 0.0)) % 36.0 > 18.0).astype(float)
    assert np.array_equal(_interval_reads(gram, scale=36.0), expected)
    assert _interval_reads(gram[:4], scale=36.0).tolist() == [0.0, 0.0, 0.0, 1.0]


def test_decoding_keeps_no_memory_per_call() -> None:
    # bchlib 2.1.3 keeps a reference to every argument of decode and encode: ~250 KiB per image
    # that wm1 searched, 1 GiB over an archive of 3,000 files, before the codec handed it the
    # same buffers every time.
    import tracemalloc

    code = watermark_scheme("hallmark.wm1", key=bytes(range(32)))._code  # type: ignore[attr-defined]
    words = code.random_words(2_000, rng=np.random.default_rng(4))
    code.count_decodable(words[:10])
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for row in words:
            code.decode_word(int.from_bytes(row.tobytes(), "big"))
        code.encode(bytes(6))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 20_000, f"{grown} bytes kept after 2,000 decodes"
