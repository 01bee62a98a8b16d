"""The labels' integrity key (provenance/labels/_integrity.py): derived from the watermark key."""

from __future__ import annotations

import datetime as dt
import hmac
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from hallmark.errors import KeyMaterialError, ProvenanceError
from hallmark.policies import LabelsPolicy
from hallmark.provenance import (
    LabelContext,
    Labeler,
    init_keys,
    labels_integrity_key,
    load_watermark_key,
    read_labels,
)
from hallmark.provenance.labels._visible import find_font

NOW = dt.datetime(2026, 11, 24, 21, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("home") / "keys"
    init_keys(d, now=NOW)
    return d


def test_derived_from_the_watermark_key(keys: Path) -> None:
    watermark_key = load_watermark_key(keys)
    derived = labels_integrity_key(keys)
    assert derived == hmac.new(watermark_key, b"hallmark.labels.integrity", "sha256").digest()
    assert len(derived) == 32 and derived != watermark_key


def test_a_known_watermark_key_gives_known_bytes(tmp_path: Path) -> None:
    # Check codes written so far were made with these bytes: the derivation must never drift.
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    fd = os.open(keys / "watermark.key", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, bytes(range(32)))
    os.close(fd)
    assert labels_integrity_key(keys).hex() == (
        "e63ee3fee73d620ab636a4309f8c5fc744202b5ae223fa720daa60f1db39cabf"
    )


def test_missing_watermark_key_is_a_key_error(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match=r"key file .*watermark\.key is missing"):
        labels_integrity_key(tmp_path)


def test_check_codes_written_with_it_verify_with_it(keys: Path) -> None:
    try:
        find_font("AI生成")
    except ProvenanceError:
        pytest.skip("no CJK font installed (run scripts/install-system-deps.sh)")
    key = labels_integrity_key(keys)
    labeler = Labeler.from_policy(LabelsPolicy(profiles=("cn_gb45438",)), integrity_key=key)
    buf = io.BytesIO()
    Image.new("RGB", (320, 256), (90, 120, 150)).save(buf, "PNG")
    ctx = LabelContext("01900000-0000-7000-8000-000000000001", NOW, "Acme AI", "tiny-sd", "hallmark", "0.1.0")
    out = labeler.embed_metadata(buf.getvalue(), fmt="png", ctx=ctx)
    assert read_labels(out, key=key).reserved_code1 == "ok"
    assert read_labels(out, key=load_watermark_key(keys)).reserved_code1 == "mismatch"
