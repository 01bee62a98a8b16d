"""The visible label (provenance/_labels_visible.py): size and position checked from the pixels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from hallmark.errors import InputError, ProvenanceError
from hallmark.provenance.labels import _visible as _labels_visible
from hallmark.provenance.labels._visible import FONT_CANDIDATES, LabelFont, draw_label, find_font, layout

TEXT = "AI生成"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture(scope="module")
def cjk() -> LabelFont:
    try:
        return find_font(TEXT)
    except ProvenanceError:
        pytest.skip("no CJK font installed (run scripts/install-system-deps.sh)")


def _draw(img: Image.Image, font: LabelFont, **kw: object) -> Image.Image:
    opts: dict[str, object] = {
        "min_height_fraction": 0.05,
        "min_text_px": 12,
        "max_width_fraction": 0.6,
        "corner": "bottom_right",
        "style": "plate",
    }
    opts.update(kw)
    out, _ = draw_label(img, font, TEXT, **opts)  # type: ignore[arg-type]
    return out


def _layout(size: tuple[int, int], font: LabelFont, corner: str) -> tuple[Any, Any, tuple[int, int]]:
    """``layout`` with the options ``_draw`` uses."""
    return layout(
        size, font, TEXT, min_height_fraction=0.05, min_text_px=12, max_width_fraction=0.6, corner=corner
    )


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@pytest.mark.parametrize("corner", ["top_left", "top_right", "bottom_left", "bottom_right"])
@pytest.mark.parametrize("size", [(512, 512), (1024, 640), (300, 900)])
def test_label_sits_in_the_corner_and_is_tall_enough(
    cjk: LabelFont, corner: str, size: tuple[int, int]
) -> None:
    img = Image.new("RGB", size, (128, 128, 128))
    out = np.asarray(_draw(img, cjk, corner=corner)).astype(int)
    changed = np.abs(out - 128).sum(axis=2) > 0
    left, top, right, bottom = _bbox(changed)
    w, h = size
    short = min(size)
    # Inside the named quarter of the image, close to its edges.
    margin = math.ceil(0.02 * short) + 1
    if corner.endswith("left"):
        assert left <= margin and right < w / 2
    else:
        assert w - right <= margin and left > w / 2
    if corner.startswith("top"):
        assert top <= margin and bottom < h / 2
    else:
        assert h - bottom <= margin and top > h / 2
    # The glyphs (bright on the dark plate) are at least 5% of the shortest side tall.
    plate = out[top:bottom, left:right].mean(axis=2)
    text = _bbox(plate > 160)
    assert text[3] - text[1] >= 0.05 * short
    # The text stays on its plate, with room around it.
    assert text[0] > 0 and text[1] > 0 and text[2] < right - left and text[3] < bottom - top


def test_min_height_fraction_scales_the_glyphs(cjk: LabelFont) -> None:
    img = Image.new("RGB", (800, 800), (128, 128, 128))
    out = np.asarray(_draw(img, cjk, min_height_fraction=0.1)).astype(int)
    rows = _bbox(out.mean(axis=2) > 160)
    assert rows[3] - rows[1] >= 80


def test_small_image_uses_the_legibility_floor(cjk: LabelFont) -> None:
    box, _, _ = layout(
        (200, 200),
        cjk,
        TEXT,
        min_height_fraction=0.05,
        min_text_px=12,
        max_width_fraction=0.6,
        corner="top_left",
    )
    assert box.text_height >= 12  # 5% of 200 would be 10 px


@pytest.mark.parametrize("background", ["white", "black", "noise"])
@pytest.mark.parametrize("style", ["plate", "outline"])
def test_label_contrasts_with_any_background(cjk: LabelFont, background: str, style: str) -> None:
    rng = np.random.default_rng(3)
    if background == "noise":
        arr = rng.integers(0, 256, (400, 400, 3), dtype=np.uint8)
    else:
        arr = np.full((400, 400, 3), 255 if background == "white" else 0, dtype=np.uint8)
    img = Image.fromarray(arr)
    box, face, origin = _layout(img.size, cjk, "bottom_right")
    # Pixels that are glyph for certain (the font's own fully covered mask) against the pixels
    # right around the glyphs: white text against a dark plate or a dark outline.
    mask = np.zeros((400, 400), dtype=bool)
    glyph = Image.new("L", img.size, 0)
    from PIL import ImageDraw

    ImageDraw.Draw(glyph).text(origin, TEXT, font=face, fill=255)
    mask = np.asarray(glyph) == 255
    out = np.asarray(_draw(img, cjk, style=style).convert("L")).astype(float)
    core = out[mask].mean()
    ring = np.zeros_like(mask)
    from scipy.ndimage import binary_dilation

    near = (
        binary_dilation(mask, iterations=2) & ~binary_dilation(mask, iterations=1) & ~(np.asarray(glyph) > 0)
    )
    ring = out[near].mean()
    assert core > 240 and ring < 110, (core, ring)
    assert box.text_height >= 20


def test_other_modes_are_kept(cjk: LabelFont) -> None:
    for mode in ("RGB", "RGBA", "L", "LA", "P"):
        img = Image.new(mode, (300, 300))
        out = _draw(img, cjk)
        assert out.size == img.size
        assert out.mode == ("RGB" if mode == "P" else mode)
    assert img.getextrema() == (0, 0)  # the input was not drawn on


def test_unsupported_mode(cjk: LabelFont) -> None:
    with pytest.raises(InputError, match="cannot label an image in mode 'CMYK'"):
        _draw(Image.new("CMYK", (300, 300)), cjk)


@pytest.mark.parametrize("size", [(64, 64), (100, 40), (20, 400)])
def test_image_too_small_for_a_legible_label(cjk: LabelFont, size: tuple[int, int]) -> None:
    with pytest.raises(InputError, match=rf"image {size[0]}x{size[1]} is too small for a legible label"):
        _draw(Image.new("RGB", size), cjk)


def test_text_without_ink(cjk: LabelFont) -> None:
    with pytest.raises(ProvenanceError, match="draws no ink"):
        layout(
            (400, 400),
            cjk,
            " ",
            min_height_fraction=0.05,
            min_text_px=12,
            max_width_fraction=0.6,
            corner="top_left",
        )


def test_configured_font_path_and_index(cjk: LabelFont) -> None:
    font = find_font(TEXT, font_path=cjk.path, font_index=cjk.index)
    assert font == cjk


def test_configured_font_missing(tmp_path: Path) -> None:
    with pytest.raises(ProvenanceError, match="label font not found: .*nofont.ttf"):
        find_font(TEXT, font_path=tmp_path / "nofont.ttf")


def test_font_that_cannot_render_the_text() -> None:
    if not DEJAVU.is_file():
        pytest.skip("DejaVuSans not installed")
    with pytest.raises(
        ProvenanceError,
        match=r"cannot render the label text: no glyph for '生' \(U\+751F\), '成' \(U\+6210\)",
    ):
        find_font(TEXT, font_path=DEJAVU)


def test_no_installed_font_can_render_the_text(cjk: LabelFont) -> None:
    with pytest.raises(ProvenanceError, match="no installed font can render the label text"):
        find_font("AI生成\U0001f701")  # an alchemical symbol no CJK font has


def test_font_index_out_of_range(cjk: LabelFont) -> None:
    with pytest.raises(ProvenanceError, match="font_index 99 does not exist"):
        find_font(TEXT, font_path=cjk.path, font_index=99)


def test_corrupt_font_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"\x00\x01\x00\x00garbage")
    with pytest.raises(ProvenanceError, match="cannot read font .*bad.ttf"):
        find_font(TEXT, font_path=bad)


def test_font_with_a_broken_table(tmp_path: Path) -> None:
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "A"])
    fb.setupCharacterMap({ord("A"): "A"})
    pen = TTGlyphPen(None)
    fb.setupGlyf({".notdef": pen.glyph(), "A": pen.glyph()})
    fb.setupHorizontalMetrics({".notdef": (500, 0), "A": (500, 0)})
    fb.setupHorizontalHeader()
    fb.setupNameTable({"familyName": "Broken", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    path = tmp_path / "broken.ttf"
    fb.save(str(path))
    raw = bytearray(path.read_bytes())
    # Point the cmap table's record far past the end of the file.
    i = raw.index(b"cmap")
    raw[i + 8 : i + 12] = (10**8).to_bytes(4, "big")
    path.write_bytes(bytes(raw))
    with pytest.raises(ProvenanceError, match=r"cannot read font .*broken.ttf \(face 0\)"):
        find_font("A", font_path=path)


def test_no_cjk_font_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_labels_visible, "FONT_CANDIDATES", ())
    monkeypatch.setattr(_labels_visible, "_FONT_GLOBS", ())
    with pytest.raises(ProvenanceError, match="no CJK font found for the visible label") as info:
        find_font(TEXT)
    assert "install-system-deps.sh" in info.value.hint


def test_search_list_names_the_debian_package_first() -> None:
    assert FONT_CANDIDATES[0].startswith("/usr/share/fonts/opentype/noto/NotoSansCJK")


def _whole_image_label(image: Image.Image, font: LabelFont, corner: str, style: str) -> Image.Image:
    """The label drawn over the whole image: every pixel converted to RGBA, composited with a
    full-size overlay and converted back (what ``draw_label`` does on the label's region only)."""
    from PIL import ImageDraw

    box, face, origin = _layout(image.size, font, corner)
    base = image.convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    if style == "plate":
        radius = max(1, (box.bottom - box.top) // 6)
        draw.rounded_rectangle(
            (box.left, box.top, box.right - 1, box.bottom - 1), radius=radius, fill=(0, 0, 0, 191)
        )
        draw.text(origin, TEXT, font=face, fill=(255, 255, 255, 255))
    else:
        stroke = max(1, math.ceil(box.text_height / 10))
        draw.text(
            origin,
            TEXT,
            font=face,
            fill=(255, 255, 255, 255),
            stroke_width=stroke,
            stroke_fill=(0, 0, 0, 255),
        )
    out = Image.alpha_composite(base, overlay)
    return out if image.mode == "RGBA" else out.convert("RGB" if image.mode == "P" else image.mode)


@pytest.mark.parametrize("style", ["plate", "outline"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P"])
def test_drawing_on_the_region_alone_gives_the_whole_image_pixels(
    cjk: LabelFont, mode: str, style: str
) -> None:
    rng = np.random.default_rng(3)
    photo = Image.fromarray(rng.integers(0, 256, (300, 420, 4), dtype=np.uint8), "RGBA")
    image = photo.convert(mode) if mode != "P" else photo.convert("RGB").quantize(64)
    before = np.asarray(image).copy()
    for corner in ("top_left", "bottom_right"):
        ours = _draw(image, cjk, corner=corner, style=style)
        expected = _whole_image_label(image, cjk, corner, style)
        assert ours.mode == expected.mode and ours.size == expected.size
        assert np.array_equal(np.asarray(ours), np.asarray(expected)), (mode, style, corner)
    assert np.array_equal(np.asarray(image), before)  # the input is not modified
