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


def _tiny_image_models():  # type: ignore[no-untyped-def]
    """tests/guardrails/tiny_image_models.py (loaded by path: tests are not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "hallmark_tiny_image_models", Path(__file__).parent / "guardrails" / "tiny_image_models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_image_models():  # type: ignore[no-untyped-def]
    """The builders of tiny random-weight image models (tests/guardrails/tiny_image_models.py)."""
    return _tiny_image_models()


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight CLIP saved in a local folder."""
    return _tiny_image_models().build_tiny_clip(tmp_path_factory.mktemp("models") / "tiny-clip")


@pytest.fixture(scope="session")
def tiny_vit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight ViT image classifier (labels: safe, violent, weapon, child)."""
    return _tiny_image_models().build_tiny_vit(
        tmp_path_factory.mktemp("models") / "tiny-vit", ("safe", "violent", "weapon", "child")
    )
