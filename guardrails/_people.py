"""The registry of real people and artists, and the matcher over it.

``policies/data/people.tsv.gz`` (built by ``scripts/build_people.py`` from open data) holds one
line per person or artist: kind, birth and death year, country, display name and match keys
already folded as a prompt is folded (``L`` Latin tokens, ``N`` tokens of another alphabet,
``C`` CJK characters, ``S`` an artist's surname; ``!`` marks an alias that is also an
everyday word).  It is read once per
process, when the first filter that needs it is built; a missing or corrupt file raises
``PolicyError`` naming its path, so ``hallmark`` exits 2 instead of silently allowing.

Matching costs O(tokens) per variant: Latin and native-script names are token sequences looked
up in a dict (whole words in their own script), CJK names are found as substrings by one
Aho-Corasick automaton (``pyahocorasick``), names split into spaced letters are looked for
inside the joined run, and two-word names of eight letters or more are found with one letter
wrong in either word.
"""

from __future__ import annotations

import gzip
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hallmark.errors import PolicyError

from ._normalise import Variant, is_cjk, variants
from ._terms import _NATIVE_TOKEN, _NATIVE_VARIANTS, _fold_term, _native_script

_TOKEN = re.compile(r"[a-z0-9]+")
_CJK_VARIANTS = frozenset({"cjk", "unicode", "rtl_cjk"})
_FUZZY_VARIANTS = frozenset({"unicode", "folded"})
# Variants that differ from another searched variant only inside and around their joined runs.
_JOINED_VARIANTS = frozenset({"joined", "joined_plain", "joined_native"})
_NEAR = 80
_MAX_TOKENS = 6
_LOCK = threading.Lock()
_LOADED: dict[str, Registry] = {}


def name_keys(name: str) -> list[tuple[str, str]]:
    """The match keys of one name: ``("L", "olaf scholz")``, ``("N", "олаф шольц")`` (and its
    Latin reading), ``("C", "泽连斯基")``.  The build script and operator lists use this, so a
    name is folded exactly as a prompt is."""
    if any(is_cjk(c) for c in name):
        key = "".join(c for c in _fold_term(name) if c.isalnum())
        return [("C", key)] if key else []
    keys: list[tuple[str, str]] = []
    if _native_script(name):
        native = _NATIVE_TOKEN.findall(variants(name)[0].text)
        if native:
            keys.append(("N", " ".join(native)))
    latin = _TOKEN.findall(_fold_term(name))
    if latin:
        keys.append(("L", " ".join(latin)))
    return keys


@dataclass(frozen=True)
class Entry:
    """One person or artist of the registry."""

    kind: str  # "P" person, "A" artist, "T" artist whose name alone is a style tag
    name: str
    born: int | None
    died: int | None
    country: str


@dataclass(frozen=True)
class NameHit:
    entry: int
    start: int  # offsets in the variant's text
    end: int
    common: bool  # the alias is also an everyday word
    fuzzy: bool = False
    surname: bool = False  # an artist's surname alone


def _fuzzy_len_ok(a: str, b: str) -> bool:
    return abs(len(a) - len(b)) <= 1


def one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by exactly one insertion, deletion or substitution."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


class Registry:
    """The people and artists of one or more registry files, with their match indexes."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.latin: dict[str, int | list[int]] = {}
        self.native: dict[str, int | list[int]] = {}
        self.glued: dict[str, int | list[int]] = {}
        self.glued_heads: set[str] = set()  # the first four letters of every glued name
        self._glued_built = False
        self.common: set[str] = set()
        self.heads: set[str] = set()  # the first token of every Latin or native key
        self.prefixes: set[str] = set()  # every proper prefix of two tokens or more
        self.given: set[str] = set()  # given names of many people ("G" lines)
        self.everyday: set[str] = set()  # everyday words that are nobody's surname ("W" lines)
        # first word -> length of the last word -> (last word, entry), and the other way round
        self.first: dict[str, dict[int, list[tuple[str, int]]]] = {}
        self.last: dict[str, dict[int, list[tuple[str, int]]]] = {}
        self.surnames: dict[str, int | list[int]] = {}
        self._cjk: object = None
        self._cjk_keys: list[tuple[str, int, bool]] = []

    # -- loading ----------------------------------------------------------------------------

    @classmethod
    def load(cls, paths: tuple[Path, ...]) -> Registry:
        """The registry of ``paths``, read once per process and then shared."""
        key = "\n".join(str(p) for p in paths)
        with _LOCK:
            registry = _LOADED.get(key)
            if registry is None:
                registry = cls()
                for path in paths:
                    registry.read(path)
                registry.finish()
                _LOADED[key] = registry
            return registry

    def read(self, path: Path) -> None:
        try:
            raw = path.read_bytes()
            text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError) as e:
            raise PolicyError(
                f"people registry {path} cannot be read ({e.__class__.__name__})",
                hint="Reinstall hallmark, or rebuild the file with scripts/build_people.py or "
                "`hallmark policy people --update`.",
            ) from e
        for number, line in enumerate(text.splitlines(), 1):
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if fields[0] in ("G", "W") and len(fields) == 2 and fields[1]:
                (self.given if fields[0] == "G" else self.everyday).add(fields[1])
                continue
            if len(fields) != 6 or fields[0] not in ("P", "A", "T") or not fields[5]:
                raise PolicyError(
                    f"people registry {path}:{number}: malformed line (want 6 tab-separated fields)"
                )
            try:
                born = int(fields[1]) if fields[1] else None
                died = int(fields[2]) if fields[2] else None
            except ValueError as e:
                raise PolicyError(f"people registry {path}:{number}: a year is not a number") from e
            self.add(Entry(fields[0], fields[4], born, died, fields[3]), fields[5].split("|"))

    def add(self, entry: Entry, keys: list[str]) -> None:
        # Called once per line of a 90,000-line file at start-up: written for speed.
        index = len(self.entries)
        self.entries.append(entry)
        for raw in keys:
            script = raw[:1]
            common = raw[1:2] == "!"
            key = raw[2:] if common else raw[1:]
            if not key or script not in ("L", "N", "C", "S"):
                raise PolicyError(f"people registry: bad key {raw!r} for {entry.name}")
            if common:
                self.common.add(key)
            if script == "C":
                self._cjk_keys.append((key, index, common))
                continue
            table = self.surnames if script == "S" else self.latin if script == "L" else self.native
            if table.setdefault(key, index) != index:
                _put(table, key, index)
            if script == "S":
                continue
            tokens = key.split()
            self.heads.add(tokens[0])
            n = len(tokens)
            if n > 2:
                for size in range(2, n):
                    self.prefixes.add(" ".join(tokens[:size]))
            if n == 2 and script == "L" and not common and len(key) >= 9:
                first, last = tokens
                self.first.setdefault(first, {}).setdefault(len(last), []).append((last, index))
                self.last.setdefault(last, {}).setdefault(len(first), []).append((first, index))

    def finish(self) -> None:
        if not self._cjk_keys:
            return
        import ahocorasick

        automaton = ahocorasick.Automaton()
        merged: dict[str, list[tuple[int, bool]]] = {}
        for key, index, common in self._cjk_keys:
            merged.setdefault(key, []).append((index, common))
        for key, values in merged.items():
            automaton.add_word(key, (len(key), tuple(values)))
        automaton.make_automaton()
        self._cjk = automaton
        self._cjk_keys = []

    # -- matching ---------------------------------------------------------------------------

    def search(self, variant: Variant) -> Iterator[NameHit]:
        """Every registry name in ``variant``, as offsets of the variant's text."""
        text = variant.text
        tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        near = variant.name in _JOINED_VARIANTS
        if near:
            # Outside its joined runs this variant is the text of the one it was joined from,
            # which is searched too: only the words around the runs are new.
            tokens = [
                t for t in tokens if any(s - _NEAR <= t[1] and t[2] <= e + _NEAR for s, e in variant.joined)
            ]
        yield from self._tokens(tokens, self.latin, fuzzy=variant.name in _FUZZY_VARIANTS)
        if self.surnames:
            for word, start, end in tokens:
                found = self.surnames.get(word)
                if found is not None:
                    for index in (found,) if isinstance(found, int) else found:
                        yield NameHit(index, start, end, False, surname=True)
        for start, end in variant.joined:
            yield from self._glued(text, start, end)
        if text.isascii():
            return
        if variant.name in _NATIVE_VARIANTS and self.native:
            native = [(m.group(), m.start(), m.end()) for m in _NATIVE_TOKEN.finditer(text)]
            if near:
                native = [
                    t
                    for t in native
                    if any(s - _NEAR <= t[1] and t[2] <= e + _NEAR for s, e in variant.joined)
                ]
            yield from self._tokens(native, self.native, fuzzy=False)
        if self._cjk is not None and variant.name in _CJK_VARIANTS:
            for end, (size, values) in self._cjk.iter(text):  # type: ignore[attr-defined]
                for index, common in values:
                    yield NameHit(index, end + 1 - size, end + 1, common)

    def _tokens(
        self, tokens: list[tuple[str, int, int]], table: dict[str, int | list[int]], *, fuzzy: bool
    ) -> Iterator[NameHit]:
        words = [t[0] for t in tokens]
        matched_at: set[int] = set()
        heads = self.heads
        for i in range(len(words)):
            if words[i] not in heads:
                continue
            key = ""
            for size in range(1, min(_MAX_TOKENS, len(words) - i) + 1):
                if size > 2 and key not in self.prefixes:
                    break
                key = words[i] if size == 1 else f"{key} {words[i + size - 1]}"
                found = table.get(key)
                if found is None:
                    continue
                matched_at.update(range(i, i + size))
                common = key in self.common
                for index in (found,) if isinstance(found, int) else found:
                    yield NameHit(index, tokens[i][1], tokens[i + size - 1][2], common)
        if not fuzzy:
            return
        for i in range(len(words) - 1):
            if i in matched_at or i + 1 in matched_at:
                continue
            a, b = words[i], words[i + 1]
            if len(a) + len(b) < 8 or len(a) < 2 or len(b) < 2:
                continue
            for index in self._near(a, b):
                yield NameHit(index, tokens[i][1], tokens[i + 1][2], False, fuzzy=True)

    def _near(self, a: str, b: str) -> set[int]:
        """Two-word names with ``a`` exact and ``b`` one edit away, or the other way round; the
        exact word must have four letters or more, so short common words do not anchor."""
        found: set[int] = set()
        for exact, other, table in ((a, b, self.first), (b, a, self.last)):
            if len(exact) < 4 or len(other) < 4:
                continue
            by_length = table.get(exact)
            if by_length is None:
                continue
            for size in (len(other) - 1, len(other), len(other) + 1):
                for candidate, index in by_length.get(size, ()):
                    if one_edit(other, candidate):
                        found.add(index)
        return found

    def _glue(self) -> None:
        """The names of eight letters or more with their spaces removed, for prompts that spell
        a name out letter by letter; built on the first such prompt, not at start-up."""
        with _LOCK:
            if self._glued_built:
                return
            for key, found in self.latin.items():
                n = key.count(" ") + 1
                if n < 2 or key in self.common or len(key) - n + 1 < 8:
                    continue
                glued = key.replace(" ", "")
                for index in (found,) if isinstance(found, int) else found:
                    _put(self.glued, glued, index)
                self.glued_heads.add(glued[:4])
            self._glued_built = True

    def _glued(self, text: str, start: int, end: int) -> Iterator[NameHit]:
        if not self._glued_built:
            self._glue()
        heads = self.glued_heads
        for i in range(start, end - 7):
            if text[i : i + 4] not in heads:
                continue
            for j in range(i + 8, min(end, i + 40) + 1):
                found = self.glued.get(text[i:j])
                if found is not None:
                    for index in (found,) if isinstance(found, int) else found:
                        yield NameHit(index, i, j, False)


def _put(table: dict[str, int | list[int]], key: str, index: int) -> None:
    """Add ``index`` under ``key`` beside the entries already there."""
    found = table.get(key)
    if found is None:
        table[key] = index
    elif isinstance(found, int):
        if found != index:
            table[key] = [found, index]
    elif index not in found:
        found.append(index)


@dataclass(frozen=True)
class RegistryUpdate:
    """What ``compile_people_list`` wrote."""

    source: Path
    out: Path
    people: int
    artists: int
    keys: int


_COLUMNS = ("name", "aliases", "kind", "born", "died", "country")


def compile_people_list(source: Path, out: Path) -> RegistryUpdate:
    """Turn an operator's list of people into a registry file a policy can name in ``data``.

    ``source`` is a tab-separated file with a header naming some of the columns ``name``
    (required), ``aliases`` (``|``-separated spellings, in any script), ``kind`` (``person``, the
    default, or ``artist``), ``born``, ``died`` (years) and ``country``.  Names are folded exactly
    as the bundled registry's are; the result is checked by reading it back before it replaces
    ``out``.  A bad row is an ``InputError`` naming the file and line."""
    from hallmark.errors import InputError

    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read people list {source} ({e.__class__.__name__})") from e
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    header = lines[0].split("\t") if lines else []
    unknown = [c for c in header if c not in _COLUMNS]
    if "name" not in header or unknown:
        raise InputError(
            f"{source}:1: the header must name `name` and only {', '.join(_COLUMNS)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    rows: list[str] = []
    counts = {"P": 0, "T": 0}
    keys = 0
    for number, line in enumerate(lines[1:], 2):
        row = dict(zip(header, (f.strip() for f in line.split("\t")), strict=False))
        # An operator's artists are named ones: their name alone invokes the style.
        kind = {"person": "P", "": "P", "artist": "T"}.get(row.get("kind", "").lower())
        years = [row.get("born", ""), row.get("died", "")]
        if kind is None or any(y and not y.lstrip("-").isdigit() for y in years) or not row.get("name"):
            raise InputError(f"{source}:{number}: want a name, kind person or artist, and years as numbers")
        names = [row["name"], *(a for a in row.get("aliases", "").split("|") if a.strip())]
        found = list(dict.fromkeys(f"{k}{key}" for n in names for k, key in name_keys(n.strip())))
        if not found:
            raise InputError(f"{source}:{number}: the name has no letters to match")
        counts[kind] += 1
        keys += len(found)
        country = row.get("country", "").replace("\t", " ") or "unknown"
        rows.append("\t".join((kind, years[0], years[1], country, row["name"], "|".join(found))))
    body = f"# operator list compiled by hallmark from {source.name}\n" + "".join(f"{r}\n" for r in rows)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_bytes(gzip.compress(body.encode("utf-8"), mtime=0))
        Registry().read(tmp)  # what a policy will read, checked before it replaces the old file
        tmp.replace(out)
    except OSError as e:
        raise InputError(f"cannot write {out} ({e.__class__.__name__})") from e
    finally:
        tmp.unlink(missing_ok=True)
    with _LOCK:
        _LOADED.clear()  # a process that reads it again sees the new list
    return RegistryUpdate(source, out, counts["P"], counts["T"], keys)


def bundled_registry() -> Path:
    """The registry file shipped in the package."""
    import importlib.resources

    return Path(str(importlib.resources.files("hallmark.policies"))) / "data" / "people.tsv.gz"
