"""Payload coding shared by our watermark schemes: BCH parity, a keyed check and a keyed mask.

A payload becomes a codeword of bits: ``data || tag`` (the tag is a keyed HMAC over the data,
optional), BCH parity over both, then XOR with a mask derived from the key. The mask matters
because an unmarked image tends to read as all zeros or all ones, which are valid BCH codewords;
the tag is what makes the false-positive rate small enough to compute and to trust.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from math import comb

import numpy as np

from hallmark.errors import WatermarkError

# Measured rate of false decodes over the analytic one (``analytic_false_positive_probability``)
# through this decoder, rounded up to the upper end of a 99.9% confidence interval, so that a
# printed figure is never below a measured one.  Measured with 10^7 uniformly random words per code
# (BCH t=7 over 121 bits, as wm1 uses it; t=6 over 90 bits, as dwtdctsvd-bch does):
#     PYTHONPATH=. python bench/watermark_robustness.py --schemes none --transplants 0 --fp 0 --words 10000000
# Before bchlib's successes were checked for distance the ratios were 174 and 24.
DECODER_CALIBRATION = 1.1


def derive(key: bytes, label: str, n: int = 32) -> bytes:
    """``n`` bytes derived from ``key`` for one purpose (HMAC-SHA256 in counter mode)."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hmac.new(key, f"{label}/{counter}".encode(), hashlib.sha256).digest()
        counter += 1
    return out[:n]


def check_key(key: object, scheme_id: str) -> bytes:
    """The key as bytes, or a WatermarkError when it is missing or too short to be a secret."""
    if not isinstance(key, bytes | bytearray) or len(key) < 16:
        raise WatermarkError(
            f"watermark key for {scheme_id} must be at least 16 bytes",
            hint="Load it with hallmark.provenance.load_watermark_key(keys_dir) (32 random bytes).",
        )
    return bytes(key)


class _Bch:
    """bchlib's BCH code, called so that it can neither leak nor race.

    bchlib 2.1.3's ``decode`` and ``encode`` keep a reference to, and a buffer export of, every
    argument they are given: ~80 bytes a call, which wm1's Chase decoding (thousands of trial
    words per image) turned into ~250 KiB per image verified and 1 GiB over 3,000 files.  Here
    they are always handed the same bytearrays, refilled in place at their own size, so that
    what bchlib keeps is the same few objects whatever the number of calls.  ``correct`` uses
    the error locations the last ``decode`` left in the code object, so the two run under one
    lock (bchlib holds the GIL throughout: the lock costs no parallelism)."""

    def __init__(self, t: int, *, m: int) -> None:
        import bchlib

        self._code = bchlib.BCH(t, m=m)
        self.n = int(self._code.n)
        self.ecc_bits = int(self._code.ecc_bits)
        self._ecc = bytearray(int(self._code.ecc_bytes))
        self._data: dict[int, bytearray] = {}
        self._lock = threading.Lock()

    def _filled(self, data: bytes) -> bytearray:
        buf = self._data.get(len(data))
        if buf is None:
            buf = self._data[len(data)] = bytearray(len(data))
        buf[:] = data
        return buf

    def decode(self, data: bytes, ecc: bytes) -> tuple[int, bytes]:
        """The number of bit errors bchlib finds in ``data`` + ``ecc`` (negative: more than it
        can fix) and ``data`` with them corrected."""
        with self._lock:
            buf = self._filled(data)
            self._ecc[:] = ecc
            nerr = int(self._code.decode(buf, self._ecc))
            if nerr <= 0:
                return nerr, data
            fixed = bytearray(data)
            self._code.correct(fixed, bytearray(ecc))  # ``correct`` keeps nothing it is given
            return nerr, bytes(fixed)

    def encode(self, data: bytes) -> bytes:
        """The parity bytes of ``data``."""
        with self._lock:
            return bytes(self._code.encode(self._filled(data)))


class PayloadCode:
    """BCH(``t``, ``m``) over ``data_bits`` payload bits plus ``tag_bits`` of keyed check, masked."""

    def __init__(self, *, key: bytes, label: str, data_bits: int, tag_bits: int, t: int, m: int) -> None:
        if data_bits % 8 or tag_bits % 8:
            raise ValueError("data and tag bits must be multiples of 8")
        self._key = key
        self._label = label
        self.data_bits = data_bits
        self.tag_bits = tag_bits
        self._bch = _Bch(t, m=m)
        self.t = t
        self.message_bits = data_bits + tag_bits
        self.ecc_bits = self._bch.ecc_bits
        self.codeword_bits = self.message_bits + self.ecc_bits
        if self.codeword_bits > self._bch.n:
            raise ValueError("codeword longer than the BCH code allows")
        # Words are whole message bytes followed by whole parity bytes, as bchlib takes them.
        self._word_bits = self.message_bits + 8 * ((self.ecc_bits + 7) // 8)
        mask = derive(key, f"{label}/mask", (self.codeword_bits + 7) // 8)
        self._mask = np.unpackbits(np.frombuffer(mask, np.uint8))[: self.codeword_bits]

    def _tag(self, data: bytes) -> bytes:
        if not self.tag_bits:
            return b""
        return hmac.new(self._key, f"{self._label}/tag".encode() + data, hashlib.sha256).digest()[
            : self.tag_bits // 8
        ]

    def encode(self, payload: bytes) -> np.ndarray:
        """The masked codeword of ``payload`` as a uint8 array of 0/1 bits."""
        if not isinstance(payload, bytes | bytearray) or len(payload) * 8 != self.data_bits:
            raise WatermarkError(
                f"watermark payload must be exactly {self.data_bits // 8} bytes",
                hint="Derive it with hallmark.provenance.payload_for_record(record_id, scheme.payload_bits).",
            )
        message = bytes(payload) + self._tag(bytes(payload))
        ecc = self._bch.encode(message)
        bits = np.unpackbits(np.frombuffer(message + bytes(ecc), np.uint8))[: self.codeword_bits]
        return bits ^ self._mask

    def decode(self, bits: np.ndarray) -> tuple[bytes, int] | None:
        """``(payload, bits corrected)`` when ``bits`` are within ``t`` errors of a codeword whose
        keyed check holds; None otherwise."""
        return self.decode_word(self.to_word(bits))

    def to_word(self, bits: np.ndarray) -> int:
        """Unmasked codeword bits packed into one integer (message bytes, then parity bytes), the
        form in which Chase decoding flips bits cheaply."""
        raw = (np.asarray(bits, np.uint8)[: self.codeword_bits] & 1) ^ self._mask
        padded = np.zeros(self._word_bits, np.uint8)
        padded[: self.codeword_bits] = raw
        return int.from_bytes(np.packbits(padded).tobytes(), "big")

    def flip_mask(self, index: int) -> int:
        """The word bit that holds codeword bit ``index``."""
        return 1 << (self._word_bits - 1 - index)

    def decode_word(self, word: int) -> tuple[bytes, int] | None:
        """``decode`` for a word made by ``to_word``."""
        decoded = self._bch_decode(word)
        if decoded is None:
            return None
        message, nerr = decoded
        payload = message[: self.data_bits // 8]
        if message[self.data_bits // 8 :] != self._tag(payload):
            return None
        return payload, nerr

    def _bch_decode(self, word: int) -> tuple[bytes, int] | None:
        """The message of the codeword within ``t`` bits of ``word`` and that distance, or None."""
        packed = word.to_bytes(self._word_bits // 8, "big")
        nbytes = self.message_bits // 8
        nerr, data = self._bch.decode(packed[:nbytes], packed[nbytes:])
        if nerr < 0:
            return None
        if nerr:
            # bchlib reports success for many words more than t bits from every codeword (99% of
            # its successes on random words, measured): its error locations may fall outside the
            # shortened code.  A bounded-distance decoder accepts a word only when the codeword
            # it returns lies within t bits of it, so the codeword is rebuilt and the distance
            # counted.
            codeword = int.from_bytes(data + self._bch.encode(data), "big")
            nerr = (codeword ^ word).bit_count()
            if nerr > self.t:
                return None
        return data, nerr

    def count_decodable(self, words: np.ndarray) -> int:
        """How many rows of ``words`` (uint8, one word per row in ``to_word``'s byte layout) the
        decoder accepts before the keyed check: within ``t`` bits of a BCH codeword.

        Over uniformly random words this is the measured rate behind ``DECODER_CALIBRATION``;
        the keyed check then keeps one accepted word in 2^tag_bits (an HMAC tag of a payload
        that the image's maker did not choose with the key matches by chance only)."""
        nbytes = self.message_bits // 8
        decode = self._bch.decode
        count = 0
        for row in np.ascontiguousarray(words, np.uint8):
            packed = row.tobytes()
            # bchlib's own test first (C, ~2 µs): only its ~2% successes need the distance check.
            if decode(packed[:nbytes], packed[nbytes:])[0] >= 0:
                count += self._bch_decode(int.from_bytes(packed, "big")) is not None
        return count

    def random_words(self, count: int, *, rng: np.random.Generator) -> np.ndarray:
        """``count`` uniformly random words in ``to_word``'s byte layout (padding bits zero)."""
        words = rng.integers(0, 256, (count, self._word_bits // 8), dtype=np.uint8)
        pad = self._word_bits - self.codeword_bits
        words[:, -1] &= np.uint8((0xFF << pad) & 0xFF)
        return words

    def analytic_false_positive_probability(self, errors: int) -> float:
        """V(n, e) * 2^(data_bits - n): the exact rate at which a bounded-distance decoder
        accepts a uniformly random word within ``errors`` (<= t) bits of a codeword whose keyed
        check holds (the balls around the 2^(data+tag) codewords do not overlap)."""
        n = self.codeword_bits
        ball = sum(comb(n, i) for i in range(0, min(errors, self.t) + 1))
        return float(ball * 2.0 ** (self.data_bits - n))

    def false_positive_probability(self, errors: int, *, trials: int = 1) -> float:
        """Probability that a random word decodes with at most ``errors`` corrections and a valid
        check, over ``trials`` attempts (a union bound, which holds however the attempts depend
        on each other): the analytic rate times ``DECODER_CALIBRATION``, so that the figure is
        never below the rate measured through this decoder."""
        p = self.analytic_false_positive_probability(errors) * DECODER_CALIBRATION
        return float(min(1.0, p * trials))
