"""wm1's geometric registration: finding the tile lattice of a mark in a residual and sampling
the residual on it.

A tiled pattern correlates with itself at every point of its lattice, so the spectrally
whitened autocorrelation of the residual peaks there; candidate lattices are scored by the sum
over their points and refined by a least-squares fit of the sub-pixel peaks.  The residual is
then sampled on the lattice found, by OpenCV's affine warp.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# OpenCV stand-ins for scipy.ndimage's filters: importing scipy.ndimage costs ~0.4 s, a third of
# a whole `hallmark verify` process, and OpenCV is loaded anyway (the third-party watermark
# readers use it).  Its filters are also ~8x faster than summed-area numpy, and release the GIL.


def _uniform(a: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.uniform_filter(a, size)`` (mode "reflect", odd ``size``)."""
    import cv2

    return cv2.blur(np.ascontiguousarray(a), (size, size), borderType=cv2.BORDER_REFLECT)


def _maximum3(a: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.maximum_filter(a, 3)`` (mode "reflect")."""
    import cv2

    return cv2.dilate(np.ascontiguousarray(a), _SQUARE3, borderType=cv2.BORDER_REFLECT)


def _minimum3(a: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.minimum_filter(a, 3)`` (mode "reflect")."""
    import cv2

    return cv2.erode(np.ascontiguousarray(a), _SQUARE3, borderType=cv2.BORDER_REFLECT)


_SQUARE3 = np.ones((3, 3), np.uint8)


def _grid_samples(
    plane: np.ndarray,
    shape: tuple[int, int],
    origin: tuple[float, float],
    row_step: tuple[float, float],
    col_step: tuple[float, float],
    *,
    bilinear: bool,
) -> np.ndarray:
    """Samples of the float32 ``plane`` on the affine grid ``origin + i*row_step + j*col_step``
    (points as (y, x) in pixel-centre coordinates), ``shape`` = (rows, columns): nearest or
    bilinear, 0 outside the image.

    This is ``scipy.ndimage.map_coordinates(order=0|1, mode="constant")`` on a regular grid,
    done by OpenCV's affine warp (SIMD, and it releases the GIL): it agrees with scipy to ~1e-4
    of the plane's scale, except within a pixel of the border."""
    import cv2

    (y0, x0), (ry, rx), (cy, cx) = origin, row_step, col_step
    # Output pixel (column j, row i) reads the input at x = x0 + j*cx + i*rx, y = y0 + j*cy + i*ry.
    matrix = np.array([[cx, rx, x0], [cy, ry, y0]], np.float64)
    flags = (cv2.INTER_LINEAR if bilinear else cv2.INTER_NEAREST) | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(plane, matrix, (shape[1], shape[0]), flags=flags, borderMode=cv2.BORDER_CONSTANT)


def _whitened_autocorrelation(r: np.ndarray) -> np.ndarray:
    """``irfft2(P / (uniform_filter(P, 5) + 1e-9))`` for the power spectrum P = |rfft2(r)|²,
    by OpenCV's DFT: faster than numpy's, and it releases the GIL for a batch's other worker.

    The half-plane spectrum is whitened exactly as numpy's would be; it is then extended to the
    full plane the way an inverse real transform reads it (Hermitian symmetry, the imaginary
    parts of the zero and Nyquist columns dropped), so the two agree to float rounding."""
    import cv2

    h, w = r.shape
    n2 = w // 2 + 1
    spec = cv2.dft(np.ascontiguousarray(r, np.float32), flags=cv2.DFT_COMPLEX_OUTPUT)[:, :n2]
    power = spec[..., 0] ** 2 + spec[..., 1] ** 2
    white = power / (_uniform(power, 5) + np.float32(1e-9))
    mirrored = np.roll(white[::-1], 1, axis=0)  # row k holds row -k
    full = np.empty((h, w), np.float32)
    full[:, :n2] = white
    full[:, n2:] = mirrored[:, w - n2 : 0 : -1]  # column k holds column w - k of row -k
    for column in (0, w // 2) if w % 2 == 0 else (0,):
        full[:, column] = 0.5 * (white[:, column] + mirrored[:, column])
    # The spectrum is real and even, so its forward transform is its inverse times h*w.
    return cv2.dft(full, flags=cv2.DFT_COMPLEX_OUTPUT | cv2.DFT_SCALE)[..., 0]


# Lattice points used to refine the vectors, in growing rings: far points pin the period down
# most precisely, once the near ones have brought the guess within reach of them.
_RINGS = [
    np.array([(a, b) for a in range(0, n + 1) for b in range(-n, n + 1) if (a, b) > (0, 0)])
    for n in (1, 2, 3, 4)
]


def _peaks(ac: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sub-pixel positions and heights of the autocorrelation peaks nearest each (y, x): the
    highest pixel of the 3×3 window around the rounded point, then a parabola through it and its
    neighbours along each axis.  Points too near the border get height -inf."""
    h, w = ac.shape
    iy, ix = np.rint(ys).astype(np.int64), np.rint(xs).astype(np.int64)
    inside = (iy >= 2) & (iy < h - 2) & (ix >= 2) & (ix < w - 2)
    iy, ix = np.where(inside, iy, 2), np.where(inside, ix, 2)
    # First maximum in row-major order, as np.argmax over the window would pick it.
    k = np.argmax(ac[iy[:, None] + _DY3, ix[:, None] + _DX3], axis=1)
    iy, ix = iy + k // 3 - 1, ix + k % 3 - 1
    c0 = ac[iy, ix]

    def sub(a_m: np.ndarray, a_p: np.ndarray) -> np.ndarray:
        d = a_m - 2 * c0 + a_p
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d < 0, np.clip(0.5 * (a_m - a_p) / d, -0.5, 0.5), 0.0)

    py = iy + sub(ac[iy - 1, ix], ac[iy + 1, ix])
    px = ix + sub(ac[iy, ix - 1], ac[iy, ix + 1])
    return py, px, np.where(inside, c0, -np.inf)


_DY3, _DX3 = (g.ravel() for g in np.mgrid[-1:2, -1:2])


def _refine_lattice(
    ac: np.ndarray, centre: tuple[int, int], v1: np.ndarray, v2: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares lattice vectors from the sub-pixel peaks near the lattice ``points`` (a, b)."""
    a, b = points[:, 0], points[:, 1]
    py, px, height = _peaks(ac, centre[0] + a * v1[0] + b * v2[0], centre[1] + a * v1[1] + b * v2[1])
    keep = height > 1.0
    if np.count_nonzero(keep) < 3:
        return v1, v2
    root = np.sqrt(height[keep])
    m = points[keep].astype(np.float64) * root[:, None]
    found = np.stack([py[keep] - centre[0], px[keep] - centre[1]], axis=1)
    r1, r2 = np.linalg.lstsq(m, found * root[:, None], rcond=None)[0]
    if np.hypot(*(r1 - v1)) > 2.0 or np.hypot(*(r2 - v2)) > 2.0:
        return v1, v2
    return r1, r2


def _candidate_lattices(
    r: np.ndarray, *, tile: int, candidates: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Up to ``candidates`` lattices ``(v1, v2)`` of a pattern tiled every ``tile`` chips (v1 ~
    along x, v2 ~ along y), best first; each is refined only when asked for, since the first one
    usually decodes.

    A tiled pattern correlates with itself at every point of its lattice. The spectrally
    whitened autocorrelation is scored for every candidate (v1, v2 = v1 turned 90°) by the sum
    over its lattice points, so the mark's lattice wins over single peaks of image content
    (textures, JPEG block grids); each winner is then refined by a least-squares fit of the
    sub-pixel peak positions, which also absorbs mild shear or aspect change.
    """
    h, w = r.shape
    ac = np.fft.fftshift(_whitened_autocorrelation(r))
    ac -= _uniform(ac, 7)
    ac /= float(np.std(ac)) + 1e-12
    cy, cx = h // 2, w // 2  # zero lag after fftshift
    # A chip covers at least one analysis pixel, so the period is at least ~tile pixels.
    pmin, pmax = tile - 4, min(4 * tile - 16, (min(h, w) - 4) // 2)
    if pmax < pmin:
        return
    lag = np.arange(pmin, pmax + 1)
    off = np.arange(-int(pmax * 0.18), int(pmax * 0.18) + 1)
    vx, vy = np.meshgrid(lag, off)  # v1 = (vy, vx)
    keep = np.abs(vy) <= vx * 0.18
    vx, vy = vx[keep].astype(np.float64), vy[keep].astype(np.float64)
    points = np.array([(1, 0), (0, 1), (1, 1), (1, -1), (2, 0), (0, 2), (2, 1), (1, 2), (2, -1), (1, -2)])

    # Peaks fall between pixels: score a point by the best value in its 3×3 neighbourhood.
    acd = _maximum3(ac)

    def lattice_score(vy: np.ndarray, vx: np.ndarray, pts: np.ndarray = points) -> np.ndarray:
        a, b = pts[:, :1], pts[:, 1:]  # a*v1 + b*v2, with v2 = v1 turned 90 degrees = (vx, -vy)
        iy = np.rint(cy + a * vy + b * vx).astype(np.int64)
        ix = np.rint(cx + a * vx - b * vy).astype(np.int64)
        inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
        return np.where(inside, acd[np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)], 0.0).sum(axis=0)

    basic = points[:4]  # none of these is a point of the lattice k times coarser
    score = lattice_score(vy, vx)
    top = np.argsort(score)[::-1][:48]
    ty, tx = vy[top], vx[top]
    own = lattice_score(ty, tx, basic)
    # Every multiple of the tile lattice is a lattice too: prefer the fundamental when the
    # finer lattice's own points hold peaks of comparable height.
    finer = {k: lattice_score(ty / k, tx / k, basic) for k in (3, 2)}
    given: list[np.ndarray] = []
    for i in range(top.size):
        v1 = np.array([ty[i], tx[i]])
        for k in (3, 2):
            if np.hypot(*(v1 / k)) >= pmin - 1 and finer[k][i] >= 0.5 * own[i]:
                v1 = v1 / k
                break
        if any(np.hypot(*(v1 - g)) < 3.0 for g in given):
            continue
        # Near lattice points first: a period off by half a pixel puts the far peaks outside the
        # window where they are looked for, so each ring refines the guess the next one starts from.
        candidate = (v1, np.array([v1[1], -v1[0]]))
        for ring in _RINGS:
            candidate = _refine_lattice(ac, (cy, cx), candidate[0], candidate[1], ring)
        given.append(candidate[0])
        yield candidate
        if len(given) >= candidates:
            return
