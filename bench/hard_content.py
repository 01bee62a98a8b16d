"""Hard content for a watermark: images drawn deterministically with PIL and numpy, by class.

Text-to-image models are asked for logos on white, line art, text, silhouettes, night scenes and
saturated posters as often as for photos, and those are where an invisible mark has least room:
large flat or clipped (pure white, pure black, fully saturated) areas, thin strokes, dark noise.
Each class here is drawn from a fixed seed, so the robustness benchmark (per-class table) and the
pipeline's tests mark and read the very same pixels on every machine with the same Pillow.

The photo class is the sample photos that installed packages ship (scikit-image's ``data``
folder, matplotlib's ``sample_data``); the shipped images that are really line art, text, logos,
silhouettes or textures (``horse``, ``text``, ``page``, ``logo``, ``grass``...) join those classes.

    from hard_content import content_set      # with bench/ on sys.path
    for item in content_set(): item.cls, item.name, item.image
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Classes in the order the benchmark prints them.
CLASSES = (
    "photo",
    "line-art",
    "text",
    "logo",
    "silhouette",
    "night",
    "gradient",
    "texture",
    "small",
    "aspect-1:4",
)

SIDE = 1024  # the long side photos are resized to, and the side of drawn square images

_WORDS = (
    "fox logo white background line art silhouette night scene saturated gradient fine texture "
    "grass gravel fabric provenance watermark manifest record signed released audit model prompt "
    "policy image city river mountain lantern harbour market garden orchard meadow"
).split()


@dataclass(frozen=True)
class ContentImage:
    """One image of the set: its class, a stable name and the RGB pixels."""

    cls: str
    name: str
    image: Image.Image


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _rgb(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "RGB")


def _fractal_noise(
    shape: tuple[int, int], rng: np.random.Generator, octaves: int, base: int = 4
) -> np.ndarray:
    """Sum of bicubically upscaled random grids, each octave half the amplitude: 0..1."""
    h, w = shape
    out = np.zeros(shape, np.float32)
    for o in range(octaves):
        k = base * 2**o
        grid = rng.random((max(2, k * h // max(h, w)) + 1, max(2, k * w // max(h, w)) + 1)).astype(np.float32)
        up = Image.fromarray(grid, "F").resize((w, h), Image.Resampling.BICUBIC)
        out += np.asarray(up) * 0.5**o
    out -= out.min()
    return out / max(float(out.max()), 1e-6)


# -- line art and text ----------------------------------------------------------------------


def line_art(seed: int, size: int = SIDE) -> Image.Image:
    """Black ink strokes on pure white: curves, circles and a hatched area, 2-5 px wide."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    for _ in range(14):
        pts = rng.random((6, 2)) * size
        t = np.linspace(0, 1, 80)[:, None]
        # A cubic Bézier through the first four points, then a polyline to the rest.
        p0, p1, p2, p3 = pts[:4]
        curve = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
        d.line(
            [tuple(p) for p in curve] + [tuple(p) for p in pts[4:]],
            fill="black",
            width=int(rng.integers(2, 6)),
        )
    for _ in range(6):
        cx, cy, r = rng.random(3) * [size, size, size / 6]
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline="black", width=3)
    x0, y0 = (rng.random(2) * size * 0.6).astype(int)
    for k in range(0, 240, 9):
        d.line((x0 + k, y0, x0, y0 + k), fill="black", width=2)
    return img


def fox_drawing(size: int = SIDE) -> Image.Image:
    """A fox's head in outline, drawn with a pen on white (a colouring-book page)."""
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    s = size / 1024
    head = [(212, 300), (512, 820), (812, 300), (650, 380), (512, 360), (374, 380)]
    d.line([(x * s, y * s) for x, y in head + head[:1]], fill="black", width=round(6 * s), joint="curve")
    for ear in ([(212, 300), (250, 120), (374, 380)], [(812, 300), (774, 120), (650, 380)]):
        d.line([(x * s, y * s) for x, y in ear], fill="black", width=round(6 * s), joint="curve")
    for cx in (420, 604):
        d.ellipse(((cx - 22) * s, 470 * s, (cx + 22) * s, 514 * s), outline="black", width=round(5 * s))
    d.polygon([(490 * s, 740 * s), (534 * s, 740 * s), (512 * s, 780 * s)], fill="black")
    for k in range(3):  # whiskers
        y = (700 + 18 * k) * s
        d.line((560 * s, y, 720 * s, y - 30 * s + 30 * k * s), fill="black", width=2)
        d.line((464 * s, y, 304 * s, y - 30 * s + 30 * k * s), fill="black", width=2)
    return img


def text_page(seed: int, size: int = SIDE, *, dark: bool = False) -> Image.Image:
    """Paragraphs of words in the default font, black on white (or white on near-black)."""
    rng = np.random.default_rng(seed)
    bg, fg = ((12, 12, 16), (245, 245, 245)) if dark else ((255, 255, 255), (0, 0, 0))
    img = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(img)
    title = _font(round(size / 14))
    d.text((size * 0.06, size * 0.04), " ".join(rng.choice(_WORDS, 3)).upper(), font=title, fill=fg)
    body = _font(round(size / 40))
    y = size * 0.16
    while y < size * 0.95:
        d.text((size * 0.06, y), " ".join(rng.choice(_WORDS, 9)), font=body, fill=fg)
        y += size / 30
    return img


# -- logos, silhouettes ---------------------------------------------------------------------


def fox_logo(size: int = SIDE) -> Image.Image:
    """ "A fox logo on a white background": flat orange, white and near-black shapes."""
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    s = size / 1024
    orange, dark = (240, 110, 20), (30, 25, 25)
    d.polygon([(p[0] * s, p[1] * s) for p in [(212, 300), (512, 820), (812, 300), (512, 400)]], fill=orange)
    d.polygon([(p[0] * s, p[1] * s) for p in [(212, 300), (250, 120), (400, 360)]], fill=orange)
    d.polygon([(p[0] * s, p[1] * s) for p in [(812, 300), (774, 120), (624, 360)]], fill=orange)
    d.polygon([(p[0] * s, p[1] * s) for p in [(340, 520), (512, 820), (684, 520), (512, 600)]], fill="white")
    d.polygon([(p[0] * s, p[1] * s) for p in [(480, 760), (544, 760), (512, 820)]], fill=dark)
    for cx in (420, 604):
        d.ellipse(((cx - 20) * s, 470 * s, (cx + 20) * s, 510 * s), fill=dark)
    d.text((512 * s, 930 * s), "FOXWORKS", font=_font(round(72 * s)), fill=dark, anchor="mm")
    return img


def badge_logo(seed: int, size: int = SIDE) -> Image.Image:
    """A round badge: concentric flat colour rings, a star and a word, on a flat colour field."""
    rng = np.random.default_rng(seed)
    palette = [tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(4)]
    img = Image.new("RGB", (size, size), palette[0])
    d = ImageDraw.Draw(img)
    c = size / 2
    for r, col in ((0.42, palette[1]), (0.36, (255, 255, 255)), (0.33, palette[2])):
        d.ellipse((c - r * size, c - r * size, c + r * size, c + r * size), fill=col)
    star = [
        (c + math.cos(math.pi / 2 + k * math.pi / 5) * size * (0.2 if k % 2 == 0 else 0.08),
         c - math.sin(math.pi / 2 + k * math.pi / 5) * size * (0.2 if k % 2 == 0 else 0.08))
        for k in range(10)
    ]  # fmt: skip
    d.polygon(star, fill=palette[3])
    d.text((c, c + 0.26 * size), "HALLMARK", font=_font(round(size / 18)), fill=(255, 255, 255), anchor="mm")
    return img


def silhouette(seed: int, size: int = SIDE, *, inverted: bool = False) -> Image.Image:
    """A solid figure (ellipses and a polygon) in pure black on pure white, or the reverse."""
    rng = np.random.default_rng(seed)
    bg, fg = ("black", "white") if inverted else ("white", "black")
    img = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(img)
    s = size / 1024
    d.ellipse((330 * s, 420 * s, 690 * s, 930 * s), fill=fg)  # body
    d.ellipse((400 * s, 190 * s, 620 * s, 430 * s), fill=fg)  # head
    for _ in range(4):  # limbs
        x, y = rng.integers(300, 720) * s, rng.integers(450, 900) * s
        d.line((512 * s, 600 * s, x + rng.integers(-300, 300) * s, y), fill=fg, width=round(40 * s))
    d.polygon(
        [(0, size), (size * 0.3, size * 0.85), (size * 0.7, size * 0.9), (size, size * 0.8), (size, size)],
        fill=fg,
    )
    return img


# -- night, gradients, textures -------------------------------------------------------------


def night_city(seed: int, size: int = SIDE) -> Image.Image:
    """A night skyline: a dark blue sky with stars and a moon, black towers with lit windows;
    mean luminance well under 30."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    sky = np.broadcast_to(
        np.array([4, 8, 22], np.float32) + y * np.array([10, 12, 20], np.float32), (size, size, 3)
    ).copy()
    sky += rng.normal(0, 1.5, sky.shape).astype(np.float32)  # sensor noise
    img = _rgb(sky)
    d = ImageDraw.Draw(img)
    for sx, sy in rng.random((120, 2)) * [size, size * 0.5]:
        d.point((float(sx), float(sy)), fill=(200, 200, 210))
    mx, my = size * 0.78, size * 0.16
    d.ellipse((mx - size * 0.05, my - size * 0.05, mx + size * 0.05, my + size * 0.05), fill=(220, 220, 200))
    x = 0.0
    while x < size:
        w = float(rng.integers(size // 16, size // 6))
        top = float(rng.integers(int(size * 0.35), int(size * 0.8)))
        d.rectangle((x, top, x + w, size), fill=(2, 2, 4))
        for wx in np.arange(x + 6, x + w - 8, 14):
            for wy in np.arange(top + 8, size - 10, 18):
                if rng.random() < 0.12:
                    d.rectangle((float(wx), float(wy), float(wx) + 5, float(wy) + 8), fill=(255, 200, 90))
        x += w + float(rng.integers(0, 12))
    return img


def night_photo(size: int = SIDE) -> Image.Image:
    """A sample photo exposed for the night: scaled to a tenth of its light, with dark noise."""
    from skimage import data

    rng = np.random.default_rng(11)
    photo = np.asarray(_fit(Image.fromarray(data.coffee()).convert("RGB"), size), np.float32)
    return _rgb(photo * 0.12 + rng.normal(0, 2.0, photo.shape))


def saturated_gradient(kind: str, size: int = SIDE) -> Image.Image:
    """Fully saturated colour: a hue sweep (HSV, S = V = 1) or a two-colour red/blue ramp with
    clipped channels, with a few hard-edged bands."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == "hue":
        hsv = np.stack([x * 255, np.full_like(x, 255), 255 * (0.6 + 0.4 * y)], axis=2)
        return Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")
    t = np.clip((x + y) / 2, 0, 1)
    a = np.stack([255 * (1 - t), np.zeros_like(t), 255 * t], axis=2)
    a[(np.floor(y * 8) % 2 == 0) & (x > 0.8)] = (255, 255, 0)
    return _rgb(a)


def texture(kind: str, seed: int, size: int = SIDE) -> Image.Image:
    """Procedural fine textures: grass blades, gravel, woven fabric."""
    rng = np.random.default_rng(seed)
    if kind == "grass":
        img = _rgb(np.zeros((size, size, 3)) + [40, 90, 30])
        d = ImageDraw.Draw(img)
        for _ in range(9000):
            x, y = rng.random(2) * size
            h = rng.uniform(10, 40)
            g = int(rng.integers(70, 200))
            d.line(
                (float(x), float(y), float(x + rng.normal(0, 6)), float(y - h)),
                fill=(g // 3, g, g // 4),
                width=2,
            )
        return img
    if kind == "gravel":
        base = _fractal_noise((size, size), rng, 6, base=8)
        a = (base * 110 + 70)[:, :, None] * np.array([1.0, 0.95, 0.85])
        img = _rgb(a)
        d = ImageDraw.Draw(img)
        for _ in range(2500):
            x, y, r = rng.random(3) * [size, size, 10]
            g = int(rng.integers(60, 230))
            d.ellipse(
                (float(x - r), float(y - r * 0.8), float(x + r), float(y + r * 0.8)),
                fill=(g, g - 5, g - 15),
                outline=(30, 28, 25),
            )
        return img.filter(ImageFilter.GaussianBlur(0.6))
    # fabric: a fine weave (2 px period) under a slow colour variation
    yy, xx = np.mgrid[0:size, 0:size]
    weave = ((xx // 2 + yy // 2) % 2).astype(np.float32) * 40 + np.sin(xx * 0.9) * 12 + np.sin(yy * 1.1) * 12
    shade = _fractal_noise((size, size), rng, 3) * 60
    a = (weave + shade + 90)[:, :, None] * np.array([0.7, 0.5, 1.0])
    return _rgb(a)


# -- the sample photos ----------------------------------------------------------------------


def _fit(image: Image.Image, side: int) -> Image.Image:
    """Resized (Lanczos) so that its long side is ``side``, as a user resizing to "1024 px" does."""
    w, h = image.size
    s = side / max(w, h)
    return image.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS)


# Shipped images that belong to a hard class rather than to the photos.
_SHIPPED_CLASS = {
    "horse": "silhouette",
    "text": "text",
    "page": "text",
    "logo": "logo",
    "logo2": "aspect-1:4",
    "Minduka_Present_Blue_Pack": "logo",
    "chessboard_RGB": "logo",
    "phantom": "silhouette",
    "color": "gradient",
    "hubble_deep_field": "night",
    "grass": "texture",
    "gravel": "texture",
    "brick": "texture",
}
_SHIPPED_SKIP = {"chessboard_GRAY", "motorcycle_right", "lbpcascade_frontalface_opencv"}


def shipped_images(side: int = SIDE) -> list[ContentImage]:
    """Every PNG/JPEG in scikit-image's data folder and matplotlib's sample data, resized so its
    long side is ``side``; classed as a photo unless listed as a hard class."""
    import matplotlib
    import skimage

    paths = sorted(
        p for p in (Path(skimage.__file__).parent / "data").iterdir() if p.suffix in (".png", ".jpg")
    )
    sample = Path(matplotlib.get_data_path()) / "sample_data"
    paths += [sample / n for n in ("grace_hopper.jpg", "logo2.png", "Minduka_Present_Blue_Pack.png")]
    out = []
    for p in paths:
        if p.stem in _SHIPPED_SKIP or not p.exists():
            continue
        with Image.open(p) as im:
            rgb = im.convert("RGB")
        fitted = _fit(rgb, side)
        if min(fitted.size) < side // 4:  # a banner: its short side at the small class's size
            fitted = _fit(rgb, round(max(rgb.size) * side / 4 / min(rgb.size)))
        out.append(ContentImage(_SHIPPED_CLASS.get(p.stem, "photo"), f"{p.stem} (sample)", fitted))
    return out


def drawn_images(side: int = SIDE) -> list[ContentImage]:
    """The classes drawn by this module."""
    small = side // 4  # 256 px at the default side
    items = [
        ContentImage("line-art", "strokes", line_art(1, side)),
        ContentImage("line-art", "fox drawing", fox_drawing(side)),
        ContentImage("text", "text on white", text_page(2, side)),
        ContentImage("text", "text on black", text_page(3, side, dark=True)),
        ContentImage("logo", "fox logo on white", fox_logo(side)),
        ContentImage("logo", "badge", badge_logo(4, side)),
        ContentImage("silhouette", "black on white", silhouette(5, side)),
        ContentImage("silhouette", "white on black", silhouette(6, side, inverted=True)),
        ContentImage("night", "city", night_city(7, side)),
        ContentImage("night", "dark photo", night_photo(side)),
        ContentImage("gradient", "hue sweep", saturated_gradient("hue", side)),
        ContentImage("gradient", "red-blue ramp", saturated_gradient("ramp", side)),
        ContentImage("texture", "grass", texture("grass", 8, side)),
        ContentImage("texture", "gravel", texture("gravel", 9, side)),
        ContentImage("texture", "fabric", texture("fabric", 10, side)),
        ContentImage("small", "fox logo 256", fox_logo(small)),
        ContentImage("small", "text 256", text_page(12, small)),
        ContentImage("small", "photo 256x384", _fit(Image.open(_skimage("astronaut.png")).convert("RGB"), small * 3 // 2).crop((0, 0, small, small * 3 // 2))),
        ContentImage("aspect-1:4", "panorama 1280x320", _fit(night_city(13, side), side).resize((side * 5 // 4, side * 5 // 16))),
        ContentImage("aspect-1:4", "banner text 320x1280", text_page(14, side).resize((side * 5 // 16, side * 5 // 4))),
        ContentImage("aspect-1:4", "photo strip 1024x256", _fit(Image.open(_skimage("rocket.jpg")).convert("RGB"), side).crop((0, 100, side, 100 + small))),
    ]  # fmt: skip
    return items


def _skimage(name: str) -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data" / name


def content_set(side: int = SIDE) -> list[ContentImage]:
    """The whole set, drawn images first, sorted by class in ``CLASSES`` order."""
    items = drawn_images(side) + shipped_images(side)
    return sorted(items, key=lambda c: CLASSES.index(c.cls))
