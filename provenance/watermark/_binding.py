"""Content binding: a compact fingerprint of a released image, and the test that a found image
is that picture, not another one carrying a copy of its watermark.

A watermark proves that a payload is present, not that the picture around it is the one it was
embedded in: the mark of any released image can be lifted blind (the image minus a blurred copy
of itself) and added to an unrelated photo.  So every release records a fingerprint of the
picture, and a found image earns a hallmark verdict only when its content matches it.

The fingerprint is the sign of the luminance step between neighbouring cells of a grid laid over
the picture (``CELLS`` cells along the shortest side), with a dead zone (``DEAD_ZONE`` levels)
where the step is too small to survive re-encoding: two bits per pair of cells, ~120 bytes, and
nothing a picture can be rebuilt from.  Cell means are low frequencies: what a blind transplant
adds (a high-pass residual) leaves them alone, while JPEG, rescaling, noise, blur and monotonic
tone changes do not flip a step of more than a few levels.

Crops, rescaling and small rotations are undone by the watermark's own registration: the chip
grid that ``hallmark.wm1`` finds (``MarkGrid``) maps the found image into the frame of the
released one, up to whole tiles of the mark, and every placement that overlaps the frame is
tried.  Marks without a grid are compared as the whole picture, rescaled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from ._types import MarkGrid, WatermarkReading

FINGERPRINT_ALG = "hallmark.cellsteps-v1"
CELLS = 16  # cells along the shortest side of the released picture
SAMPLES = 4  # samples along each side of a cell when it is read
DEAD_ZONE = 2.0  # luma levels (of 255): smaller steps between neighbouring cells are "flat"
# The fraction of compared cell pairs that may disagree for the picture to match (a pair whose
# step flipped counts 1, one that faded to flat or rose from flat counts 1/2).  Benign copies of
# the benchmark's attack suite stay under 0.10; unrelated photos and transplants lie above 0.30.
MATCH_DISTANCE = 0.2
MIN_PAIRS = 48  # informative pairs needed for either answer; fewer and the binding is not checked
MIN_OVERLAP = 0.9  # of the shorter extent along each axis, for a placement to be tried

_EIGHT_BIT = ("RGB", "RGBA", "L", "LA", "P", "PA")


@dataclass(frozen=True)
class ContentBinding:
    """Whether a found image is the picture a record's fingerprint was taken of.

    ``matched`` is True when a placement of the found image compares at least ``MIN_PAIRS``
    informative cell pairs within ``threshold``, False when every placement the mark allows is
    ruled out (over ``threshold`` with ``MIN_PAIRS`` pairs, or over twice it with a third as
    many), None when the binding could not be checked (``reason`` says why); ``distance`` and
    ``compared`` are the deciding placement's, ``placements`` how many alignments were tried."""

    matched: bool | None
    distance: float | None
    threshold: float
    compared: int
    placements: int
    reason: str
    alg: str = FINGERPRINT_ALG

    def to_dict(self) -> dict[str, Any]:
        return {
            "alg": self.alg,
            "matched": self.matched,
            "distance": None if self.distance is None else round(self.distance, 4),
            "threshold": self.threshold,
            "compared": self.compared,
            "placements": self.placements,
            "reason": self.reason,
        }


def content_fingerprint(image: Image.Image) -> dict[str, Any]:
    """The fingerprint of a released picture, JSON-ready: ``alg``, the picture's ``size``, the
    cell ``grid`` (columns, rows) and ``steps``, the hex of two bits per neighbouring pair of
    cells (rows of horizontal pairs, then rows of vertical ones): 0 flat, 1 darker, 2 lighter."""
    luma = _luma(image)
    h, w = luma.shape
    cols, rows, _ = _layout(w, h)
    means, _ = _cell_means(luma, (w, h), np.eye(2), np.zeros(2))
    return {
        "alg": FINGERPRINT_ALG,
        "size": [w, h],
        "grid": [cols, rows],
        "steps": _pack(_ternary(_steps(means))),
    }


def bind_content(
    image: Image.Image, fingerprint: Mapping[str, Any], *, reading: WatermarkReading | None = None
) -> ContentBinding:
    """Compare ``image`` with the ``fingerprint`` of the released picture.

    When the ``reading`` of the mark that led to the record registered the mark's chip grid,
    each placement of the image in the released frame that the mark allows is compared and the
    best one counts; otherwise the image is compared as the whole picture, rescaled.  Never
    raises for what it is given: a fingerprint it cannot read is reported as not checked."""
    grid = reading.grid if reading is not None else None
    chip_grid = _chip_grid(reading.scheme_id) if reading is not None else None
    try:
        w, h = (int(v) for v in fingerprint["size"])
        cols, rows = (int(v) for v in fingerprint["grid"])
        stored = _unpack(str(fingerprint["steps"]), _pair_count(cols, rows))
        if fingerprint.get("alg") != FINGERPRINT_ALG or (cols, rows) != _layout(w, h)[:2]:
            raise ValueError("alg")
    except (KeyError, TypeError, ValueError):
        alg = str(fingerprint.get("alg", "?")) if isinstance(fingerprint, Mapping) else "?"
        return ContentBinding(None, None, MATCH_DISTANCE, 0, 0, f"unknown fingerprint ({alg})")
    luma = _luma(image)
    matches: list[tuple[float, int]] = []
    ruled_out: list[tuple[float, int]] = []
    placements = undecided = compared_most = 0
    for a, b in _placements(luma.shape, (w, h), grid, chip_grid):
        placements += 1
        means, covered = _cell_means(luma, (w, h), a, b)
        distance, compared = _distance(stored, _steps(means), _steps(covered.astype(np.float32), both=True))
        compared_most = max(compared_most, compared)
        if compared >= MIN_PAIRS and distance <= MATCH_DISTANCE:
            matches.append((distance, compared))
        elif (compared >= MIN_PAIRS and distance > MATCH_DISTANCE) or (
            compared >= MIN_PAIRS // 3 and distance > 2 * MATCH_DISTANCE
        ):
            ruled_out.append((distance, compared))
        else:
            undecided += 1
    if matches:
        distance, compared = min(matches)
        return ContentBinding(
            True, distance, MATCH_DISTANCE, compared, placements, "matches the released picture"
        )
    # A mismatch only when every placement the mark allows is ruled out: the right one may be a
    # placement that shows too little of the picture to tell (a small crop of a plain picture).
    if ruled_out and not undecided:
        distance, compared = min(ruled_out)
        why = "does not match the released picture"
        return ContentBinding(False, distance, MATCH_DISTANCE, compared, placements, why)
    why = "no placement of the image overlaps the released picture"
    if placements:
        why = (
            f"too little of the released picture to compare ({compared_most} informative cell pairs at best)"
        )
    return ContentBinding(None, None, MATCH_DISTANCE, compared_most, placements, why)


# -- geometry ---------------------------------------------------------------------------------


def _chip_grid(scheme_id: str) -> Callable[[int, int], tuple[int, int]] | None:
    """The chips a registering scheme draws on a picture of a given size (its ``MarkGrid`` is in
    those chips); None for schemes that do not register their mark."""
    if scheme_id == "hallmark.wm1":
        from ._wm1 import chip_grid

        return chip_grid
    return None


def _layout(w: int, h: int) -> tuple[int, int, float]:
    """Columns, rows and the cell side (pixels) of the grid centred on a w x h picture."""
    cell = min(w, h) / CELLS
    return max(1, int(w / cell + 1e-9)), max(1, int(h / cell + 1e-9)), cell


def _placements(
    shape: tuple[int, ...],
    size: tuple[int, int],
    grid: MarkGrid | None,
    chip_grid: Callable[[int, int], tuple[int, int]] | None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Affine maps (A, b) from the released picture's pixels to the found image's, one per
    placement the mark allows: found = A @ released + b (continuous (x, y) coordinates)."""
    fh, fw = shape[:2]
    w, h = size
    if grid is None or chip_grid is None:
        yield np.diag([fw / w, fh / h]), np.zeros(2)
        return
    across, down = chip_grid(w, h)
    cw, ch = w / across, h / down
    sx, sy = np.asarray(grid.step_x, np.float64), np.asarray(grid.step_y, np.float64)
    a = np.stack([sx / cw, sy / ch], axis=1)
    if abs(np.linalg.det(a)) < 1e-9:
        return
    origin = np.asarray(grid.origin, np.float64)
    # The chip centre (0.5, 0.5) chips into the released picture is chip (0, 0) of the tile at
    # the grid's origin, or of one a whole number of tiles away: kx tiles along x, ky along y.
    b0 = origin - 0.5 * sx - 0.5 * sy
    inverse = np.linalg.inv(a)
    corners = np.array([[0, 0], [fw, 0], [0, fh], [fw, fh]], np.float64)
    seen = (inverse @ (corners - b0).T).T  # the found image in released pixels, for k = l = 0
    lo, hi = seen.min(axis=0), seen.max(axis=0)
    tile_w, tile_h = grid.tile * cw, grid.tile * ch
    # Along each axis, the overlap must cover most of the shorter of the two extents: a crop lies
    # inside the frame, a padded or tiled copy around it.
    need_x = MIN_OVERLAP * min(hi[0] - lo[0], w)
    need_y = MIN_OVERLAP * min(hi[1] - lo[1], h)
    for kx in range(math.floor(-hi[0] / tile_w), math.ceil((w - lo[0]) / tile_w) + 1):
        for ky in range(math.floor(-hi[1] / tile_h), math.ceil((h - lo[1]) / tile_h) + 1):
            x0, x1 = max(lo[0] + kx * tile_w, 0.0), min(hi[0] + kx * tile_w, float(w))
            y0, y1 = max(lo[1] + ky * tile_h, 0.0), min(hi[1] + ky * tile_h, float(h))
            if x1 - x0 < need_x or y1 - y0 < need_y:
                continue
            yield a, b0 - kx * grid.tile * sx - ky * grid.tile * sy


# -- cells ------------------------------------------------------------------------------------


def _luma(image: Image.Image) -> np.ndarray:
    """Rec. 601 luma as float32 on a 0..255 scale (PIL's "L" conversion for 8-bit images)."""
    if image.mode in _EIGHT_BIT:
        return np.asarray(image.convert("L") if image.mode != "L" else image, np.float32)
    from ._image import open_canvas

    return np.asarray(open_canvas(image, scheme_id="fingerprint", min_size=1).luminance(), np.float32)


def _cell_means(
    luma: np.ndarray, size: tuple[int, int], a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean luma of each cell of the released picture's grid, read from ``luma`` through the
    map found = a @ released + b, and which cells lie wholly inside it (rows x columns each)."""
    import cv2

    w, h = size
    cols, rows, cell = _layout(w, h)
    x0, y0 = (w - cols * cell) / 2, (h - rows * cell) / 2
    spacing = cell / SAMPLES
    # Sample positions (centres of a SAMPLES x SAMPLES raster per cell), in released pixels.
    xs = x0 + (np.arange(cols * SAMPLES) + 0.5) * spacing
    ys = y0 + (np.arange(rows * SAMPLES) + 0.5) * spacing
    # Prefilter: shrink the found image so one of its pixels is about one sample apart.
    step = spacing * math.sqrt(abs(float(np.linalg.det(a))))
    shrink = max(1.0, step)
    fh, fw = luma.shape
    if shrink > 1.0:
        size_small = (max(1, round(fw / shrink)), max(1, round(fh / shrink)))
        small = cv2.resize(luma, size_small, interpolation=cv2.INTER_AREA)
        fx, fy = size_small[0] / fw, size_small[1] / fh
    else:
        small, fx, fy = luma, 1.0, 1.0
    # Output pixel (i, j) reads the small image at index ((a @ (xs[j], ys[i]) + b) * f - 0.5).
    scale = np.diag([fx, fy])
    m = scale @ a
    matrix = np.array(
        [
            [m[0, 0] * spacing, m[0, 1] * spacing, 0.0],
            [m[1, 0] * spacing, m[1, 1] * spacing, 0.0],
        ]
    )
    start = scale @ (a @ np.array([xs[0], ys[0]]) + b) - 0.5
    matrix[:, 2] = start
    samples = cv2.warpAffine(
        np.ascontiguousarray(small, np.float32),
        matrix,
        (cols * SAMPLES, rows * SAMPLES),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
    )
    means = samples.reshape(rows, SAMPLES, cols, SAMPLES).mean(axis=(1, 3))
    # A cell counts when each of its corner samples falls inside the found image.
    gx, gy = np.meshgrid(xs, ys)
    fx_, fy_ = (a[0, 0] * gx + a[0, 1] * gy + b[0]), (a[1, 0] * gx + a[1, 1] * gy + b[1])
    inside = (fx_ >= 0) & (fx_ <= fw) & (fy_ >= 0) & (fy_ <= fh)
    covered = inside.reshape(rows, SAMPLES, cols, SAMPLES).all(axis=(1, 3))
    return means, covered


def _steps(means: np.ndarray, *, both: bool = False) -> np.ndarray:
    """Differences between neighbouring cells: each row's horizontal steps, then each column's
    vertical ones, flattened.  With ``both`` (for a 0/1 coverage map) whether both cells count."""
    if both:
        horizontal = means[:, 1:] * means[:, :-1]
        vertical = means[1:, :] * means[:-1, :]
    else:
        horizontal = means[:, 1:] - means[:, :-1]
        vertical = means[1:, :] - means[:-1, :]
    return np.concatenate([horizontal.ravel(), vertical.ravel()])


def _pair_count(cols: int, rows: int) -> int:
    return rows * (cols - 1) + (rows - 1) * cols


def _ternary(steps: np.ndarray) -> np.ndarray:
    return np.where(steps >= DEAD_ZONE, 2, np.where(steps <= -DEAD_ZONE, 1, 0)).astype(np.uint8)


def _pack(values: np.ndarray) -> str:
    bits = np.stack([values >> 1, values & 1], axis=1).ravel().astype(np.uint8)
    return np.packbits(bits).tobytes().hex()


def _unpack(text: str, count: int) -> np.ndarray:
    raw = np.unpackbits(np.frombuffer(bytes.fromhex(text), np.uint8))
    if raw.size < 2 * count or raw.size >= 2 * count + 8:
        raise ValueError("length")
    pairs = raw[: 2 * count].reshape(count, 2)
    values = (pairs[:, 0] << 1) | pairs[:, 1]
    if (values > 2).any():
        raise ValueError("value")
    return values


def _distance(stored: np.ndarray, found: np.ndarray, covered: np.ndarray) -> tuple[float, int]:
    """The disagreement between the stored steps (0 flat, 1 darker, 2 lighter) and the found
    image's step values over the covered pairs, and how many pairs were informative.

    A stored step must reappear with its sign (a flip counts 1, a step faded under half the dead
    zone 1/2); a stored flat pair counts only where the found image has a step of twice the dead
    zone (1/2), since small steps come and go with re-encoding."""
    sign = np.where(stored == 2, 1.0, np.where(stored == 1, -1.0, 0.0))
    along = found * sign
    cover = covered > 0
    stepped = cover & (sign != 0)
    appeared = cover & (sign == 0) & (np.abs(found) >= 2 * DEAD_ZONE)
    penalty = np.where(along <= -DEAD_ZONE / 2, 1.0, np.where(along < DEAD_ZONE / 2, 0.5, 0.0))
    total = float(penalty[stepped].sum()) + 0.5 * int(appeared.sum())
    compared = int(stepped.sum() + appeared.sum())
    return (total / compared if compared else 1.0), compared
