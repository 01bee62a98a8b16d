"""A fast PNG encoder for the images the pipeline releases.

Pillow's PNG encoder spends most of its time in per-row adaptive filtering and zlib: about 80 ms
for a 1024 px RGB image at level 1 on this project's reference 2-core machine, more than every
other post-generation stage together.  Generated images are 8-bit RGB (or RGBA/L/LA), for which
the "Up" filter is one numpy subtraction, and ISA-L's deflate (``isal``) compresses at several
hundred MB/s, so a complete PNG takes about a tenth of that time, at the same size or smaller
(see ``bench/overhead.py``).  Anything else (palette, 16-bit, images carrying an ICC profile or
transparency) goes through Pillow unchanged.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

# PNG colour types of the modes written directly (8 bits per sample).
_COLOUR_TYPE = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FILTER_UP = 2
# ISA-L's levels stop at 3; past it, stdlib zlib's slower levels are used.
_ISAL_MAX_LEVEL = 3
# ISA-L's match window: 1 KiB rather than 32 KiB.  On Up-filtered rows distant matches are rare,
# and with the short window its fast levels found shorter output, ~1% smaller, ~10% sooner on
# photos, generated images and synthetic ones alike (any zlib decoder reads a short window).
_ISAL_HIST_BITS = 10


def _chunk(kind: bytes, body: bytes) -> bytes:
    from isal import isal_zlib  # its CRC-32 is ~5x zlib's, which counts on a 1.4 MB IDAT

    crc = isal_zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _deflate(data: bytes | memoryview, level: int) -> bytes:
    if level <= _ISAL_MAX_LEVEL:
        from isal import igzip_lib

        return igzip_lib.compress(data, level, flag=igzip_lib.COMP_ZLIB, hist_bits=_ISAL_HIST_BITS)
    return zlib.compress(data, level)


def encode_png(image: Image.Image, *, compress_level: int = 1) -> bytes:
    """``image`` as PNG bytes; the pixels decode back exactly.

    8-bit L, LA, RGB and RGBA images without ICC profile or transparency key are written with
    the Up filter on every row and deflated by ISA-L (levels 0-3) or zlib (4-9); other images are
    handed to Pillow's encoder at ``compress_level``.
    """
    if not 0 <= compress_level <= 9:
        raise ValueError(f"compress_level must be 0..9, got {compress_level}")
    colour_type = _COLOUR_TYPE.get(image.mode)
    if colour_type is None or {"icc_profile", "transparency", "gamma"} & image.info.keys():
        buf = io.BytesIO()
        image.save(buf, format="PNG", compress_level=compress_level)
        return buf.getvalue()
    width, height = image.size
    pixels = np.asarray(image).reshape(height, -1)
    rows = np.empty((height, pixels.shape[1] + 1), np.uint8)
    rows[:, 0] = _FILTER_UP
    rows[0, 1:] = pixels[0]
    # Up filter: each byte minus the byte above it, modulo 256 (uint8 arithmetic wraps).
    np.subtract(pixels[1:], pixels[:-1], out=rows[1:, 1:])
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", _deflate(rows.data.cast("B"), compress_level)),  # no copy of the rows
            _chunk(b"IEND", b""),
        )
    )
