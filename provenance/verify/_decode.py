"""Reading and decoding the file a verification is asked about, within limits.

The source is read whole (up to ``max_bytes``) and its format identified from its bytes, not its
name; the first frame is decoded as RGB only when its declared size is within ``max_pixels``.
A path that cannot be read raises ``InputError``; anything wrong with the bytes is returned as
a reason, never raised.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import Any

from hallmark.errors import InputError

from ._report import ImageInfo

# A decompression bomb is a small file that decodes to billions of pixels; Pillow only warns
# below twice its own limit, so we check the declared size before decoding anything.
DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_MAX_BYTES = 512 * 1024 * 1024

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
        if path.stat().st_size > max_bytes:
            # Do not read a huge file into memory just to say it is too big.
            return str(path), None, path.suffix.lower()
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise InputError(f"no such file: {path}", hint="Check the path.") from e
    except IsADirectoryError as e:
        raise InputError(
            f"{path} is a directory", hint="Use `hallmark verify DIR` to verify a folder."
        ) from e
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from e
    return str(path), data, path.suffix.lower()


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


def _decode(data: bytes, *, max_pixels: int) -> tuple[ImageInfo, Any, str]:
    """Identify the format from the bytes and decode the first frame as RGB, refusing images
    whose declared size exceeds ``max_pixels`` before any pixel is decoded."""
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
        if width * height > max_pixels:
            return (
                info,
                None,
                f"the image declares {width}x{height} = {width * height} pixels, over the limit of "
                f"{max_pixels} (a decompression bomb?)",
            )
        if width <= 0 or height <= 0:
            return info, None, "the image has no pixels"
        im.load()
        rgb = im.convert("RGB")
        return info, rgb, ""
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
