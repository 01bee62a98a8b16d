"""hallmark.wm1: round trip, a representative attack set, keys, clean images, odd image modes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter
from skimage import data

from hallmark.errors import WatermarkError
from hallmark.provenance import WatermarkScheme, watermark_scheme

KEY = bytes(range(32))
PAYLOAD = bytes.fromhex("c0ffee123456")


def _square(array: np.ndarray, size: int) -> Image.Image:
    img = Image.fromarray(array).convert("RGB")
    w, h = img.size
    s = min(w, h)
    box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
    return img.crop(box).resize((size, size), Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def _scale(image: Image.Image, f: float) -> Image.Image:
    return image.resize((round(image.width * f), round(image.height * f)), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def wm1() -> WatermarkScheme:
    return watermark_scheme("hallmark.wm1", key=KEY)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return _square(data.coffee(), 1024)


@pytest.fixture(scope="module")
def marked(wm1: WatermarkScheme, photo: Image.Image) -> Image.Image:
    return wm1.embed(photo, PAYLOAD)


def test_round_trip_quality_and_decision(
    wm1: WatermarkScheme, photo: Image.Image, marked: Image.Image
) -> None:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    a, b = np.asarray(photo), np.asarray(marked)
    assert peak_signal_noise_ratio(a, b) >= 38
    assert structural_similarity(a, b, channel_axis=2) >= 0.96
    reading = wm1.detect(marked)
    assert reading.found and reading.payload == PAYLOAD and reading.scheme_id == "hallmark.wm1"
    assert reading.false_positive_probability is not None and reading.false_positive_probability <= 1e-6
    assert wm1.embed(photo, PAYLOAD).tobytes() == marked.tobytes()  # deterministic


ATTACKS = {
    "jpeg50": lambda im: _jpeg(im, 50),
    "resize0.5": lambda im: _scale(im, 0.5),
    "crop25-corner": lambda im: im.crop((0, 0, 768, 768)),
    "crop10-centre": lambda im: im.crop((51, 51, 973, 973)),
    "brightness+20": lambda im: ImageEnhance.Brightness(im).enhance(1.2),
    "contrast-20": lambda im: ImageEnhance.Contrast(im).enhance(0.8),
    "blur1": lambda im: im.filter(ImageFilter.GaussianBlur(1.0)),
    "rotate2": lambda im: im.rotate(2.0, Image.Resampling.BICUBIC),
    "crop+resize+jpeg": lambda im: _jpeg(_scale(im.crop((51, 51, 973, 973)), 0.5), 75),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_survives_attack(wm1: WatermarkScheme, marked: Image.Image, attack: str) -> None:
    reading = wm1.detect(ATTACKS[attack](marked))
    assert reading.found, reading.detail
    assert reading.payload == PAYLOAD


def test_reads_agrees_with_detect(wm1: WatermarkScheme, photo: Image.Image, marked: Image.Image) -> None:
    # `reads` settles each candidate by counting bit errors against the known codeword instead
    # of trying Chase patterns; its answer must be detect's, including where detect fails.
    weak = wm1.embed(photo, PAYLOAD, strength=0.15)  # type: ignore[call-arg]
    cases = {
        "marked": marked,
        "unmarked": photo,
        "weak mark": weak,
        "weak mark, half size, JPEG 60": _jpeg(_scale(weak, 0.5), 60),
        **{name: attack(marked) for name, attack in ATTACKS.items()},
    }
    outcomes = set()
    for name, image in cases.items():
        reading = wm1.detect(image)
        found = reading.found and reading.payload == PAYLOAD
        outcomes.add(found)
        assert wm1.reads(image, PAYLOAD) is found, name  # type: ignore[attr-defined]
        assert not wm1.reads(image, bytes(6)), name  # type: ignore[attr-defined]
    assert outcomes == {True, False}


def test_chase_decoding_counts_the_bits_it_changed(wm1: WatermarkScheme, marked: Image.Image) -> None:
    reading = wm1.detect(ATTACKS["crop+resize+jpeg"](marked))
    _, bits = wm1.read(ATTACKS["crop+resize+jpeg"](marked))  # type: ignore[attr-defined]
    expected = wm1.codeword(PAYLOAD)  # type: ignore[attr-defined]
    assert reading.bit_errors == int(np.count_nonzero(bits != expected))


def test_wrong_key_does_not_decode(marked: Image.Image) -> None:
    other = watermark_scheme("hallmark.wm1", key=b"another key, 32 bytes long......")
    reading = other.detect(marked)
    assert not reading.found and reading.payload is None


def test_clean_images_do_not_decode(wm1: WatermarkScheme) -> None:
    for array in (data.astronaut(), data.chelsea(), data.rocket(), data.camera(), data.brick()):
        clean = Image.fromarray(array)
        for image in (clean, _scale(clean, 0.75), clean.crop((10, 20, 280, 290))):
            assert not wm1.detect(image).found


def test_small_and_extreme_images(wm1: WatermarkScheme, photo: Image.Image) -> None:
    with pytest.raises(WatermarkError, match=r"image 200x400 is smaller than hallmark.wm1 can mark"):
        wm1.embed(photo.resize((200, 400)), PAYLOAD)
    reading = wm1.detect(photo.resize((64, 64)))
    assert not reading.found and "too small" in reading.detail
    strip = photo.resize((2048, 256))  # 8:1
    assert wm1.detect(wm1.embed(strip, PAYLOAD)).payload == PAYLOAD
    smallest = photo.resize((256, 256))
    assert wm1.detect(wm1.embed(smallest, PAYLOAD)).payload == PAYLOAD


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "I;16", "I"])
def test_image_modes_round_trip(wm1: WatermarkScheme, photo: Image.Image, mode: str) -> None:
    base = photo.resize((512, 512))
    if mode == "I;16":
        image = Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * np.uint16(257))
    elif mode == "I":
        image = base.convert("L").convert("I")
    elif mode == "P":
        image = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
    else:
        image = base.convert(mode)
    out = wm1.embed(image, PAYLOAD)
    expected_mode = {"P": "RGB", "I;16": "I;16"}.get(mode, mode)
    assert out.mode == expected_mode and out.size == image.size
    if mode in ("LA", "RGBA"):
        assert out.getchannel("A").tobytes() == image.getchannel("A").tobytes()
    assert wm1.detect(out).payload == PAYLOAD


@pytest.mark.parametrize("mode", ["1", "CMYK", "F"])
def test_refuses_modes_it_cannot_mark(wm1: WatermarkScheme, photo: Image.Image, mode: str) -> None:
    with pytest.raises(WatermarkError, match=f"cannot mark {mode} images"):
        wm1.embed(photo.convert(mode), PAYLOAD)


def test_refuses_images_with_nowhere_to_put_the_mark(wm1: WatermarkScheme) -> None:
    for colour in ("black", "white"):
        with pytest.raises(WatermarkError, match="uniformly black or white"):
            wm1.embed(Image.new("RGB", (512, 512), colour), PAYLOAD)
    grey = wm1.embed(Image.new("RGB", (512, 512), (128, 128, 128)), PAYLOAD)
    assert wm1.detect(grey).payload == PAYLOAD
    assert np.abs(np.asarray(grey, float) - 128).mean() < 2  # the amplitude cap holds


def test_refuses_out_of_range_integer_images(wm1: WatermarkScheme) -> None:
    image = Image.fromarray(np.full((300, 300), 70000, np.int32), "I")
    with pytest.raises(WatermarkError, match="outside 0..65535"):
        wm1.embed(image, PAYLOAD)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_adding_the_mark_rounds_and_saturates_exactly(mode: str) -> None:
    from hallmark.provenance.watermark._image import open_canvas

    rng = np.random.default_rng(4)
    raw = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    raw[0, :6], raw[1, :6] = 0, 255
    delta = (rng.normal(size=(64, 80)) * 40).astype(np.float32)
    delta[0, :6] = [-300.0, -0.5, 0.5, 1.5, 2.5, 400.0]  # ties round to even, as np.rint does
    delta[1, :6] = [300.0, -0.5, 0.5, -1.5, -2.5, -400.0]
    if mode == "L":
        raw = raw[:, :, :1]
    image = Image.fromarray(raw if mode == "RGB" else raw[:, :, 0], mode)
    got = np.asarray(open_canvas(image, scheme_id="t", min_size=1).add_luminance(delta))
    expected = np.clip(raw + np.rint(delta.astype(np.float64))[:, :, None], 0, 255).astype(np.uint8)
    assert got.dtype == np.uint8 and np.array_equal(got.reshape(expected.shape), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_filters_match_scipy_ndimage(dtype: type) -> None:
    # wm1 carries OpenCV stand-ins for scipy.ndimage's filters (its import costs ~0.4 s of a
    # whole `hallmark verify`); they must give scipy's results, borders included.
    from scipy import ndimage

    from hallmark.provenance.watermark._wm1_lattice import _maximum3, _uniform

    rng = np.random.default_rng(0)
    a = rng.normal(size=(97, 131)).astype(dtype)
    for size in (3, 5, 7, 9):
        got = _uniform(a, size)
        assert got.dtype == dtype and np.allclose(got, ndimage.uniform_filter(a, size), atol=1e-5)
    assert np.array_equal(_maximum3(a), ndimage.maximum_filter(a, 3))
    assert np.array_equal(_maximum3(a[:, ::2]), ndimage.maximum_filter(a[:, ::2], 3))


@pytest.mark.parametrize("bilinear", [False, True])
def test_grid_samples_match_map_coordinates(bilinear: bool) -> None:
    # The lattice is sampled by OpenCV's affine warp; it must agree with scipy's map_coordinates
    # on the same grid (the two treat the last pixel at the border differently, so points within
    # a pixel of it are left out).
    from scipy import ndimage

    from hallmark.provenance.watermark._wm1_lattice import _grid_samples

    rng = np.random.default_rng(1)
    a = rng.normal(size=(97, 131)).astype(np.float32)
    origin, row_step, col_step = (-4.3, 2.7), (0.61, 0.13), (-0.09, 0.57)
    i, j = np.mgrid[0:180, 0:240]
    ys = origin[0] + i * row_step[0] + j * col_step[0]
    xs = origin[1] + i * row_step[1] + j * col_step[1]
    got = _grid_samples(a, (180, 240), origin, row_step, col_step, bilinear=bilinear)
    expected = ndimage.map_coordinates(a, [ys, xs], order=int(bilinear), mode="constant", prefilter=False)
    interior = (ys >= 1) & (ys <= 96 - 1) & (xs >= 1) & (xs <= 130 - 1)
    if not bilinear:  # points this close to halfway between two pixels may round either way
        interior &= (np.abs(ys % 1 - 0.5) > 1e-3) & (np.abs(xs % 1 - 0.5) > 1e-3)
    outside = (ys < -1) | (ys > 97) | (xs < -1) | (xs > 131)
    assert interior.sum() > 10_000 and outside.sum() > 1_000
    # Sample positions are exact: OpenCV 4.x rounds them to 1/32 px, an error of 0.08 here.
    assert np.abs(got[interior] - expected[interior]).max() < 1e-3
    assert not got[outside].any()


@pytest.mark.parametrize(("shape", "size"), [((256, 256), (1024, 1024)), ((171, 256), (768, 512))])
def test_bicubic_upscale_matches_pil(shape: tuple[int, int], size: tuple[int, int]) -> None:
    from hallmark.provenance.watermark._wm1 import _bicubic_upscale

    plane = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    expected = np.asarray(Image.fromarray(plane, "F").resize(size, Image.Resampling.BICUBIC))
    got = _bicubic_upscale(plane, size)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("shape", [(256, 256), (256, 329), (171, 256)])
def test_whitened_autocorrelation_matches_numpy(shape: tuple[int, int]) -> None:
    from hallmark.provenance.watermark._wm1_lattice import _uniform, _whitened_autocorrelation

    r = np.random.default_rng(5).normal(size=shape).astype(np.float32)
    power = np.abs(np.fft.rfft2(r)) ** 2
    expected = np.fft.irfft2(power / (_uniform(power, 5) + 1e-9), s=shape)
    got = _whitened_autocorrelation(r)
    assert got.shape == shape
    assert np.abs(got - expected).max() < 1e-5 * np.abs(expected).max()
