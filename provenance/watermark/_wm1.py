"""``hallmark.wm1``: a keyed, tiled spread-spectrum watermark in luminance (numpy and OpenCV).

How it survives what happens to shared images:

- **Resizing**: the mark is drawn on a grid of chips tied to the picture (up to 256 chips along
  the shortest side, chips of at least 3 px), so rescaling the image rescales the mark with it.
- **Cropping, rotation, aspect changes**: the chip grid is tiled with a 32×32 key pattern. The
  tiling makes the whitened autocorrelation of the image peak on the tile's lattice; scoring
  every candidate lattice by the sum over its points (and preferring the fundamental over its
  multiples) gives scale and rotation, a least-squares fit of the peaks refines it. The residual
  is then sampled on that lattice and folded into one tile, and an FFT correlation with the
  keyed sync chips finds the crop offset as a cyclic shift.
- **JPEG, noise, blur**: chips are 3-4 px at 512-1024 px (mid frequencies), every codeword bit
  is spread over ~6 chips in every tile, and BCH plus Chase decoding corrects what is left.
  When sync is clear but decoding fails, a pattern search on the lattice (fractions of a pixel)
  recovers the bits that a slightly wrong period smears across the image.
- **Brightness, contrast, gamma**: detection reads signs of a locally normalised high-pass
  residual, which monotonic tone changes leave alone; DC is never used.
- **Quality**: the chip amplitude follows local texture (at most ``MAX_AMP`` levels), within
  the PSNR ≈ 38.9 dB budget on photos.
- **Hard content** (logos and text on white, line art, silhouettes, night scenes, saturated
  colour): flat areas carry at least ``FLAT_AMP`` levels, the cleanest signal the detector gets;
  where the mark does not fit between a pixel and 0 or 255 it is shifted into the room there is
  (its pattern kept, its mean moved) and a clipped colour channel's share goes to the others, so
  nothing is cut off in white, black or saturated areas.  Detection clips the residual before
  normalising it, so strokes and edges (and the rhythm of lines of text) do not drown the mark.

The codeword is 48 payload bits + a 24-bit keyed check (HMAC), BCH(t=7) over GF(2^7): 121 bits,
masked with a keyed mask. A decision is "found" only when BCH corrects the word and the check
holds, so the false-positive probability is computable (see ``PayloadCode``): at most
``MAX_TRIALS`` decodings per image, each passing with probability V(121, 7) * 2^-73 (measured,
not only assumed: ``DECODER_CALIBRATION``), about 5e-8 per image.

Finding the lattice and sampling the residual on it live in ``_wm1_lattice``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from hallmark.errors import WatermarkCapacityError, WatermarkError

from ._codec import PayloadCode, check_key, derive
from ._image import open_canvas
from ._types import MarkGrid, WatermarkReading
from ._wm1_lattice import _candidate_lattices, _grid_samples, _maximum3, _minimum3, _uniform

_T = TypeVar("_T")

WORK = 256  # chips along the shortest side, at most
MIN_CHIP = 3.0  # pixels per chip, at least: smaller chips do not survive downscaling + JPEG
MIN_TILES = 5.3  # tiles along the shortest side, at least: the lattice needs repetitions
TILE = 32  # chips per tile side
ANALYSIS = 256  # detection works on the image scaled to at most this shortest side
TARGET_RMS = 2.9  # luminance change, 8-bit levels (PSNR ≈ 38.9 dB before clipping)
FLAT_AMP = 1.5  # chip amplitude in flat areas, at least: ~1.2 levels rms, it survives JPEG 50
MAX_AMP = 5.0  # chip amplitude, at most (both scale with the strength)
CHASE_BITS = 10  # least reliable bits tried flipped when BCH alone fails
CANDIDATES = 3  # lattice candidates tried, best lattice score first
REFINE_Z = 4.0  # sync z-score above which a failed decode is retried on a refined lattice
CLIP = 6.0  # residual levels: edges and strokes beyond this say nothing more about the mark
# Codeword decodings one detection may try: per candidate, Chase patterns before and after refining.
MAX_TRIALS = CANDIDATES * 2 * (1 << CHASE_BITS)
_CODEWORD_BITS = 121  # 48 data + 24 check + 49 BCH parity
# A ±1 chip pattern scaled up bicubically has about this rms: the amplitude of an unmasked mark.
_PATTERN_RMS = 0.8


@functools.cache
def _layout(key: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per key: the ±1 carrier of the tile, the sync-chip mask and the bit index of each chip
    (-1 for sync chips)."""
    seed = int.from_bytes(derive(key, "hallmark.wm1/tile", 16), "big")
    rng = np.random.default_rng(seed)
    carrier = rng.choice(np.array([-1.0, 1.0], np.float32), size=(TILE, TILE))
    order = rng.permutation(TILE * TILE)
    flat = np.full(TILE * TILE, -1, np.int64)
    # Three quarters of the chips carry data (6 per codeword bit), the rest are sync chips.
    per_bit = (TILE * TILE * 3 // 4) // _CODEWORD_BITS
    flat[order[: per_bit * _CODEWORD_BITS]] = np.arange(per_bit * _CODEWORD_BITS) % _CODEWORD_BITS
    bit_of = flat.reshape(TILE, TILE)
    return carrier, bit_of < 0, bit_of


def _box_resize(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average resize of a float plane (``size`` = width, height)."""
    return np.asarray(Image.fromarray(plane.astype(np.float32), "F").resize(size, Image.Resampling.BOX))


@functools.lru_cache(maxsize=16)
def _bicubic_matrix(n_in: int, n_out: int) -> Any:
    """The (n_out, n_in) sparse matrix of PIL's BICUBIC resampling along one axis: its kernel
    (a = -0.5), its support, and its weights renormalised where the kernel leaves the image."""
    from scipy import sparse

    scale = n_in / n_out
    filterscale = max(scale, 1.0)
    support = 2.0 * filterscale
    taps = np.arange(int(np.ceil(support)) * 2 + 1)
    centre = (np.arange(n_out) + 0.5) * scale
    first = np.maximum((centre - support + 0.5).astype(np.int64), 0)
    count = np.minimum((centre + support + 0.5).astype(np.int64), n_in) - first
    x = np.abs((taps[None, :] + first[:, None] - centre[:, None] + 0.5) / filterscale)
    a = -0.5
    weights = np.where(x < 1.0, ((a + 2.0) * x - (a + 3.0)) * x * x + 1, (((x - 5) * x + 8) * x - 4) * a)
    weights = np.where((x < 2.0) & (taps[None, :] < count[:, None]), weights, 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    rows = np.repeat(np.arange(n_out), taps.size)
    cols = np.minimum(first[:, None] + taps[None, :], n_in - 1).ravel()
    return sparse.csr_matrix((weights.ravel(), (rows, cols)), shape=(n_out, n_in), dtype=np.float32)


def _bicubic_upscale(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``Image.fromarray(plane, "F").resize(size, BICUBIC)`` (``size`` = width, height) as two
    sparse products: ~3 ms for 256 -> 1024 px where PIL's float resize takes ~12 ms, a third of
    the whole embedding. Agrees with PIL to float32 rounding (tested)."""
    w, h = size
    rows = _bicubic_matrix(plane.shape[0], h)
    cols = _bicubic_matrix(plane.shape[1], w)
    return np.asarray(rows @ (cols @ plane.T).T, np.float32)


def _upscale_linear(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a float32 plane (``size`` = width, height)."""
    import cv2

    return np.asarray(
        cv2.resize(np.ascontiguousarray(plane, np.float32), size, interpolation=cv2.INTER_LINEAR)
    )


def _working_size(w: int, h: int) -> tuple[int, int]:
    """Chips across and down: up to WORK along the shortest side, chips of MIN_CHIP pixels or
    more, but never fewer than MIN_TILES tiles (small images trade chip size for tiles)."""
    chip = min(max(min(w, h) / WORK, MIN_CHIP), min(w, h) / (MIN_TILES * TILE))
    s = 1.0 / chip
    return max(1, round(w * s)), max(1, round(h * s))


def chip_grid(width: int, height: int) -> tuple[int, int]:
    """The chips across and down that ``Wm1.embed`` draws on a ``width`` x ``height`` image: chip
    (i, j) covers pixels [i, i + 1) * width / across, [j, j + 1) * height / down."""
    return _working_size(width, height)


def _analysis_size(w: int, h: int) -> tuple[int, int]:
    """The size detection reads an image at: its shortest side scaled to at most ANALYSIS."""
    s = min(1.0, ANALYSIS / min(w, h))
    return max(1, round(w * s)), max(1, round(h * s))


def _mark_grid(size: tuple[int, int], v1: np.ndarray, v2: np.ndarray, offset: np.ndarray) -> MarkGrid:
    """The lattice found at the analysis resolution, in the pixels of the image read.

    Chip (0, 0) of a tile sits at offset[0] * v2 + offset[1] * v1 (analysis pixel indices, (y, x));
    index i is the centre of a pixel covering [i, i + 1) in continuous coordinates."""
    aw, ah = _analysis_size(*size)
    sx, sy = size[0] / aw, size[1] / ah
    oy = offset[0] * v2[0] + offset[1] * v1[0]
    ox = offset[0] * v2[1] + offset[1] * v1[1]
    return MarkGrid(
        origin=(float((ox + 0.5) * sx), float((oy + 0.5) * sy)),
        step_x=(float(v1[1] / TILE * sx), float(v1[0] / TILE * sy)),
        step_y=(float(v2[1] / TILE * sx), float(v2[0] / TILE * sy)),
        tile=TILE,
    )


class Wm1:
    """Tiled spread-spectrum luminance watermark with lattice synchronisation (see module doc)."""

    scheme_id = "hallmark.wm1"
    payload_bits = 48
    min_size = 256
    luma_only = True  # detection reads an 8-bit image's convert("L") and nothing else

    def __init__(self, *, key: bytes) -> None:
        self._key = check_key(key, self.scheme_id)
        self._code = PayloadCode(key=self._key, label=self.scheme_id, data_bits=48, tag_bits=24, t=7, m=7)
        assert self._code.codeword_bits == _CODEWORD_BITS
        self._carrier, self._sync, self._bit_of = _layout(self._key)
        self._sync_spectrum = np.conj(np.fft.fft2(np.where(self._sync, self._carrier, 0.0)))

    # -- embedding -------------------------------------------------------------------------

    def _tile(self, payload: bytes) -> np.ndarray:
        bits = self._code.encode(payload).astype(np.float32) * 2 - 1
        signs = np.where(self._sync, 1.0, bits[np.maximum(self._bit_of, 0)])
        return (self._carrier * signs).astype(np.float32)

    # Strengths the pipeline may retry at when a mark does not read back (informed embedding):
    # heavily textured or noisy images mask the pattern and get a stronger one.
    strengths = (1.0, 1.6, 2.5)

    def embed(self, image: Image.Image, payload: bytes, *, strength: float = 1.0) -> Image.Image:
        """The image with ``payload`` (6 bytes) in its luminance; mode and size are kept.

        ``strength`` scales the mark's amplitude (1.0 spends the PSNR ≈ 38.9 dB budget)."""
        if not 0.0 < strength <= max(self.strengths):
            raise WatermarkError(f"strength must be in (0, {max(self.strengths)}], got {strength}")
        canvas = open_canvas(image, scheme_id=self.scheme_id, min_size=self.min_size)
        tile = self._tile(payload)
        h, w = canvas.raw.shape[:2]
        ww, wh = _working_size(w, h)
        small = np.asarray(canvas.luma_image().resize((ww, wh), Image.Resampling.BOX), np.float32)
        if float(small.max()) - float(small.min()) < 0.5 and not 1.0 <= float(small.mean()) <= 254.0:
            # On a blank canvas the mark would be the only thing in the picture.
            raise WatermarkCapacityError(
                "image is uniformly black or white: hallmark.wm1 has nowhere to put its mark",
                hint="Release it with the C2PA manifest only if the policy allows, or refuse it.",
            )
        # Texture masking: chip amplitude follows the local contrast at chip scale ...
        mean = _uniform(small, 3)
        act = np.sqrt(np.maximum(_uniform(small * small, 3) - mean * mean, 0.0))
        mask = np.clip(act / (float(np.median(act)) + 1.0), 0.15, 2.5)
        # ... spending the quality budget, but never more than twice the unmasked amplitude in one
        # place (the rms of the upscaled pattern is _PATTERN_RMS times the rms of its chips).
        rms = _PATTERN_RMS * float(np.sqrt(np.mean(mask * mask)))
        gain = min(TARGET_RMS / rms, 2.0 * TARGET_RMS / _PATTERN_RMS) * strength
        # Flat areas carry at least FLAT_AMP (the detector reads them cleanly, and JPEG keeps it);
        # busy ones at most MAX_AMP (edges hide more, but the detector gets little more from them).
        amp = np.clip(mask * np.float32(gain), FLAT_AMP * strength, MAX_AMP * strength)
        # Next to white, black or strokes of either, the room the range leaves is all there is.
        room = np.minimum(_minimum3(small), 255.0 - _maximum3(small))
        amp = np.minimum(amp, np.maximum(room, np.float32(FLAT_AMP * strength)))
        reps = (-(-wh // TILE), -(-ww // TILE))
        delta = _bicubic_upscale((np.tile(tile, reps)[:wh, :ww] * amp).astype(np.float32), (w, h))
        # Where the mark still does not fit in 0..255 (white, black, saturated colour), it is moved
        # into the room there is rather than cut off: its local peak amplitude, with a margin for
        # the bicubic overshoot, is what has to fit.
        envelope = _upscale_linear(_maximum3(amp) * np.float32(1.1), (w, h))
        return canvas.add_luminance_in_range(delta, envelope)

    # -- detection -------------------------------------------------------------------------

    def _analysis(self, image: Image.Image) -> np.ndarray:
        """Whitened, locally normalised luminance residual at the analysis resolution."""
        w, h = image.size
        s = min(1.0, ANALYSIS / min(w, h))
        size = _analysis_size(w, h)
        if image.mode in ("RGB", "RGBA", "L", "LA", "P", "PA"):
            lum_img = image.convert("L") if image.mode != "L" else image
            factor = w // size[0]
            a: np.ndarray
            if s >= 1.0:
                a = np.asarray(lum_img, np.float32)
            elif (w, h) == (size[0] * factor, size[1] * factor):
                import cv2

                # An integer factor: OpenCV's area average is PIL's box filter, twice as fast.
                a = cv2.resize(np.asarray(lum_img, np.float32), size, interpolation=cv2.INTER_AREA)
            else:
                a = np.asarray(lum_img.convert("F").resize(size, Image.Resampling.BOX))
        else:
            lum = open_canvas(image, scheme_id=self.scheme_id, min_size=1).luminance()
            a = _box_resize(lum, size) if s < 1.0 else lum
        r = a - _uniform(a, 3)
        # Clipped before normalising: the edges of text, line art and hard shapes would otherwise
        # drown the mark in every window that holds one, and their rhythm (lines of text) would
        # outscore the mark's lattice.
        np.clip(r, -CLIP, CLIP, out=r)
        r /= np.sqrt(np.maximum(_uniform(r * r, 9), 0.0)) + 2.0
        return r - r.mean()

    def _fold(self, r: np.ndarray, v1: np.ndarray, v2: np.ndarray) -> np.ndarray:
        """Sample the residual on the lattice at half-chip steps and fold it into a 2T×2T tile."""
        h, w = r.shape
        q = 2 * TILE
        # Number of half-chips along each lattice direction that cover the image.
        n_u = int(np.ceil(h / np.linalg.norm(v2) * q)) + 2
        n_v = int(np.ceil(w / np.linalg.norm(v1) * q)) + 2
        n_u -= n_u % q
        n_v -= n_v % q
        n_u += q
        n_v += q
        # Nearest-neighbour is enough at half-chip steps and twice as fast as bilinear.
        samples = _grid_samples(r, (n_u, n_v), (0.0, 0.0), tuple(v2 / q), tuple(v1 / q), bilinear=False)
        return samples.reshape(n_u // q, q, n_v // q, q).sum(axis=(0, 2))

    def _synchronise(self, fold2: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Find the crop offset from the best of the four half-chip phases of the folded tile:
        the sync z-score, the offset of chip (0, 0) in tile units and the aligned T×T chips."""
        # The four phases in one batch of FFTs: each is circularly correlated with the sync chips.
        phases = fold2.reshape(TILE, 2, TILE, 2).transpose(1, 3, 0, 2).reshape(4, TILE, TILE)
        c = np.real(np.fft.ifft2(np.fft.fft2(phases) * self._sync_spectrum))
        flat = c.reshape(4, -1)
        peak = flat.argmax(axis=1)
        z = (flat[np.arange(4), peak] - flat.mean(axis=1)) / (flat.std(axis=1) + 1e-12)
        best = int(np.argmax(z))  # the first of equal scores, as before
        a, b = divmod(best, 2)
        dy, dx = divmod(int(peak[best]), TILE)
        offset = np.array([(dy + a / 2) / TILE, (dx + b / 2) / TILE])
        return float(z[best]), offset, np.roll(phases[best], (-dy, -dx), axis=(0, 1))

    def _chips(self, r: np.ndarray, v1: np.ndarray, v2: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """The residual summed over all tiles at each chip centre of the pattern (T×T)."""
        h, w = r.shape
        n_u = int(np.ceil(h / max(np.hypot(*v2), 1.0))) + 2
        n_v = int(np.ceil(w / max(np.hypot(*v1), 1.0))) + 2
        # Chip (t, s) of tile (k, l) sits at (k - 1 + t/T + offset) v2 + (l - 1 + s/T + offset) v1.
        u0, v0 = offset[0] - 1.0, offset[1] - 1.0
        origin = (u0 * v2[0] + v0 * v1[0], u0 * v2[1] + v0 * v1[1])
        samples = _grid_samples(
            r, (n_u * TILE, n_v * TILE), origin, tuple(v2 / TILE), tuple(v1 / TILE), bilinear=True
        )
        # Sum the tile rows first (contiguous blocks), then the tiles along each row: 2.5x faster
        # than one reduction over both axes, and this runs for every step of the refine search.
        return samples.reshape(n_u, -1).sum(axis=0).reshape(TILE, n_v, TILE).sum(axis=1)

    def _soft_bits(self, chips: np.ndarray) -> tuple[np.ndarray, float]:
        """Soft codeword bits and an alignment score (sync correlation + total soft magnitude)."""
        contrib = (chips * self._carrier).ravel()
        bit_of = self._bit_of.ravel()
        sel = bit_of >= 0
        soft = np.bincount(bit_of[sel], weights=contrib[sel], minlength=_CODEWORD_BITS)
        return soft, float(contrib[~sel].sum() + np.abs(soft).sum())

    def _refine(
        self, r: np.ndarray, v1: np.ndarray, v2: np.ndarray, offset: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pattern search on the lattice vectors and offset: a period error of a fraction of a
        pixel drifts by whole chips across the image, so a small correction recovers many bits."""
        params = np.concatenate([v1, v2, offset * 0])
        base_offset = offset

        def score(p: np.ndarray) -> float:
            return self._soft_bits(self._chips(r, p[0:2], p[2:4], base_offset + p[4:6]))[1]

        best = score(params)
        for step in (0.12, 0.05):
            improved = True
            while improved:
                improved = False
                for i in range(6):
                    for sign in (1.0, -1.0):
                        trial = params.copy()
                        trial[i] += sign * (step if i < 4 else step / TILE * 2)
                        val = score(trial)
                        if val > best:
                            best, params, improved = val, trial, True
                            break
        return params[0:2], params[2:4], base_offset + params[4:6]

    def _decode_soft(self, soft: np.ndarray) -> tuple[bytes, int] | None:
        """BCH on the hard decisions, then on the Chase patterns of the least reliable bits:
        ``(payload, bits that differ from its codeword)`` for the first pattern that decodes."""
        code = self._code
        hard = (soft > 0).astype(np.uint8)
        masks = [code.flip_mask(int(i)) for i in np.argsort(np.abs(soft))[:CHASE_BITS]]
        trial = code.to_word(hard)
        # Gray-code order: each pattern differs from the one before in a single bit.
        for k in range(1 << CHASE_BITS):
            if k:
                trial ^= masks[(k & -k).bit_length() - 1]
            decoded = code.decode_word(trial)
            if decoded is not None:
                payload = decoded[0]
                return payload, int(np.count_nonzero(code.encode(payload) != hard))
        return None

    def _reaches(self, soft: np.ndarray, codeword: np.ndarray) -> bool:
        """Whether ``_decode_soft(soft)`` reaches ``codeword``: some Chase pattern leaves at most
        ``t`` errors exactly when the errors outside the least reliable bits are at most ``t``."""
        errors = (soft > 0).astype(np.uint8) != codeword
        least_reliable = np.argsort(np.abs(soft))[:CHASE_BITS]
        return int(errors.sum()) - int(errors[least_reliable].sum()) <= self._code.t

    def _search(
        self, image: Image.Image, decode: Callable[[np.ndarray], _T | None]
    ) -> tuple[_T | None, float, np.ndarray | None, tuple[np.ndarray, ...] | None]:
        """The blind search: for each lattice candidate, fold, synchronise and ``decode`` the soft
        bits, retrying on a refined lattice when sync is clear.  Returns the first decoding, its
        sync z-score, hard bits and lattice (v1, v2, offset); or None with the best z-score and
        that candidate's bits, and no lattice."""
        r = np.ascontiguousarray(self._analysis(image), np.float32)
        best: tuple[float, np.ndarray | None] = (-np.inf, None)
        for v1, v2 in _candidate_lattices(r, tile=TILE, candidates=CANDIDATES):
            z, offset, aligned = self._synchronise(self._fold(r, v1, v2))
            soft, _ = self._soft_bits(aligned)
            decoded = decode(soft)
            if decoded is None and z >= REFINE_Z:
                v1, v2, offset = self._refine(r, v1, v2, offset)
                soft, _ = self._soft_bits(self._chips(r, v1, v2, offset))
                decoded = decode(soft)
            if decoded is not None:
                return decoded, z, (soft > 0).astype(np.uint8), (v1, v2, offset)
            if z > best[0]:
                best = (z, (soft > 0).astype(np.uint8))
        return None, best[0], best[1], None

    def detect(self, image: Image.Image) -> WatermarkReading:
        """Find the tile lattice, fold, synchronise, decode; found when BCH and the check agree."""
        return self.read(image)[0]

    def reads(self, image: Image.Image, payload: bytes) -> bool:
        """Whether ``detect(image)`` finds ``payload``, for a fraction of its cost when it does not.

        The same blind search runs, but with the codeword known each candidate is settled by
        counting its bit errors instead of trying up to 1,024 Chase patterns.  The answers differ
        only if another codeword passes the keyed check first, which is the false-positive event
        whose probability ``detect`` reports.  The pipeline calls this before releasing a mark."""
        if min(image.size) < 96:
            return False
        codeword = self._code.encode(payload)
        found, _, _, _ = self._search(image, lambda soft: True if self._reaches(soft, codeword) else None)
        return bool(found)

    def read(self, image: Image.Image) -> tuple[WatermarkReading, np.ndarray | None]:
        """The reading and the raw (masked) codeword bits of the best-synchronised candidate,
        before error correction; the bits are what the robustness benchmark scores."""
        if min(image.size) < 96:
            reading = WatermarkReading(
                scheme_id=self.scheme_id, found=False, detail="image too small to read"
            )
            return reading, None
        decoded, z, bits, lattice = self._search(image, self._decode_soft)
        if decoded is None or lattice is None:
            reading = WatermarkReading(
                scheme_id=self.scheme_id,
                found=False,
                detail=f"no valid codeword (best sync z={max(z, 0.0):.1f})",
            )
            return reading, bits
        payload, nerr = decoded
        reading = WatermarkReading(
            scheme_id=self.scheme_id,
            found=True,
            payload=payload,
            bit_errors=nerr,
            confidence=1.0 - nerr / (self._code.t + CHASE_BITS + 1),
            # Any decode in any of the detection's Chase and lattice trials, however few bits
            # it corrected: the per-image figure the benchmark measures on unmarked photos.
            false_positive_probability=self._code.false_positive_probability(self._code.t, trials=MAX_TRIALS),
            detail=f"{nerr} of {_CODEWORD_BITS} codeword bits corrected; sync z={z:.1f}",
            grid=_mark_grid(image.size, *lattice),
        )
        return reading, bits

    def codeword(self, payload: bytes) -> np.ndarray:
        """The masked codeword bits that ``embed`` spreads for ``payload``."""
        return self._code.encode(payload)
