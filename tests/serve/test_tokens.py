"""``TokenStore``: tokens made from injected randomness and time, kept as SHA-256 digests,
authenticated only while live; a running reader sees a revocation made by another."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pytest

from hallmark.errors import InputError
from hallmark.pipeline.serve._tokens import TokenStore

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def store(path: Path, fill: int = 7) -> TokenStore:
    return TokenStore(path, now=lambda: NOW, rng=lambda n: bytes([fill]) * n)


def test_a_token_is_256_bits_shown_once_and_kept_as_its_digest(tmp_path: Path) -> None:
    path = tmp_path / "api-tokens.json"
    token, info = store(path).create("frontend")
    assert token == "hm_" + "BwcH" * 10 + "Bwc"  # base64url of 32 bytes of 0x07, unpadded
    assert info.created == "2026-05-01T12:00:00Z" and info.revoked is None
    kept = json.loads(path.read_text())
    assert kept == {
        "tokens": [
            {
                "name": "frontend",
                "sha256": hashlib.sha256(token.encode()).hexdigest(),
                "created": "2026-05-01T12:00:00Z",
                "revoked": None,
            }
        ]
    }
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_only_a_live_token_authenticates(tmp_path: Path) -> None:
    path = tmp_path / "api-tokens.json"
    writer, reader = store(path, 1), TokenStore(path)
    first, _ = writer.create("a")
    second, _ = store(path, 2).create("b")
    assert reader.authenticate(first).name == "a" and reader.authenticate(second).name == "b"
    assert reader.authenticate("hm_" + "x" * 43) is None and not reader.is_revoked("hm_" + "x" * 43)
    writer.revoke("a")
    assert reader.authenticate(first) is None and reader.is_revoked(first)  # the reader re-read the file
    assert reader.authenticate(second).name == "b"
    again, _ = store(path, 3).create("a")  # a revoked name may be given to a new token
    assert reader.authenticate(again).name == "a" and reader.authenticate(first) is None
    assert [(e.name, e.revoked is None) for e in reader.entries()] == [("a", False), ("b", True), ("a", True)]


def test_names_and_duplicates_are_refused(tmp_path: Path) -> None:
    tokens = store(tmp_path / "t.json")
    tokens.create("ok-name.1")
    with pytest.raises(InputError, match="already named 'ok-name.1'"):
        tokens.create("ok-name.1")
    with pytest.raises(InputError, match="is not 1-64 letters"):
        tokens.create("../etc")
    with pytest.raises(InputError, match="no live token is named 'nobody'"):
        tokens.revoke("nobody")


def test_a_file_that_is_not_a_token_list_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("[1, 2]")
    with pytest.raises(InputError, match="does not hold hallmark API tokens"):
        TokenStore(path).authenticate("hm_x")
