"""A phrase index over word lists: whole-word matches with inflections, CJK by substring.

Regex alternations over hundreds of terms cost a scan per term at every position; this index
tokenises a variant once and looks each token sequence up in a dict, so matching costs
O(tokens) whatever the size of the lists.  Word boundaries follow the term's script: Latin
terms (accents folded) are whole words on the ASCII variants; terms in another alphabet
(Cyrillic, Greek, Arabic, Devanagari...) are whole words in their own script, never
transliterated, so a short Arabic word cannot turn into an English one; CJK, kana, Hangul and
Thai, written without spaces, match as substrings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ._normalise import Variant, is_cjk

T = TypeVar("T")
_TOKEN = re.compile(r"[a-z0-9]+")
# A word in any script: a run of anything but spaces and punctuation (a Devanagari or Arabic
# vowel sign is not alphanumeric to ``re`` and must not split its word).
_NATIVE_TOKEN = re.compile(
    r"[^\s!-/:-@\[-`{-~\u00a0-\u00bf\u2000-\u206f\u3000-\u303f\uff01-\uff0f\u060c\u061b\u061f\u06d4\u0964\u0965]+"
)
# Arabic writes the article and one-letter conjunctions and prepositions on to the word.
_ARABIC_PREFIXES = ("", "ال", "و", "وال", "ب", "بال", "ل", "لل", "ف", "فال")
_NATIVE_VARIANTS = frozenset({"unicode", "joined_native", "rtl_native"})
_CJK_VARIANTS = frozenset({"cjk", "unicode", "rtl", "rtl_native", "rtl_cjk"})
_VOWELS = set("aeiou")


def _inflect(word: str) -> set[str]:
    """Surface forms of an English word: plural, past, gerund, agent noun."""
    forms = {word, word + "s", word + "ed", word + "ing", word + "er", word + "ers"}
    if word.endswith(("s", "x", "z", "ch", "sh", "o")):
        forms.add(word + "es")
    if word.endswith("e"):
        stem = word[:-1]
        forms |= {word + "d", word + "r", word + "rs", stem + "ing"}
    if word.endswith("y") and len(word) > 2 and word[-2] not in _VOWELS:
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    if (
        len(word) >= 3
        and word[-1] not in _VOWELS | {"w", "x", "y"}
        and word[-2] in _VOWELS
        and word[-3] not in _VOWELS
    ):
        forms |= {word + word[-1] + suffix for suffix in ("ed", "ing", "er", "ers")}
    return forms


def _fold_term(term: str) -> str:
    if term.isascii():
        return term.lower()
    from ._normalise import variants

    # The folded variant of the term itself, so "Pokémon" in a list matches "pokemon" in a prompt.
    vs = variants(term)
    return next((v.text for v in vs if v.name == "folded"), vs[0].text)


def _native_script(term: str) -> bool:
    """Whether ``term`` has a letter of an alphabet other than Latin (and is not CJK)."""
    return any(c.isalpha() and not c.isascii() and not _is_latin(c) for c in term)


def _is_latin(ch: str) -> bool:
    import unicodedata

    return unicodedata.name(ch, "").startswith("LATIN ")


def _native_forms(tokens: tuple[str, ...]) -> list[tuple[str, ...]]:
    if tokens and all("\u0600" <= c <= "\u06ff" for c in tokens[0]):
        return [(prefix + tokens[0], *tokens[1:]) for prefix in _ARABIC_PREFIXES]
    return [tokens]


def _leet_spellings(folded: str) -> set[str]:
    """The term as written and as the leet variants of a prompt would spell it ("3d gun" is
    seen as "ed gun" there), so both spellings are indexed."""
    from ._normalise import variants

    return {folded} | {v.text for v in variants(folded) if v.name in {"leet", "leet_l"}}


@dataclass
class PhraseIndex(Generic[T]):
    """Token sequences (Latin terms) and substrings (CJK terms) mapped to payloads."""

    phrases: dict[tuple[str, ...], list[tuple[T, str]]] = field(default_factory=dict)
    lengths: dict[str, set[int]] = field(default_factory=dict)
    cjk: list[tuple[str, T, str]] = field(default_factory=list)
    # The first three letters of every single-token phrase: inside a joined run only positions
    # that start one of them are looked at, so a long run costs one set lookup per character.
    heads: set[str] = field(default_factory=set)
    # Terms in another alphabet, as words of their own script.
    native: dict[tuple[str, ...], list[tuple[T, str]]] = field(default_factory=dict)
    native_lengths: dict[str, set[int]] = field(default_factory=dict)
    native_heads: set[str] = field(default_factory=set)

    def add(self, term: str, payload: T, *, inflections: bool = True) -> None:
        if any(is_cjk(c) for c in term):
            text = "".join(c for c in _fold_term(term) if c.isalnum())
            if text:
                self.cjk.append((text, payload, term))
            return
        if _native_script(term):
            from ._normalise import variants

            tokens = tuple(_NATIVE_TOKEN.findall(variants(term)[0].text))
            keys = _native_forms(tokens) if tokens else []
            if len(tokens) > 1:  # spelled out letter by letter, the words run together
                keys.append(("".join(tokens),))
            for key in keys:
                self.native.setdefault(key, []).append((payload, term))
                self.native_lengths.setdefault(key[0], set()).add(len(key))
                if len(key) == 1:
                    self.native_heads.add(key[0][:2])
            return
        folded = _fold_term(term)
        for spelling in _leet_spellings(folded):
            self._add_tokens(_TOKEN.findall(spelling), payload, term, inflections=inflections)

    def _add_tokens(self, tokens: list[str], payload: T, term: str, *, inflections: bool) -> None:
        if not tokens:
            return
        heads = tokens[:-1]
        last = tokens[-1]
        forms = _inflect(last) if inflections and last.isalpha() and len(last) > 2 else {last}
        for form in forms:
            self._put((*heads, form), payload, term)
            if heads:  # the compound spelling: "blow job" -> "blowjob"
                self._put(("".join(heads) + form,), payload, term)

    def _put(self, key: tuple[str, ...], payload: T, term: str) -> None:
        self.phrases.setdefault(key, []).append((payload, term))
        self.lengths.setdefault(key[0], set()).add(len(key))
        if len(key) == 1:
            self.heads.add(key[0][:3])

    def extend(self, terms: Iterable[str], payload: T, *, inflections: bool = True) -> None:
        for term in terms:
            self.add(term, payload, inflections=inflections)

    def __bool__(self) -> bool:
        return bool(self.phrases or self.cjk or self.native)

    def _inside(self, text: str, start: int, end: int) -> list[tuple[T, str, int, int]]:
        """Single-token terms anywhere inside a joined run (no word boundaries there)."""
        return _inside(text, start, end, self.phrases, self.heads, 3)

    def search(self, variant: Variant) -> list[tuple[T, str, int, int]]:
        """Every match in ``variant`` as ``(payload, term, start, end)`` (variant offsets)."""
        text = variant.text
        hits: list[tuple[T, str, int, int]] = []
        if self.phrases:
            hits += _phrases_in(_TOKEN.finditer(text), self.phrases, self.lengths)
        for start, end in variant.joined:
            hits.extend(self._inside(text, start, end))
        if text.isascii():
            return hits
        if self.native and variant.name in _NATIVE_VARIANTS:
            hits += _phrases_in(_NATIVE_TOKEN.finditer(text), self.native, self.native_lengths)
            for start, end in variant.joined if variant.name == "joined_native" else ():
                hits += _inside(text, start, end, self.native, self.native_heads, 2)
        if self.cjk and variant.name in _CJK_VARIANTS:
            for needle, payload, term in self.cjk:
                start = text.find(needle)
                while start >= 0:
                    hits.append((payload, term, start, start + len(needle)))
                    start = text.find(needle, start + 1)
        return hits


def _inside(
    text: str,
    start: int,
    end: int,
    phrases: dict[tuple[str, ...], list[tuple[T, str]]],
    heads: set[str],
    head: int,
) -> list[tuple[T, str, int, int]]:
    """Single-token terms anywhere in ``text[start:end]``: only positions that begin one of
    ``heads`` (the first ``head`` letters of every such term) are looked at, so a long run
    costs one set lookup per character."""
    hits: list[tuple[T, str, int, int]] = []
    for i in range(start, end):
        if text[i : i + head] not in heads:
            continue
        for j in range(i + head, min(end, i + 40) + 1):
            for payload, term in phrases.get((text[i:j],), ()):
                hits.append((payload, term, i, j))
    return hits


def _phrases_in(
    matches: Iterable[re.Match[str]],
    phrases: dict[tuple[str, ...], list[tuple[T, str]]],
    lengths: dict[str, set[int]],
) -> list[tuple[T, str, int, int]]:
    """Every run of tokens that is a key of ``phrases``, with its start and end offsets."""
    tokens = [(m.group(), m.start(), m.end()) for m in matches]
    words = [t[0] for t in tokens]
    hits: list[tuple[T, str, int, int]] = []
    for i, word in enumerate(words):
        for size in lengths.get(word, ()):
            if i + size > len(words):
                continue
            for payload, term in phrases.get(tuple(words[i : i + size]), ()):
                hits.append((payload, term, tokens[i][1], tokens[i + size - 1][2]))
    return hits
