from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from hallmark.pipeline._png import encode_png


def _image(mode: str, size: tuple[int, int] = (67, 41), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    bands = len(mode)
    arr = rng.integers(0, 256, (size[1], size[0], bands), dtype=np.uint8)
    return Image.fromarray(arr[:, :, 0] if bands == 1 else arr, mode)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(body, zlib.crc32(kind)), kind
        out.append((kind, body))
        pos += 12 + length
    return out


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("level", [0, 1, 3, 6, 9])
def test_pixels_decode_back_exactly(mode: str, level: int) -> None:
    image = _image(mode)
    data = encode_png(image, compress_level=level)
    back = Image.open(io.BytesIO(data))
    assert back.mode == mode and back.size == image.size
    assert np.array_equal(np.asarray(back), np.asarray(image))


def test_the_file_is_well_formed_and_zlib_compatible() -> None:
    image = _image("RGB", (300, 200))
    data = encode_png(image)
    kinds = [k for k, _ in _chunks(data)]
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    idat = dict(_chunks(data))[b"IDAT"]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(200, 1 + 300 * 3)
    assert set(rows[:, 0]) == {2}  # the Up filter on every row
    Image.open(io.BytesIO(data)).verify()


def test_a_natural_image_is_no_larger_than_pillows_level_1() -> None:
    from skimage import data as samples

    image = Image.fromarray(samples.astronaut()).resize((512, 512))
    ours = encode_png(image, compress_level=1)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    assert len(ours) <= 1.05 * len(buf.getvalue())


@pytest.mark.parametrize("mode", ["P", "I;16", "1"])
def test_other_modes_go_through_pillow(mode: str) -> None:
    image = _image("L").convert(mode)
    back = Image.open(io.BytesIO(encode_png(image)))
    assert np.array_equal(np.asarray(back), np.asarray(image))


def test_an_icc_profile_is_kept() -> None:
    image = _image("RGB")
    image.info["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    back = Image.open(io.BytesIO(encode_png(image)))
    assert back.info.get("icc_profile") == image.info["icc_profile"]


def test_a_bad_level_is_refused() -> None:
    with pytest.raises(ValueError, match="compress_level must be 0..9"):
        encode_png(_image("RGB"), compress_level=12)
