"""The ``people`` detector: real people and roles in context, and artists by copyright status.

A real person named in a prompt is a finding whose severity depends on what else the prompt
says: alone (``severity``), beside a harm word such as "arrested" or "prison"
(``harm_severity``), beside a sexual word (a second finding, in the ``sexual`` category, so
that it blocks under every profile), or a deceased person alone (``deceased_severity``).  Roles
("the pope", "the president of France", "法国总统") count as living people.  An artist counts
only where the prompt invokes their style ("in the style of X", "by X", "X-inspired"), and
only while their work is protected in the policy's jurisdiction.  Every finding names the
person, the context and the rule.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from hallmark.policies import PeopleDetector as PeopleConfig

from ._hits import Hit, Prepared
from ._normalise import Variant
from ._people import Entry, NameHit, Registry, bundled_registry, name_keys
from ._terms import PhraseIndex
from ._types import CheckStatus, DetectorStatus

_CUE = (
    r"(?:\b(?:style|manner|vein|spirit|school|aesthetic)\s+of|\b(?:by|after|like|inspired\s+by|influenced\s+by"
    r"|a\s+la|à\s+la|imitating|mimicking|channeling|channelling)|\bstyle:?)"
)
# A cue right before the name, or before a list of names that ends with it ("by X and Y").
_STYLE_BEFORE = re.compile(rf"{_CUE}\s*(?:[^,.;:!?]{{1,40}}?\s*(?:,|\band\b|&)\s*)?$", re.IGNORECASE)
_STYLE_AFTER = re.compile(
    r"^(?:\s*-?\s*(?:style|styled|esque|inspired|like|type)\b|['’]s?\s+(?:\w+\s+)?(?:style|art|artwork|work|works"
    r"|painting|paintings|aesthetic|technique|brushwork|palette|illustration|illustrations|manner))",
    re.IGNORECASE,
)
# Without one of these anywhere no artist is invoked (a cheap test before the per-name ones).
_ANY_CUE = re.compile(
    r"\b(?:style|styled|manner|vein|spirit|school|aesthetic|by|after|like|inspired|influenced|la|imitating"
    r"|mimicking|channel+ing|esque|type)\b|['’]|-",
    re.IGNORECASE,
)
# "Warhol's soup cans": a possessive counts where the prompt speaks of art.
_POSSESSIVE = re.compile(r"^['’]s?\b")
_ART_WORDS = re.compile(
    r"\b(?:art|artwork|artworks|painting|paintings|painted|prints?|style|brushstrokes?|canvas|portraits?"
    r"|illustrations?|colou?rs|composition|sculptures?|posters?|drawings?|sketch(?:es)?|masterpieces?)\b",
    re.IGNORECASE,
)
# Two capitalised words, the first a known given name: a person's name even when the registry
# does not hold the person ("Amelia Quartermaine at a rally").
_PARTICLE = r"(?:(?:van|von|de|da|di|del|der|den|du|dos|das|le|la|ter|ten|bin|ibn|al|el)\s+)?"
_NAME_SHAPE = re.compile(
    rf"(?<![^\W\d_])([^\W\d_][^\W\d_]+)\s+({_PARTICLE}(?:[^\W\d_]\.\s*)?[^\W\d_][^\W\d_'’-]+)", re.IGNORECASE
)
# Three capitalised Cyrillic words, the last a patronymic ("Иванов Сергей Петрович"): the way
# Russian, Ukrainian, Belarusian and Central Asian records write a person's full name.
_PATRONYMIC = re.compile(
    r"(?<![^\W\d_])(?:[А-ЯЁІЇЄҐЎҚҒҲ][а-яёіїєґўқғҳʼ'’-]+\s+){2}[А-ЯЁІЇЄҐЎҚҒҲ][а-яёіїєґўқғҳʼ'’-]*"
    r"(?:ович|евич|євич|йович|ьович|ич|овна|евна|івна|ївна|ична|инична)(?![^\W\d_])"
)
# How far a cue may stand from the name in characters.
_CUE_WINDOW = 90


@dataclass
class _Context:
    harm: str = ""
    sexual: str = ""
    cue: str = ""


@dataclass(frozen=True)
class _Found:
    """One registry entry found at one span of the original prompt."""

    entry: Entry
    span: tuple[int, int]
    variant: str
    variant_span: tuple[int, int]
    common: bool
    fuzzy: bool
    surname: bool


class PeopleDetector:
    """Every ``people`` configuration of a policy over one shared registry."""

    name = "people"

    def __init__(self, configs: list[tuple[str, object]]) -> None:
        self.configs = [(category, cast(PeopleConfig, cfg)) for category, cfg in configs]
        paths: list[Path] = []
        for _, cfg in self.configs:
            for item in cfg.data:
                path = bundled_registry() if item == "bundled" else Path(item)
                if path not in paths:
                    paths.append(path)
        self.registry = Registry.load(tuple(paths))
        self.year = datetime.datetime.now(datetime.UTC).year
        self.context: PhraseIndex[str] = PhraseIndex()
        self.roles: PhraseIndex[str] = PhraseIndex()
        self.opt_out: set[str] = set()
        self.allowed: set[str] = set()
        for _, cfg in self.configs:
            self.context.extend(cfg.harm, "harm")
            self.context.extend(cfg.sexual, "sexual")
            self.context.extend(cfg.cues, "cue", inflections=False)
            self.roles.extend(cfg.roles, "role", inflections=False)
            self.opt_out |= {k for n in cfg.opt_out for _, k in name_keys(n)}
            self.allowed |= {k for n in cfg.allow_names for _, k in name_keys(n)}
        # Opt-out names the registry may not hold are found as living artists.
        self.extra = Registry()
        for name in (n for _, cfg in self.configs for n in cfg.opt_out):
            keys = [f"{kind}{key}" for kind, key in name_keys(name)]
            if keys:
                self.extra.add(Entry("T", name, None, None, "opt-out"), keys)
        self.extra.finish()

    def status(self) -> DetectorStatus:
        return DetectorStatus(self.name, CheckStatus.CHECKED)

    # -- finding ----------------------------------------------------------------------------

    def analyze(self, prepared: Prepared) -> list[Hit]:
        found = self._names(prepared)
        prompt = prepared.original
        texts = {v.name: v.text for v in prepared.variants}
        context = self._context(prepared)
        roles = self._roles(prepared)
        hits: list[Hit] = []
        for category, cfg in self.configs:
            rule = f"{category}.{cfg.id}"
            if cfg.kind == "artist":
                hits += self._artists(texts, found, rule, category, cfg)
            else:
                hits += self._people(prompt, found, roles, context, rule, category, cfg)
        return hits

    def _names(self, prepared: Prepared) -> list[_Found]:
        seen: dict[tuple[int, tuple[int, int]], _Found] = {}
        for v in prepared.variants:
            for registry, h in self._search(v):
                span = v.original_span(h.start, h.end)
                entry = registry.entries[h.entry]
                key = (id(entry), span)
                if key not in seen or seen[key].fuzzy and not h.fuzzy:
                    seen[key] = _Found(entry, span, v.name, (h.start, h.end), h.common, h.fuzzy, h.surname)
        return list(seen.values())

    def _search(self, variant: Variant) -> Iterator[tuple[Registry, NameHit]]:
        for registry in (self.registry, self.extra):
            for h in registry.search(variant):
                yield registry, h

    def _context(self, prepared: Prepared) -> _Context:
        ctx = _Context()
        for v in prepared.variants:
            for kind, term, _, _ in self.context.search(v):
                if not getattr(ctx, kind):
                    setattr(ctx, kind, term)
        return ctx

    def _roles(self, prepared: Prepared) -> list[tuple[str, tuple[int, int], str, tuple[int, int]]]:
        out: dict[tuple[int, int], tuple[str, tuple[int, int], str, tuple[int, int]]] = {}
        for v in prepared.variants:
            for _, term, start, end in self.roles.search(v):
                span = v.original_span(start, end)
                out.setdefault(span, (term, span, v.name, (start, end)))
        return [
            r for r in out.values() if not any(o[0] <= r[1][0] and r[1][1] <= o[1] and o != r[1] for o in out)
        ]

    # -- people -----------------------------------------------------------------------------

    def _shaped(self, prompt: str, taken: set[tuple[int, int]]) -> list[tuple[str, tuple[int, int]]]:
        out = []
        given = self.registry.given
        covered = bytearray(len(prompt) + 1)
        for s, e in taken:
            covered[s:e] = b"\x01" * (e - s)
        for m in _NAME_SHAPE.finditer(prompt):
            first, last = m.group(1), m.group(2).split()[-1]
            if not (first[0].isupper() and first[1:].islower() and last[0].isupper() and not last.isupper()):
                continue
            if first.lower() not in given or any(covered[m.start() : m.end()]):
                continue
            if re.sub(r"['’]s?$", "", last.lower()) in self.registry.everyday:
                continue
            if _invoked(prompt, (m.start(), m.end())):
                continue  # an artist the registry does not hold: not judged for copyright
            out.append((first, (m.start(), m.end())))
        for m in _PATRONYMIC.finditer(prompt):
            if not any(covered[m.start() : m.end()]) and not any(
                m.start() < e and s < m.end() for _, (s, e) in out
            ):
                out.append((m.group().split()[1], (m.start(), m.end())))
        return out

    def _people(
        self,
        prompt: str,
        found: list[_Found],
        roles: list[tuple[str, tuple[int, int], str, tuple[int, int]]],
        ctx: _Context,
        rule: str,
        category: str,
        cfg: PeopleConfig,
    ) -> list[Hit]:
        hits: list[Hit] = []
        spans: set[tuple[int, int]] = set()
        for f in sorted(found, key=lambda f: (f.fuzzy, f.surname)):
            entry = f.entry
            if f.surname or f.span in spans:
                continue
            if entry.kind in "AT" and not (ctx.harm or ctx.sexual):
                continue  # an artist's name alone is the copyright rule's business
            if f.common and not (ctx.cue or ctx.harm or ctx.sexual):
                continue  # "Paris", "Grace", "Trump" alone: also everyday words
            spans.add(f.span)
            who = _describe(entry, f.fuzzy)
            deceased = entry.died is not None or entry.born is not None and entry.born < self.year - 110
            hits += self._person_hits(
                who, deceased, f.span, f.variant, f.variant_span, ctx, rule, category, cfg
            )
        for first, span in self._shaped(prompt, spans | {f.span for f in found}):
            who = f"a name-shaped phrase with the given name {first} (a person the registry does not hold)"
            hits += self._person_hits(who, False, span, "unicode", span, ctx, rule, category, cfg)
        for term, span, variant, vspan in roles:
            if any(s < span[1] and span[0] < e for s, e in spans):
                continue
            who = f"a real person by role ({term})"
            hits += self._person_hits(who, False, span, variant, vspan, ctx, rule, category, cfg)
        return hits

    def _person_hits(
        self,
        who: str,
        deceased: bool,
        span: tuple[int, int],
        variant: str,
        vspan: tuple[int, int],
        ctx: _Context,
        rule: str,
        category: str,
        cfg: PeopleConfig,
    ) -> list[Hit]:
        c = cfg
        if ctx.harm:
            severity, why = c.harm_severity, f"with harm context '{ctx.harm}'"
        elif deceased:
            severity, why = c.deceased_severity, "deceased, no harmful context"
        else:
            severity, why = c.severity, "depicted without harmful context"
        hits = [
            Hit(
                rule,
                category,
                self.name,
                severity,
                span,
                who,
                variant,
                kind="public_figure",
                variant_span=vspan,
                note=f"{who}, {why}",
            )
        ]
        if ctx.sexual:
            sexual_rule = f"{c.sexual_category}.{c.id}_sexual"
            hits.append(
                Hit(
                    sexual_rule,
                    c.sexual_category,
                    self.name,
                    c.sexual_severity,
                    span,
                    who,
                    variant,
                    kind="public_figure",
                    variant_span=vspan,
                    note=f"{who} with sexual context '{ctx.sexual}' (non-consensual intimate imagery)",
                )
            )
        return hits

    # -- artists ----------------------------------------------------------------------------

    def _artists(
        self, texts: dict[str, str], found: list[_Found], rule: str, category: str, cfg: PeopleConfig
    ) -> list[Hit]:
        by_span: dict[tuple[int, int], list[_Found]] = {}
        cue = any(_ANY_CUE.search(text) for text in texts.values())
        invoked: dict[tuple[str, tuple[int, int]], bool] = {}
        for f in found:
            if f.entry.kind not in "AT" or f.fuzzy and f.variant_span[1] - f.variant_span[0] < 12:
                continue  # one letter from another artist's short name is too often someone else
            # A collection's artist, or a name that is also a word ("a Moebius strip"), counts
            # where the prompt invokes the style.
            if f.entry.kind == "A" or f.common:
                where = (f.variant, f.variant_span)
                if where not in invoked:
                    invoked[where] = cue and _invoked(texts[f.variant], f.variant_span)
                if not invoked[where]:
                    continue
            by_span.setdefault(f.span, []).append(f)
        hits = []
        taken: list[tuple[int, int]] = []
        for span in sorted(by_span, key=lambda s: (s[0], -s[1])):
            if any(a <= span[0] and span[1] <= b for a, b in taken):
                continue
            group = by_span[span]
            statuses = [(self._status(f.entry, cfg), f) for f in group]
            statuses = [(s, f) for s, f in statuses if s != "allowed"]
            if not statuses:
                continue
            surname = all(f.surname for _, f in statuses)
            protected = [(s, f) for s, f in statuses if s != "public domain"]
            # A surname shared by protected and public-domain artists names neither for sure.
            if not protected or surname and len(protected) != len(statuses):
                continue
            status, f = protected[0]
            entry = f.entry
            taken.append(span)
            who = _describe(entry, f.fuzzy)
            note = (
                f"artist {who}: work {status} ({cfg.jurisdiction}, life + {cfg.term()} years); style invoked"
            )
            hits.append(
                Hit(
                    rule,
                    category,
                    self.name,
                    cfg.severity,
                    span,
                    entry.name,
                    f.variant,
                    kind="artist",
                    variant_span=f.variant_span,
                    note=note,
                )
            )
        return hits

    def _status(self, entry: Entry, cfg: PeopleConfig) -> str:
        keys = {k for _, k in name_keys(entry.name)}
        if keys & self.allowed:
            return "allowed"
        if keys & self.opt_out:
            return "protected (opted out)"
        if entry.died is not None:
            return "in copyright" if self.year <= entry.died + cfg.term() else "public domain"
        if entry.born is not None and entry.born > self.year - 100:
            return "in copyright (living)"
        unknown = cfg.unknown_status
        return "in copyright (dates unknown)" if unknown == "protected" else "public domain"


_CUE_WORDS = frozenset(
    {"by", "after", "like", "la", "imitating", "mimicking", "channeling", "channelling", "style"}
)
_OF_WORDS = frozenset({"style", "manner", "vein", "spirit", "school", "aesthetic"})
_WORD = re.compile(r"[^\W\d_]+")


def _invoked(prompt: str, span: tuple[int, int]) -> bool:
    """Whether the prompt invokes the style of the name at ``span``: a cue right before it ("in
    the style of", "by", "after"), before a list that ends with it, or after it ("-inspired",
    "'s style"), or a possessive in a prompt about art."""
    near = prompt[max(0, span[0] - 30) : span[0]]
    words = _WORD.findall(near.lower())[-2:]
    if words and (words[-1] in _CUE_WORDS or words[-1] == "of" and len(words) == 2 and words[0] in _OF_WORDS):
        return True
    if words and words[-1] == "and" or near.rstrip().endswith((",", "&")):
        if _STYLE_BEFORE.search(prompt[max(0, span[0] - _CUE_WINDOW) : span[0]]):
            return True
    after = prompt[span[1] : span[1] + _CUE_WINDOW]
    if _STYLE_AFTER.match(after):
        return True
    return bool(_POSSESSIVE.match(after) and _ART_WORDS.search(prompt))


def _describe(entry: Entry, fuzzy: bool) -> str:
    parts = [] if entry.country in ("", "unknown", "opt-out") else [entry.country.replace("_", " ")]
    if entry.born or entry.died:
        parts.append(f"{entry.born or '?'}–{entry.died or ''}")
    detail = f" ({', '.join(parts)})" if parts else ""
    spelled = " (spelled one letter differently)" if fuzzy else ""
    return f"{entry.name}{detail}{spelled}"
