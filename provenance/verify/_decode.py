"""Reading and decoding the file a verification is asked about, within limits.

The source is read whole (up to ``max_bytes``, counted on the bytes actually read) and its format
identified from its bytes, not its name; only a regular file is read (a FIFO, a device or a link
to one is refused unread).  The first frame is decoded only when its declared size is within
``max_pixels``, and an image larger than ``FULL_DECODE_PIXELS`` is reduced (JPEG: decoded at a
reduced DCT scale) before any watermark reader sees it, so that a small file declaring a huge
canvas costs bounded memory and time.  A path that cannot be read raises ``InputError``;
anything wrong with the bytes is returned as a reason, never raised.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import stat
import warnings
from pathlib import Path
from typing import Any

from hallmark.errors import InputError

from ._report import ImageInfo

# A decompression bomb is a small file that decodes to billions of pixels; Pillow only warns
# below twice its own limit, so we check the declared size before decoding anything.
DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
# The largest image the watermark readers see at full scale: the largest hallmark generates.
FULL_DECODE_PIXELS = 4096 * 4096
# Formats whose decoder cannot reduce while decoding and needs several full-size buffers (Pillow
# decodes WebP through RGBA frames: ~16 bytes a pixel) get a lower default limit, so that any
# file stays under 1 GiB at default limits; an explicit max_pixels overrides it.
FORMAT_MAX_PIXELS = {"WEBP": 40_000_000}

_FORMAT_MIME = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "AVIF": "image/avif",
    "HEIF": "image/heif",
    "JXL": "image/jxl",
}
_EXTENSION_FORMAT = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".gif": "GIF",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".avif": "AVIF",
    ".heic": "HEIF",
    ".heif": "HEIF",
}


def _read_source(source: Path | str | bytes, *, max_bytes: int) -> tuple[str, bytes | None, str]:
    """(label, bytes or None when over ``max_bytes``, lower-case suffix)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return "<bytes>", data if len(data) <= max_bytes else None, ""
    path = Path(source)
    try:
        # Non-blocking, so that opening a FIFO does not wait for a writer; then only a regular
        # file (after following links) is read, and no more than max_bytes + 1 bytes of it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as e:
        raise InputError(f"no such file: {path}", hint="Check the path.") from e
    except IsADirectoryError as e:
        raise InputError(
            f"{path} is a directory", hint="Use `hallmark verify DIR` to verify a folder."
        ) from e
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from e
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{path} is a directory", hint="Use `hallmark verify DIR` to verify a folder.")
        if not stat.S_ISREG(mode):
            raise InputError(f"{path} is not a regular file ({_file_kind(mode)}); it was not read")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from e
    finally:
        os.close(fd)
    return str(path), data if len(data) <= max_bytes else None, path.suffix.lower()


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((name for test, name in kinds if test(mode)), "a socket or other special file")


def _guess_mime(suffix: str) -> str | None:
    fmt = _EXTENSION_FORMAT.get(suffix)
    return _FORMAT_MIME.get(fmt) if fmt else None


def _misnamed(suffix: str, fmt: str | None) -> str | None:
    """A warning when the file's name promises another format than its bytes hold (a ``.jpg``
    holding MPO, a multi-picture JPEG, is not one)."""
    if suffix and fmt and _EXTENSION_FORMAT.get(suffix) not in (None, fmt):
        if not (suffix in (".jpg", ".jpeg", ".jpe") and fmt == "MPO"):
            return f"the file is named {suffix} but its content is {fmt}"
    return None


def _decode(data: bytes, *, max_pixels: int | None = None) -> tuple[ImageInfo, Any, str]:
    """Identify the format from the bytes and decode the first frame as RGB, refusing images
    whose declared size exceeds ``max_pixels`` (default: ``DEFAULT_MAX_PIXELS``, lower for the
    formats in ``FORMAT_MAX_PIXELS``) before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    digest = hashlib.sha256(data).hexdigest()
    fmt = mime = None
    width = height = None
    if not data:
        return ImageInfo(None, None, None, None, 0, digest), None, "the file is empty"
    try:
        with warnings.catch_warnings():
            # We enforce our own limit below; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
        fmt = im.format
        mime = _FORMAT_MIME.get(fmt or "") or (Image.MIME.get(fmt) if fmt else None)
        width, height = im.size
        info = ImageInfo(fmt, mime, width, height, len(data), digest)
        if max_pixels is None:
            max_pixels = FORMAT_MAX_PIXELS.get(fmt or "", DEFAULT_MAX_PIXELS)
        if width * height > max_pixels:
            return (
                info,
                None,
                f"the image declares {width}x{height} = {width * height} pixels, over the limit of "
                f"{max_pixels} (a decompression bomb?)",
            )
        if width <= 0 or height <= 0:
            return info, None, "the image has no pixels"
        return info, _pixels(im, width * height), ""
    except Image.DecompressionBombError as e:
        return (
            ImageInfo(fmt, mime, width, height, len(data), digest),
            None,
            f"decompression bomb refused: {e}",
        )
    except UnidentifiedImageError:
        return (
            ImageInfo(None, None, None, None, len(data), digest),
            None,
            "not an image format Pillow can read (unsupported format, or not an image at all)",
        )
    except MemoryError:
        return (
            ImageInfo(fmt, mime, width, height, len(data), digest),
            None,
            "the image is too large to decode",
        )
    except Exception as e:  # Pillow's decoders raise OSError, SyntaxError, ValueError, struct.error...
        why = " ".join(str(e).split())[:160] or type(e).__name__
        return (
            ImageInfo(fmt, mime, width, height, len(data), digest),
            None,
            f"truncated or corrupt image data: {why}",
        )


def decode_pixels(data: bytes) -> tuple[Any, str]:
    """The pixels that verify's watermark readers see in ``data`` (the first frame as RGB,
    reduced above ``FULL_DECODE_PIXELS``), or None and the reason it does not decode.  The
    pipeline reads a mark back from the bytes it is about to release through this."""
    _info, pixels, why = _decode(data)
    return pixels, why


def _pixels(im: Any, pixels: int) -> Any:
    """The first frame as RGB, reduced by a whole factor when it has more than
    ``FULL_DECODE_PIXELS``: a JPEG is decoded at a reduced DCT scale (never at full size), any
    other format is decoded, reduced, and its full-size buffer freed before conversion."""
    factor = math.ceil(math.sqrt(pixels / FULL_DECODE_PIXELS)) if pixels > FULL_DECODE_PIXELS else 1
    if factor > 1 and im.format in ("JPEG", "MPO"):
        im.draft("RGB", (im.size[0] // factor, im.size[1] // factor))
    im.load()
    if factor > 1 and max(im.size[0] * im.size[1] // FULL_DECODE_PIXELS, 1) > 1:
        if im.mode not in ("L", "LA", "RGB", "RGBA", "I", "F", "I;16"):
            im = im.convert("RGBA" if "transparency" in im.info or im.mode in ("PA", "RGBa") else "RGB")
        big = im
        im = big.reduce(math.ceil(math.sqrt(big.size[0] * big.size[1] / FULL_DECODE_PIXELS)))
        del big
    return im if im.mode == "RGB" else im.convert("RGB")
