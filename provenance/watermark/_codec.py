"""Payload coding shared by our watermark schemes: BCH parity, a keyed check and a keyed mask.

A payload becomes a codeword of bits: ``data || tag`` (the tag is a keyed HMAC over the data,
optional), BCH parity over both, then XOR with a mask derived from the key. The mask matters
because an unmarked image tends to read as all zeros or all ones, which are valid BCH codewords;
the tag is what makes the false-positive rate small enough to compute and to trust.
"""

from __future__ import annotations

import hashlib
import hmac
from math import comb

import numpy as np

from hallmark.errors import WatermarkError


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


class PayloadCode:
    """BCH(``t``, ``m``) over ``data_bits`` payload bits plus ``tag_bits`` of keyed check, masked."""

    def __init__(self, *, key: bytes, label: str, data_bits: int, tag_bits: int, t: int, m: int) -> None:
        import bchlib

        if data_bits % 8 or tag_bits % 8:
            raise ValueError("data and tag bits must be multiples of 8")
        self._key = key
        self._label = label
        self.data_bits = data_bits
        self.tag_bits = tag_bits
        self._bch = bchlib.BCH(t, m=m)
        self.t = t
        self.message_bits = data_bits + tag_bits
        self.ecc_bits = int(self._bch.ecc_bits)
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
        packed = word.to_bytes(self._word_bits // 8, "big")
        nbytes = self.message_bits // 8
        # Most words handed here (Chase trials) do not decode: test before copying anything.
        nerr = self._bch.decode(packed[:nbytes], packed[nbytes:])
        if nerr < 0:
            return None
        data = bytearray(packed[:nbytes])
        if nerr:
            self._bch.correct(data, bytearray(packed[nbytes:]))
        payload = bytes(data[: self.data_bits // 8])
        if bytes(data[self.data_bits // 8 :]) != self._tag(payload):
            return None
        return payload, int(nerr)

    def false_positive_probability(self, errors: int, *, trials: int = 1) -> float:
        """Probability that a random word decodes with at most ``errors`` corrections and a valid
        check, over ``trials`` independent attempts (a union bound).

        Of the 2^n words, 2^k are codewords, each with a ball of V(n, e) words around it; the keyed
        check keeps one codeword in 2^tag. So P = V(n, e) * 2^(data_bits - n).
        """
        n = self.codeword_bits
        ball = sum(comb(n, i) for i in range(0, min(errors, self.t) + 1))
        p = ball * 2.0 ** (self.data_bits - n)
        return float(min(1.0, p * trials))
