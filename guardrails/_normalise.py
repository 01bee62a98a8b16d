"""Normalised variants of a prompt, each with a map back to the original characters.

A filter that checks one normal form is walked past by the next trick, so every detector sees
several variants: NFKC with format characters stripped (``unicode``), look-alike letters of
every script folded to ASCII through Unicode's confusables data and then ``anyascii``
(``folded``), leetspeak undone (``leet``, ``leet_l``), spaced or dotted single letters joined
(``joined``), text reversed by right-to-left overrides put back in
reading order (``rtl``), and CJK text with the separators between characters removed (``cjk``).
Each variant keeps, per character, the span of the original prompt it came from, so a finding
always points at the text the user wrote.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_RTL_OPEN = {"\u202e", "\u2067"}  # RIGHT-TO-LEFT OVERRIDE, RIGHT-TO-LEFT ISOLATE
_RTL_CLOSE = {"\u202c", "\u2069"}  # POP DIRECTIONAL FORMATTING, POP DIRECTIONAL ISOLATE
_LEET = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "l",
    "+": "t",
    "€": "e",
}
_LEET_L = {**_LEET, "1": "l"}
# Runs of three or more single letters/digits split by separators: "n u d e", "n.u.d.e", "n-u-d-e".
_SPACED = re.compile(r"(?<![a-z0-9])[a-z0-9](?:[\s.\-_*·•/|~,:;'\"+]+[a-z0-9](?![a-z0-9])){2,}")
_SEPARATOR = re.compile(r"[^a-z0-9]")
# The same runs in any alphabet ("с е к с", "ج-ن-س"), for the words matched in their own script;
# two letters make a run there, since Arabic has two-letter words to find.
# A vowel sign of Devanagari or Arabic is not a word character to ``re``, but spaced out it
# stands for a letter of its word.
_SIGNS = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0900-\u0903\u093a-\u094f\u0951-\u0957\u0962\u0963"
_LETTER = rf"(?:[^\W\d_]|[{_SIGNS}])"
_SPACED_ANY = re.compile(
    rf"(?<![^\W_{_SIGNS}]){_LETTER}(?:[\s.\-_*·•/|~,:;'\"+]+{_LETTER}(?![^\W_{_SIGNS}])){{1,}}"
)
_SEPARATOR_ANY = re.compile(rf"[^\w{_SIGNS}]|_")
# The combining-mark blocks that any script's letters carry (Zalgo text stacks them): a
# script's own vowel signs (Devanagari, Arabic) are letters there and stay.
_STACKED_MARK = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def is_cjk(ch: str) -> bool:
    """Whether a character belongs to a script written without spaces between words (CJK,
    kana, Hangul, whose words take particles without a space, and Thai)."""
    o = ord(ch)
    return (
        0x0E00 <= o <= 0x0E7F
        or 0x2E80 <= o <= 0x9FFF
        or 0xAC00 <= o <= 0xD7AF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x3FFFF
    )


@dataclass(frozen=True)
class Variant:
    """One normal form of a prompt; ``starts[i]``/``ends[i]`` give the original span of char ``i``."""

    name: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    # Spans of this variant made by joining spaced letters: word boundaries inside them are
    # unknown ("a n u d e" joins to "anude"), so terms are looked for as substrings there.
    joined: tuple[tuple[int, int], ...] = ()

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map ``[start, end)`` of this variant to the covering span of the original prompt."""
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else (self.ends[-1] if self.ends else 0)
            return pos, pos
        return min(self.starts[start:end]), max(self.ends[start:end])


# A variant under construction: parallel lists of characters and original spans.
_Chars = tuple[list[str], list[int], list[int]]


@lru_cache(maxsize=4096)
def _unicode_char(ch: str) -> str:
    cat = unicodedata.category(ch)
    if cat == "Cf":
        return ""
    if cat == "Cc":
        return " " if ch in "\t\n\r\x0b\x0c" else ""
    if _STACKED_MARK.match(ch):
        return ""
    return unicodedata.normalize("NFKC", ch).lower()


_LATIN_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Every non-ASCII character that Unicode's confusables data (UTS #39) says looks like a
    Latin letter or digit, mapped to that letter in lower case.

    The data comes from ``confusable_homoglyphs`` (its copy of ``confusables.txt``).  Cyrillic
    "н" is listed only as confusable with small capital "ʜ", so a Latin small capital counts as
    its letter; any other non-ASCII target ("ĸ" for "к") is left to ``anyascii``, which reads
    the letter as it is spelled.  Read once, when the first non-ASCII text arrives, so an
    ASCII-only process never loads the table.
    """
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for ch, glyphs in confusables_data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        targets = [g["c"].lower() for g in glyphs if g["c"].lower() in _LATIN_ALNUM]
        targets += [
            name[-1].lower()
            for g in glyphs
            if len(g["c"]) == 1
            and (name := unicodedata.name(g["c"], "")).startswith("LATIN LETTER SMALL CAPITAL ")
            and len(name) == len("LATIN LETTER SMALL CAPITAL X")
        ]
        if targets:
            table[ch] = targets[0]
    # Greek small letters that confusables.txt pairs only with rare Latin letters (chi with
    # "ꭓ", eta with "n̩"), while a reader of a prompt takes them for these.
    table.update({"β": "b", "χ": "x", "ω": "w", "η": "n"})
    return table


@lru_cache(maxsize=4096)
def _translit_char(ch: str) -> str:
    if ch.isascii() or is_cjk(ch):
        return ch
    from anyascii import anyascii

    return anyascii(ch).lower()


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """The Latin letter ``ch`` passes for: Unicode's confusables first (Cyrillic "р" reads "p",
    Armenian "ս" reads "u", Cherokee "Ꮲ" reads "p"), then ``anyascii``'s transliteration for
    every other script; combining marks stacked on a letter ("n̈̈") are dropped."""
    if ch.isascii() or is_cjk(ch):
        return ch
    if _STACKED_MARK.match(ch):
        return ""
    glyph = _confusables().get(ch)
    if glyph is not None:
        return glyph
    from anyascii import anyascii

    return anyascii(ch).lower()


@lru_cache(maxsize=4096)
def _fold_raw(ch: str) -> str:
    """Fold one character as the user wrote it: its own look-alike entry first (NFKC would turn
    the Greek lunate sigma "ϲ", a look-alike of "c", into a final sigma), then what NFKC makes
    of it, folded."""
    if not ch.isascii() and not is_cjk(ch):
        table = _confusables()
        glyph = table.get(ch) or table.get(ch.lower())
        if glyph is not None:
            return glyph
    return "".join(_fold_char(c) for c in _unicode_char(ch))


def _map(chars: _Chars, fn: object) -> _Chars:
    out_c: list[str] = []
    out_s: list[int] = []
    out_e: list[int] = []
    for ch, s, e in zip(*chars, strict=True):
        pieces = fn(ch)  # type: ignore[operator]
        if not pieces and out_e and _STACKED_MARK.match(ch):
            out_e[-1] = e  # a dropped mark stays inside its letter's span
        for piece in pieces:
            out_c.append(piece)
            out_s.append(s)
            out_e.append(e)
    return out_c, out_s, out_e


def _leet(chars: _Chars, table: dict[str, str]) -> _Chars:
    """Undo leetspeak everywhere ("n00d", "h0w 70"); the other variants keep the digits, so a
    number still reads as a number there."""
    return [table.get(c, c) for c in chars[0]], chars[1], chars[2]


def _join_spaced(
    chars: _Chars, spaced: re.Pattern[str] = _SPACED, separator: re.Pattern[str] = _SEPARATOR
) -> tuple[_Chars, tuple[tuple[int, int], ...]]:
    text = "".join(chars[0])
    drop: set[int] = set()
    runs = []
    for m in spaced.finditer(text):
        runs.append((m.start(), m.end()))
        for i in range(m.start(), m.end()):
            if separator.match(text[i]):
                drop.add(i)
    if not drop:
        return chars, ()
    keep = [i for i in range(len(text)) if i not in drop]
    new_pos = {old: new for new, old in enumerate(keep)}
    joined = []
    for start, end in runs:
        inside = [new_pos[i] for i in range(start, end) if i in new_pos]
        joined.append((inside[0], inside[-1] + 1))
    return ([chars[0][i] for i in keep], [chars[1][i] for i in keep], [chars[2][i] for i in keep]), tuple(
        joined
    )


def _cjk_only(chars: _Chars) -> _Chars:
    keep = [i for i, c in enumerate(chars[0]) if c.isalnum()]
    return [chars[0][i] for i in keep], [chars[1][i] for i in keep], [chars[2][i] for i in keep]


def _rtl_reordered(prompt: str) -> _Chars | None:
    """The prompt with every right-to-left override run put back in reading order."""
    if not any(c in _RTL_OPEN for c in prompt):
        return None
    chars: list[str] = []
    starts: list[int] = []
    run: list[int] = []
    depth = 0
    for i, ch in enumerate(prompt):
        if ch in _RTL_OPEN:
            depth += 1
            continue
        if ch in _RTL_CLOSE and depth:
            depth -= 1
            if depth == 0:
                chars.extend(prompt[j] for j in reversed(run))
                starts.extend(reversed(run))
                run = []
            continue
        if depth:
            run.append(i)
        else:
            chars.append(ch)
            starts.append(i)
    chars.extend(prompt[j] for j in reversed(run))
    starts.extend(reversed(run))
    return chars, starts, [s + 1 for s in starts]


def _variant(name: str, chars: _Chars, joined: tuple[tuple[int, int], ...] = ()) -> Variant:
    return Variant(name, "".join(chars[0]), tuple(chars[1]), tuple(chars[2]), joined)


def variants(prompt: str) -> list[Variant]:
    """The distinct normalised variants of ``prompt`` (the first is always ``unicode``)."""
    n = len(prompt)
    identity = (list(range(n)), [i + 1 for i in range(n)])
    if prompt.isascii() and prompt.isprintable():
        base: _Chars = (list(prompt.lower()), *identity)
        folded = base
    else:
        base = _map((list(prompt), *identity), _unicode_char)
        folded = _map((list(prompt), *identity), _fold_raw)
    out = [_variant("unicode", base)]
    seen = {out[0].text}

    def add(name: str, chars: _Chars | tuple[_Chars, tuple[tuple[int, int], ...]]) -> None:
        if len(chars) == 2:
            v = _variant(name, *chars)  # type: ignore[misc]
        else:
            v = _variant(name, chars)  # type: ignore[arg-type]
        if v.text not in seen:
            seen.add(v.text)
            out.append(v)

    add("folded", folded)
    if folded is not base:
        # Cyrillic "у" passes for both "y" and "u": also read every letter as anyascii spells it.
        add("translit", _map(base, _translit_char))
    leet = _leet(folded, _LEET)
    add("leet", leet)
    if "1" in folded[0]:
        add("leet_l", _leet(folded, _LEET_L))
    add("joined", _join_spaced(leet))
    add("joined_plain", _join_spaced(folded))
    rtl = _rtl_reordered(prompt)
    if rtl is not None:
        rtl_folded = _map(rtl, _fold_raw)
        add("rtl", rtl_folded)
        add("rtl_joined", _join_spaced(_leet(rtl_folded, _LEET)))
    if any(is_cjk(c) for c in base[0]):
        add("cjk", _cjk_only(base))
    if folded is not base:
        # Words matched in their own script (Cyrillic, Arabic, Devanagari...) see these two.
        add("joined_native", _join_spaced(base, _SPACED_ANY, _SEPARATOR_ANY))
        if rtl is not None:
            rtl_native = _map(rtl, _unicode_char)
            add("rtl_native", rtl_native)
            if any(is_cjk(c) for c in rtl_native[0]):
                add("rtl_cjk", _cjk_only(rtl_native))
    return out
