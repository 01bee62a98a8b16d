"""The phrase index: inflections, compounds, leet spellings, CJK substrings."""

from __future__ import annotations

from hallmark.guardrails._normalise import variants
from hallmark.guardrails._terms import PhraseIndex


def _found(index: PhraseIndex[str], prompt: str) -> set[str]:
    return {payload for v in variants(prompt) for payload, *_ in index.search(v)}


def test_inflections_and_word_boundaries() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add("rape", "r")
    index.add("strip", "s")
    for prompt in ("raped", "rapes", "raping", "rapist raper"):
        assert _found(index, prompt) == {"r"}, prompt
    assert _found(index, "stripping") == {"s"}
    assert _found(index, "grapes and drapes") == set()
    assert _found(index, "stripes") == set()


def test_names_can_skip_inflections() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add("trump", "t", inflections=False)
    assert _found(index, "trumped") == set()
    assert _found(index, "trump's hair") == {"t"}


def test_multiword_terms_match_compounds_and_separators() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add("pipe bomb", "p")
    for prompt in ("pipe bomb", "pipe-bombs", "pipebomb", "PIPE_BOMB"):
        assert _found(index, prompt) == {"p"}, prompt
    assert _found(index, "pipe and a bomb") == set()


def test_terms_with_digits_match_their_leet_reading() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add("3d printed gun", "g")
    assert _found(index, "3d pr1nt3d gun") == {"g"}


def test_cjk_substrings() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add("裸体", "n")
    assert _found(index, "一个裸体女人") == {"n"}
    assert _found(index, "裸 体") == {"n"}
    assert _found(index, "身体") == set()
    assert not PhraseIndex()
