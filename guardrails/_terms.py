"""A phrase index over word lists: whole-word matches with inflections, CJK by substring.

Regex alternations over hundreds of terms cost a scan per term at every position; this index
tokenises a variant once and looks each token sequence up in a dict, so matching costs
O(tokens) whatever the size of the lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ._normalise import Variant, is_cjk

T = TypeVar("T")
_TOKEN = re.compile(r"[a-z0-9]+")
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

    def add(self, term: str, payload: T, *, inflections: bool = True) -> None:
        if any(is_cjk(c) for c in term):
            text = "".join(c for c in _fold_term(term) if c.isalnum())
            if text:
                self.cjk.append((text, payload, term))
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
        return bool(self.phrases or self.cjk)

    def _inside(self, text: str, start: int, end: int) -> list[tuple[T, str, int, int]]:
        """Single-token terms anywhere inside a joined run (no word boundaries there)."""
        hits: list[tuple[T, str, int, int]] = []
        for i in range(start, end):
            if text[i : i + 3] not in self.heads:
                continue
            for j in range(i + 3, min(end, i + 40) + 1):
                entries = self.phrases.get((text[i:j],))
                if entries:
                    hits.extend((payload, term, i, j) for payload, term in entries)
        return hits

    def search(self, variant: Variant) -> list[tuple[T, str, int, int]]:
        """Every match in ``variant`` as ``(payload, term, start, end)`` (variant offsets)."""
        hits: list[tuple[T, str, int, int]] = []
        text = variant.text
        if self.phrases:
            tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
            words = [t[0] for t in tokens]
            for i, word in enumerate(words):
                sizes = self.lengths.get(word)
                if not sizes:
                    continue
                for size in sizes:
                    entries = (
                        self.phrases.get(tuple(words[i : i + size])) if size > 1 else self.phrases[(word,)]
                    )
                    if entries and i + size <= len(words):
                        for payload, term in entries:
                            hits.append((payload, term, tokens[i][1], tokens[i + size - 1][2]))
        for start, end in variant.joined:
            hits.extend(self._inside(text, start, end))
        if self.cjk and variant.name in {"cjk", "unicode", "rtl"}:
            for needle, payload, term in self.cjk:
                start = text.find(needle)
                while start >= 0:
                    hits.append((payload, term, start, start + len(needle)))
                    start = text.find(needle, start + 1)
        return hits
