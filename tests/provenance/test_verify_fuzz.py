"""Fuzz: 2,000+ mutated images (signed JPEG, PNG and WebP, plain GIF) through verify_image.

Each mutation must give a report (never an exception) with a verdict from the documented set,
a reason when the verdict is ``error``, and a JSON-ready ``to_dict``.  Images are small so the
run stays fast (~10 s for 2,040 files); a few larger ones take the watermark decoders through broken pixels too.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hallmark import provenance as P
from hallmark.provenance import Verdict, verify_image

N_SMALL = 2000
N_LARGE = 20


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    keys = tmp_path_factory.mktemp("fuzz") / "keys"
    P.init_keys(keys)
    rng = np.random.default_rng(0)
    out: dict[str, bytes] = {}
    with P.C2paSigner.from_keys_dir(keys) as signer:
        for fmt, mime, size in (
            ("JPEG", "image/jpeg", 48),
            ("PNG", "image/png", 40),
            ("WEBP", "image/webp", 40),
            ("JPEG", "image/jpeg", 256),
        ):
            im = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
            buf = io.BytesIO()
            im.save(buf, fmt)
            spec = P.ManifestSpec(
                title="f", software_agent="m", watermark=P.SoftBinding("hallmark.wm1", "00" * 6)
            )
            out[f"{fmt}{size}"] = signer.sign(buf.getvalue(), mime=mime, manifest=spec).data
    buf = io.BytesIO()
    Image.new("P", (32, 32)).save(buf, "GIF")
    out["GIF"] = buf.getvalue()
    out["key"] = P.load_watermark_key(keys)
    return out


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    kind = int(rng.integers(0, 7))
    if kind == 0:  # flip a few bits anywhere
        for _ in range(int(rng.integers(1, 12))):
            i = int(rng.integers(0, len(b)))
            b[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:  # truncate
        b = b[: int(rng.integers(0, len(b)))]
    elif kind == 2:  # insert random bytes
        i = int(rng.integers(0, len(b)))
        b[i:i] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    elif kind == 3:  # zero a run (lengths, markers, JUMBF headers)
        i = int(rng.integers(0, len(b)))
        b[i : i + int(rng.integers(1, 256))] = b"\0" * len(b[i : i + 256])
    elif kind == 4:  # duplicate a slice
        i, j = sorted(int(x) for x in rng.integers(0, len(b), 2))
        b[j:j] = b[i : i + 512]
    elif kind == 5:  # overwrite with 0xFF runs (fake JPEG markers)
        i = int(rng.integers(0, len(b)))
        b[i : i + 8] = b"\xff" * len(b[i : i + 8])
    else:  # many random byte substitutions
        for _ in range(int(rng.integers(10, 200))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
    return bytes(b)


def check(report: P.VerificationReport) -> None:
    assert isinstance(report.verdict, Verdict)
    if report.verdict is Verdict.ERROR:
        assert report.error
    json.dumps(report.to_dict())


def test_fuzzed_images_never_crash(seeds: dict[str, bytes], tmp_path: Path) -> None:
    rng = np.random.default_rng(12345)
    small = [seeds[k] for k in ("JPEG48", "PNG40", "WEBP40", "GIF")]
    verdicts: dict[str, int] = {}
    for n in range(N_SMALL):
        report = verify_image(mutate(small[n % len(small)], rng), schemes=[])
        check(report)
        verdicts[report.verdict.value] = verdicts.get(report.verdict.value, 0) + 1
    for _ in range(N_LARGE):
        report = verify_image(mutate(seeds["JPEG256"], rng), watermark_key=seeds["key"])
        check(report)
    # The mutations reach every part of the verifier, not just the "not an image" exit.
    assert verdicts.get("tampered", 0) > 100
    assert verdicts.get("unreadable-credentials", 0) > 100  # c2pa refused the broken store
    assert verdicts.get("error", 0) > 100
    assert verdicts.get("no-provenance-found", 0) + verdicts.get("untrusted-signer", 0) > 50
    # Signed by a CA nobody trusts here: no mutation may earn a hallmark verdict.
    assert not {"hallmark-signed", "hallmark-recovered"} & set(verdicts)
