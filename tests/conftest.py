"""Test-wide settings: quiet, single-threaded, offline, and where the shared evaluation data is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Contended CPUs make OpenMP spin-waits 10-100x slower; offline everything.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HALLMARK_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (public evaluation data); tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HALLMARK_HOME for one test."""
    h = tmp_path / "home"
    monkeypatch.setenv("HALLMARK_HOME", str(h))
    monkeypatch.delenv("HALLMARK_AUDIT_URL", raising=False)
    return h
