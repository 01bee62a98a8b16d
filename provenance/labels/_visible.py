"""The explicit (visible) label: a line of text in a corner, legible on any background.

The font is found once, when the labeller is built, and checked to have a glyph for every
character of the label (a missing glyph would print as an empty box, which is no label at all).
Glyph height, not font size, is what the regulation measures, so the size is solved from the
ink box of the actual text.
"""

from __future__ import annotations

import functools
import glob
import math
import struct
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from hallmark.errors import InputError, ProvenanceError

# Where CJK fonts live on common systems; ``fonts-noto-cjk`` (Debian/Ubuntu) comes first because
# the project's set-up (scripts/install-system-deps.sh) installs it.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
_FONT_GLOBS = (
    "/usr/share/fonts/**/*CJK*.tt[cf]",
    "/usr/share/fonts/**/*CJK*.otf",
    "/usr/local/share/fonts/**/*CJK*",
)
_PROBE_SIZE = 200
# Padding around the text, as a share of its glyph height.
_PAD = 0.35
_MARGIN_FRACTION = 0.02
_MODES = ("RGB", "RGBA", "L", "LA", "P")


@dataclass(frozen=True)
class LabelFont:
    """A font file (and face index in a collection) that has a glyph for every label character."""

    path: Path
    index: int
    family: str

    def load(self, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(self.path), size, index=self.index)


@dataclass(frozen=True)
class LabelBox:
    """Where the label was drawn, in pixels: the plate (or outline box) and the text's ink height."""

    left: int
    top: int
    right: int
    bottom: int
    text_height: int
    font_size: int


class _FontFile:
    """A font file or collection whose faces' names and character maps are read on demand
    (a CJK collection holds ten faces of ~45,000 characters each: reading all costs seconds)."""

    def __init__(self, path: Path) -> None:
        from fontTools.ttLib import TTCollection, TTFont, TTLibError

        self.path = path
        try:
            self._fh = path.open("rb")
        except OSError as e:
            raise ProvenanceError(f"cannot read font {path}: {e.__class__.__name__}") from e
        try:
            magic = self._fh.read(4)
            self._fh.seek(0)
            self.fonts = (
                TTCollection(self._fh, lazy=True).fonts if magic == b"ttcf" else [TTFont(self._fh, lazy=True)]
            )
        except (OSError, TTLibError, AssertionError, struct.error) as e:
            self._fh.close()
            raise ProvenanceError(f"cannot read font {path}: {e.__class__.__name__}") from e

    def close(self) -> None:
        self._fh.close()

    def family(self, index: int) -> str:
        try:
            return str(self.fonts[index]["name"].getDebugName(1) or self.path.stem)
        except Exception as e:  # fontTools raises many types for a corrupt table
            raise ProvenanceError(
                f"cannot read font {self.path} (face {index}): {e.__class__.__name__}"
            ) from e

    def missing(self, index: int, text: str) -> list[str]:
        try:
            cmap = self.fonts[index].getBestCmap() or {}
        except Exception as e:  # as above
            raise ProvenanceError(
                f"cannot read font {self.path} (face {index}): {e.__class__.__name__}"
            ) from e
        return [ch for ch in dict.fromkeys(text) if not ch.isspace() and ord(ch) not in cmap]


def _pick_face(path: Path, text: str, index: int | None) -> LabelFont:
    return _pick_face_cached(path, path.stat().st_mtime_ns, text, index)


@functools.lru_cache(maxsize=32)
def _pick_face_cached(path: Path, _mtime: int, text: str, index: int | None) -> LabelFont:
    font = _FontFile(path)
    try:
        return _choose_face(font, text, index)
    finally:
        font.close()


def _choose_face(font: _FontFile, text: str, index: int | None) -> LabelFont:
    path = font.path
    if index is not None:
        if index >= len(font.fonts):
            raise ProvenanceError(
                f"font {path} has {len(font.fonts)} face(s); font_index {index} does not exist"
            )
        order = [index]
    else:
        # Prefer Simplified Chinese glyph shapes for a Chinese label when the collection has them.
        # Only two faces are tried: the faces of one collection cover much the same characters,
        # and each character map of a CJK face takes ~0.1 s to read.
        order = sorted(range(len(font.fonts)), key=lambda i: (" SC" not in font.family(i), i))[:2]
    first_missing: list[str] = []
    for i in order:
        missing = font.missing(i, text)
        if not missing:
            return LabelFont(path=path, index=i, family=font.family(i))
        first_missing = first_missing or missing
    shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in first_missing[:3])
    raise ProvenanceError(
        f"font {path} cannot render the label text: no glyph for {shown}",
        hint="Choose a font with these glyphs (labels.cn_gb45438.font_path) or change the label text.",
    )


def find_font(text: str, *, font_path: str | Path | None = None, font_index: int | None = None) -> LabelFont:
    """The font to draw ``text`` with: ``font_path`` when given, else the first installed CJK font
    from :data:`FONT_CANDIDATES` that has every glyph.  Raises ``ProvenanceError`` naming the problem."""
    if font_path is not None:
        path = Path(font_path).expanduser()
        if not path.is_file():
            raise ProvenanceError(
                f"label font not found: {path}",
                hint="Point labels.cn_gb45438.font_path at a .ttf/.otf/.ttc file, or run scripts/install-system-deps.sh.",
            )
        return _pick_face(path, text, font_index)
    seen: list[str] = []
    found_any = False
    candidates = list(FONT_CANDIDATES)
    for pattern in _FONT_GLOBS:
        candidates += sorted(glob.glob(pattern, recursive=True))
    for candidate in dict.fromkeys(candidates):
        path = Path(candidate)
        if not path.is_file():
            continue
        found_any = True
        try:
            return _pick_face(path, text, font_index)
        except ProvenanceError:
            seen.append(path.name)
    if found_any:
        raise ProvenanceError(
            f"no installed font can render the label text (tried {', '.join(seen[:4])})",
            hint="Set labels.cn_gb45438.font_path to a font with these glyphs, or change the label text.",
        )
    raise ProvenanceError(
        "no CJK font found for the visible label",
        hint="Run scripts/install-system-deps.sh (installs fonts-noto-cjk) or set labels.cn_gb45438.font_path.",
    )


def _ink_height(font: ImageFont.FreeTypeFont, text: str) -> tuple[int, tuple[int, int, int, int]]:
    box = [int(v) for v in font.getbbox(text)]
    return box[3] - box[1], (box[0], box[1], box[2], box[3])


def layout(
    image_size: tuple[int, int],
    font: LabelFont,
    text: str,
    *,
    min_height_fraction: float,
    min_text_px: int,
    max_width_fraction: float,
    corner: str,
) -> tuple[LabelBox, ImageFont.FreeTypeFont, tuple[int, int]]:
    """Font, plate box and text origin of a label whose glyphs are at least
    ``max(min_height_fraction * shortest side, min_text_px)`` pixels tall."""
    width, height = image_size
    short = min(width, height)
    target = max(math.ceil(min_height_fraction * short), min_text_px)
    probe, _ = _ink_height(font.load(_PROBE_SIZE), text)
    if probe <= 0:
        raise ProvenanceError("the label text draws no ink with this font")
    size = max(1, math.ceil(target * _PROBE_SIZE / probe))
    face = font.load(size)
    ink, box = _ink_height(face, text)
    while ink < target:  # rounding in the rasteriser can leave it a pixel short
        size += 1
        face = font.load(size)
        ink, box = _ink_height(face, text)
    pad = max(2, math.ceil(ink * _PAD))
    plate_w = (box[2] - box[0]) + 2 * pad
    plate_h = ink + 2 * pad
    margin = max(1, round(_MARGIN_FRACTION * short))
    if plate_w + 2 * margin > max_width_fraction * width or plate_h + 2 * margin > height / 2:
        raise InputError(
            f"image {width}x{height} is too small for a legible label: the label needs "
            f"{plate_w}x{plate_h} px (glyphs {ink} px tall) and may cover at most "
            f"{max_width_fraction:.0%} of the width",
            hint="Generate a larger image, or shorten labels.cn_gb45438.text.",
        )
    left = margin if corner.endswith("left") else width - margin - plate_w
    top = margin if corner.startswith("top") else height - margin - plate_h
    origin = (left + pad - box[0], top + pad - box[1])
    return LabelBox(left, top, left + plate_w, top + plate_h, ink, size), face, origin


def draw_label(
    image: Image.Image,
    font: LabelFont,
    text: str,
    *,
    min_height_fraction: float,
    min_text_px: int,
    max_width_fraction: float,
    corner: str,
    style: str,
) -> tuple[Image.Image, LabelBox]:
    """A copy of ``image`` with the label drawn in ``corner``; the input is not modified.

    ``plate``: white text on a 75%-opaque black plate, so the text stays at least ~9:1 in contrast
    whatever lies under it.  ``outline``: white text with a black stroke a tenth of its height.
    """
    if image.mode not in _MODES:
        raise InputError(f"cannot label an image in mode {image.mode!r}; use RGB or RGBA")
    box, face, origin = layout(
        image.size,
        font,
        text,
        min_height_fraction=min_height_fraction,
        min_text_px=min_text_px,
        max_width_fraction=max_width_fraction,
        corner=corner,
    )
    # Only the label's corner changes, so only it is converted, drawn on and composited: over the
    # rest, compositing a transparent overlay and converting back gives the same pixels, at ten
    # times the cost for a 1024 px image.  An outline's stroke may reach past the box.
    spread = max(1, math.ceil(box.text_height / 10)) + 2
    width, height = image.size
    x0, y0 = max(0, box.left - spread), max(0, box.top - spread)
    region = (x0, y0, min(width, box.right + spread), min(height, box.bottom + spread))
    base = image.crop(region).convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    at = (origin[0] - x0, origin[1] - y0)
    if style == "plate":
        radius = max(1, (box.bottom - box.top) // 6)
        plate = (box.left - x0, box.top - y0, box.right - 1 - x0, box.bottom - 1 - y0)
        draw.rounded_rectangle(plate, radius=radius, fill=(0, 0, 0, 191))
        draw.text(at, text, font=face, fill=(255, 255, 255, 255))
    else:
        stroke = max(1, math.ceil(box.text_height / 10))
        draw.text(
            at, text, font=face, fill=(255, 255, 255, 255), stroke_width=stroke, stroke_fill=(0, 0, 0, 255)
        )
    patch = Image.alpha_composite(base, overlay)
    out = image.convert("RGB") if image.mode == "P" else image.copy()
    out.paste(patch if out.mode == "RGBA" else patch.convert(out.mode), region[:2])
    return out, box
