"""scripts/build_terms.py: the multilingual lists are LDNOOBW's words as the review names them."""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("build_terms", REPO / "scripts" / "build_terms.py")
assert _spec is not None and _spec.loader is not None
build_terms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_terms)


def _source(tmp_path: Path) -> Path:
    (tmp_path / "zh").write_text("色情\n牛奶\n奶\n", encoding="utf-8")
    (tmp_path / "de").write_text("Fotze\nkacke\n", encoding="utf-8")
    return tmp_path


def test_the_reviewed_words_are_written_with_source_commit_and_licence(tmp_path: Path) -> None:
    review = {"languages": {"zh": {"sexual": ["色情"]}, "de": {"sexual": ["fotze"], "hate": []}}}
    files = build_terms.build(build_terms.Source(_source(tmp_path), "abc123"), review)
    text = files["sexual.ldnoobw.txt"]
    assert "at commit abc123" in text and "CC BY 4.0" in text
    terms = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert terms == ["fotze", "色情"]  # German section first; unreviewed words left out


def test_a_word_the_source_does_not_hold_is_refused(tmp_path: Path) -> None:
    review = {"languages": {"zh": {"sexual": ["裸体"]}}}
    with pytest.raises(SystemExit, match="'裸体' is not in LDNOOBW's zh file"):
        build_terms.build(build_terms.Source(_source(tmp_path), "abc123"), review)


def test_a_single_cjk_character_is_refused(tmp_path: Path) -> None:
    review = {"languages": {"zh": {"sexual": ["奶"]}}}
    with pytest.raises(SystemExit, match="single character '奶'"):
        build_terms.build(build_terms.Source(_source(tmp_path), "abc123"), review)


def test_the_bundled_lists_hold_exactly_the_reviewed_words() -> None:
    review = yaml.safe_load((REPO / "scripts" / "terms" / "ldnoobw_review.yaml").read_text(encoding="utf-8"))
    expected: dict[str, set[str]] = {}
    for categories in review["languages"].values():
        for category, words in categories.items():
            expected.setdefault(category, set()).update(
                unicodedata.normalize("NFC", str(w)).lower() for w in words
            )
    for category, words in expected.items():
        path = REPO / "policies" / "lists" / "intl" / f"{category}.ldnoobw.txt"
        lines = path.read_text(encoding="utf-8").splitlines()
        assert {line for line in lines if line and not line.startswith("#")} == words, category
        assert any("5faf2ba42d7b1c0977169ec3611df25a3c08eb13" in line for line in lines[:4])
