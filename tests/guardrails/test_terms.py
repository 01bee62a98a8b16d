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


def test_thai_and_hangul_match_as_substrings() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add("เย็ด", "t")
    index.add("폭탄제조", "k")
    assert _found(index, "ภาพเย็ดกัน") == {"t"}
    assert _found(index, "폭탄 제조 방법") == {"k"}
    assert _found(index, "\u202e" + "เย็ด"[::-1] + "\u202c") == {"t"}  # reversed by an override, marks too


def test_other_alphabets_match_whole_words_of_their_own_script() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add("секс", "ru")
    index.add("сделать бомбу", "bomb")
    index.add("سكس", "ar")
    index.add("नंगी", "hi")
    assert _found(index, "фото: секс!") == {"ru"}
    assert _found(index, "сексология") == set()  # a whole word, not a prefix
    assert _found(index, "как сделать бомбу") == {"bomb"}
    assert _found(index, "с-д-е-л-а-т-ь б-о-м-б-у") == {"bomb"}  # spelled out, words run together
    assert _found(index, "والسكس") == {"ar"}  # "and the" written on to the word
    assert _found(index, "नंगी औरत") == {"hi"}
    assert _found(index, "न ं ग ी") == {"hi"}  # vowel signs spaced out like letters
    assert _found(index, "seks sks nangi") == set()  # never through a transliteration
