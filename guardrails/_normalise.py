"""Normalised variants of a prompt, each with a map back to the original characters.

A filter that checks one normal form is walked past by the next trick, so every detector sees
several variants: NFKC with format characters stripped (``unicode``), look-alike letters folded
to ASCII with ``anyascii`` (``folded``), leetspeak undone (``leet``, ``leet_l``), spaced or
dotted single letters joined (``joined``), text reversed by right-to-left overrides put back in
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


def is_cjk(ch: str) -> bool:
    """Whether a character belongs to a script written without spaces between words."""
    o = ord(ch)
    return 0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF


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
    return unicodedata.normalize("NFKC", ch).lower()


# Cyrillic and Greek letters that *look* like a different Latin letter than the one they
# transliterate to (anyascii maps Cyrillic "р" to "r", but a reader sees "p").  Applied before
# anyascii, which handles every other script and the rest of these two.
_HOMOGLYPHS = str.maketrans(
    "асеорхуіјѕԁһӏԛԝвнтмкёɡαβεικνορτυχωγηζ",
    "aceopxyijsdhlqwbhtmkegabeiknoptuxwynz",
)


@lru_cache(maxsize=4096)
def _translit_char(ch: str) -> str:
    if ch.isascii() or is_cjk(ch):
        return ch
    from anyascii import anyascii

    return anyascii(ch).lower()


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch.isascii() or is_cjk(ch):
        return ch
    glyph = ch.translate(_HOMOGLYPHS)
    if glyph != ch:
        return glyph
    from anyascii import anyascii

    return anyascii(ch).lower()


def _map(chars: _Chars, fn: object) -> _Chars:
    out_c: list[str] = []
    out_s: list[int] = []
    out_e: list[int] = []
    for ch, s, e in zip(*chars, strict=True):
        for piece in fn(ch):  # type: ignore[operator]
            out_c.append(piece)
            out_s.append(s)
            out_e.append(e)
    return out_c, out_s, out_e


def _leet(chars: _Chars, table: dict[str, str]) -> _Chars:
    """Undo leetspeak everywhere ("n00d", "h0w 70"); the other variants keep the digits, so a
    number still reads as a number there."""
    return [table.get(c, c) for c in chars[0]], chars[1], chars[2]


def _join_spaced(chars: _Chars) -> tuple[_Chars, tuple[tuple[int, int], ...]]:
    text = "".join(chars[0])
    drop: set[int] = set()
    runs = []
    for m in _SPACED.finditer(text):
        runs.append((m.start(), m.end()))
        for i in range(m.start(), m.end()):
            if _SEPARATOR.match(text[i]):
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
        folded = _map(base, _fold_char)
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
        rtl_folded = _map(_map(rtl, _unicode_char), _fold_char)
        add("rtl", rtl_folded)
        add("rtl_joined", _join_spaced(_leet(rtl_folded, _LEET)))
    if any(is_cjk(c) for c in base[0]):
        add("cjk", _cjk_only(base))
    return out
