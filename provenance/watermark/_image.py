"""Turning any PIL image into float pixel planes a watermark can change, and back.

Watermarks work on 8-bit-scaled float planes. Each input mode is either carried (RGB, RGBA, L,
LA, palette, 16- and 32-bit integer greyscale) or refused with a WatermarkError that says what
to do: a silent conversion would change the image the caller asked us to mark.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image

from hallmark.errors import WatermarkCapacityError, WatermarkError

_GREY16 = {"I;16", "I;16B", "I;16L", "I;16N"}


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601


@dataclass
class Canvas:
    """Pixels H×W×C (C = 3 for colour, 1 for greyscale): uint8 for 8-bit images, float32 on a
    0..255 scale for 16- and 32-bit ones."""

    raw: np.ndarray
    alpha: Image.Image | None
    mode: str  # the mode the marked image comes back in
    scale: float  # 1 for 8-bit planes, 257 for 16-bit
    source: Image.Image | None = None  # the 8-bit RGB or L image behind ``raw``, when there is one

    @property
    def colour(self) -> bool:
        return self.raw.shape[2] == 3

    @functools.cached_property
    def pixels(self) -> np.ndarray:
        """The planes as float32 on a 0..255 scale."""
        return self.raw.astype(np.float32)

    def luminance(self) -> np.ndarray:
        """Rec. 601 luma, the plane our own scheme marks."""
        if not self.colour:
            return self.pixels[:, :, 0]
        return self.raw.astype(np.float32) @ _LUMA

    def luma_image(self) -> Image.Image:
        """Luma as a PIL image ("L" for 8-bit images, rounded; "F" otherwise), for resizing."""
        if self.source is not None:
            return self.source.convert("L") if self.colour else self.source
        return Image.fromarray(self.luminance().astype(np.float32), "F")

    def add_luminance(self, delta: np.ndarray) -> Image.Image:
        """The image with ``delta`` added to every colour plane, which changes luma by ``delta``
        and leaves chroma alone."""
        if self.source is not None:
            return self._wrap(self._added(delta))
        return self.to_image(self.pixels + delta[:, :, None])

    def _added(self, delta: np.ndarray) -> np.ndarray:
        """The 8-bit planes (H×W×C) plus the rounded ``delta``, saturated."""
        import cv2

        # Adding a rounded delta to integers is the same as rounding the sum, so the 8-bit
        # planes take the rounded delta's positive and negative parts with OpenCV's saturating
        # add and subtract: exact (a part beyond 255 saturates the sum either way), and five
        # times faster than int16 numpy arithmetic with a clip.  OpenCV rounds half to even,
        # as np.rint does.
        delta = np.ascontiguousarray(delta, np.float32)
        up = cv2.convertScaleAbs(cv2.threshold(delta, 0.0, 0.0, cv2.THRESH_TOZERO)[1])
        down = cv2.convertScaleAbs(cv2.threshold(delta, 0.0, 0.0, cv2.THRESH_TOZERO_INV)[1])
        if self.colour:
            up, down = cv2.cvtColor(up, cv2.COLOR_GRAY2RGB), cv2.cvtColor(down, cv2.COLOR_GRAY2RGB)
            out = cv2.subtract(cv2.add(self.raw, up), down)
            return np.asarray(out)
        out = cv2.subtract(cv2.add(self.raw[:, :, 0], up), down)
        return np.asarray(out)[:, :, None]

    def add_luminance_in_range(self, delta: np.ndarray, envelope: np.ndarray) -> Image.Image:
        """``add_luminance``, but a mark whose ``envelope`` (its local peak amplitude) does not
        fit between a pixel's luma and 0 or 255 is shifted into the room there is (its pattern
        kept, its mean moved), and where one colour channel would clip, the others carry its
        share of the luma change: the mark is not cut off in white, black or saturated colour.

        Only the pixels at risk of clipping take the slow path; the rest is ``add_luminance``."""
        if self.source is None:  # 16/32-bit greyscale: one channel, shift only
            y = self.pixels[:, :, 0]
            shift = np.maximum(envelope - (255.0 - y), 0.0) - np.maximum(envelope - y, 0.0)
            return self.to_image((y + delta - shift)[:, :, None])
        raw = self.raw
        if self.colour:
            vmax = np.maximum(np.maximum(raw[:, :, 0], raw[:, :, 1]), raw[:, :, 2])
            vmin = np.minimum(np.minimum(raw[:, :, 0], raw[:, :, 1]), raw[:, :, 2])
        else:
            vmax = vmin = raw[:, :, 0]
        out = self._added(delta)
        rows, cols = np.nonzero((vmax > 255.0 - envelope) | (vmin < envelope))
        if rows.size:
            px = raw[rows, cols].astype(np.float32)
            y = px @ _LUMA if self.colour else px[:, 0]
            e = envelope[rows, cols]
            shift = np.maximum(e - (255.0 - y), 0.0) - np.maximum(e - y, 0.0)
            target = np.clip(y + delta[rows, cols] - shift, 0.0, 255.0)
            if self.colour:
                out = out.copy() if not out.flags.writeable else out
                out[rows, cols] = _fill_channels(px, target - y)
            else:
                out = out.copy() if not out.flags.writeable else out
                out[rows, cols, 0] = np.rint(target).astype(np.uint8)
        return self._wrap(out)

    def to_image(self, pixels: np.ndarray) -> Image.Image:
        """The marked pixels as an image of the input's mode (palette images come back RGB/RGBA)."""
        if self.scale != 1.0:
            arr = np.clip(np.rint(pixels[:, :, 0] * self.scale), 0, 65535)
            # Pillow infers "I" from int32 and "I;16" from uint16 arrays.
            return Image.fromarray(arr.astype(np.int32 if self.mode == "I" else np.uint16))
        return self._wrap(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))

    def _wrap(self, arr: np.ndarray) -> Image.Image:
        out = Image.fromarray(arr if self.colour else arr[:, :, 0], "RGB" if self.colour else "L")
        if self.alpha is not None:
            out.putalpha(self.alpha)
        return out


def _fill_channels(px: np.ndarray, change: np.ndarray) -> np.ndarray:
    """RGB pixels (n×3, float) changed so that their luma changes by ``change`` while every
    channel stays in 0..255: each channel moves by ``change``, and what a clipped channel could
    not take is spread over the channels that still have room (water filling, two rounds are
    enough for three channels).  Returns uint8."""
    target = px @ _LUMA + change
    c = np.clip(px + change[:, None], 0.0, 255.0)
    for _ in range(2):
        short = target - c @ _LUMA
        free = ((short[:, None] > 0) & (c < 255.0)) | ((short[:, None] < 0) & (c > 0.0))
        weight = free @ _LUMA
        room = weight > 1e-6
        c[room] += free[room] * (short[room] / weight[room])[:, None]
        np.clip(c, 0.0, 255.0, out=c)
    return np.rint(c).astype(np.uint8)


def open_canvas(image: Image.Image, *, scheme_id: str, min_size: int, colour_only: bool = False) -> Canvas:
    """The image as a Canvas, or a WatermarkError naming why this scheme cannot mark it."""
    if not isinstance(image, Image.Image):
        raise WatermarkError(f"{scheme_id} needs a PIL image, got {type(image).__name__}")
    w, h = image.size
    if min(w, h) < min_size:
        raise WatermarkCapacityError(
            f"image {w}x{h} is smaller than {scheme_id} can mark (shortest side {min_size} px)",
            hint="Generate a larger image, or release it with the C2PA manifest only if the policy allows.",
        )
    mode = image.mode
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode
    alpha = image.getchannel("A") if mode in ("RGBA", "LA") else None
    if mode in ("RGB", "RGBA"):
        rgb = image.convert("RGB") if mode == "RGBA" else image
        return Canvas(np.asarray(rgb), alpha, mode, 1.0, source=rgb)
    if colour_only and mode in ("L", "LA", "I", *_GREY16):
        raise WatermarkError(
            f"{scheme_id} marks a colour channel and cannot mark a greyscale ({mode}) image",
            hint="Use the hallmark.wm1 scheme, which marks luminance.",
        )
    if mode in ("L", "LA"):
        grey = image.getchannel("L")
        return Canvas(np.asarray(grey)[:, :, None], alpha, mode, 1.0, source=grey)
    if mode in _GREY16 or mode == "I":
        arr = np.asarray(image).astype(np.float64)
        if arr.min() < 0 or arr.max() > 65535:
            raise WatermarkError(f"{mode} image has values outside 0..65535; cannot mark it")
        return Canvas(
            (arr / 257.0).astype(np.float32)[:, :, None], None, "I" if mode == "I" else "I;16", 257.0
        )
    raise WatermarkError(
        f"{scheme_id} cannot mark {mode} images",
        hint="Convert the image to RGB (or L for greyscale) first.",
    )
