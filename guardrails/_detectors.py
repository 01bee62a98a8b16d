"""Prompt detectors: one protocol, one explicit registry.

A detector kind is built once per policy from every configuration of that kind (all categories
at once, so word lists share one index) and then ``analyze``s prepared prompts, returning hits
that name their rule, category, severity and the span in the *original* prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hallmark.errors import GuardrailError
from hallmark.policies import ALWAYS_BLOCK, Policy
from hallmark.registry import Registry

from ._hits import Hit, Prepared
from ._terms import PhraseIndex
from ._types import CheckStatus, DetectorStatus

if TYPE_CHECKING:
    from ._semantic import Concept


class PromptDetector(Protocol):
    """What every prompt detector kind offers."""

    name: str

    def analyze(self, prepared: Prepared) -> list[Hit]: ...

    def status(self) -> DetectorStatus: ...


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    category: str
    severity: str
    kind: str = ""


class _IndexDetector:
    """Shared body of ``terms`` and ``names``: a phrase index over every list of the kind."""

    name = ""

    def __init__(self, configs: list[tuple[str, object]]) -> None:
        self.index: PhraseIndex[_Rule] = PhraseIndex()
        for category, cfg in configs:
            rule = _Rule(f"{category}.{cfg.id}", category, cfg.severity, getattr(cfg, "kind", ""))  # type: ignore[attr-defined]
            inflect = getattr(cfg, "inflections", self.name == "terms")
            self.index.extend(cfg.terms, rule, inflections=inflect)  # type: ignore[attr-defined]

    def analyze(self, prepared: Prepared) -> list[Hit]:
        if not self.index:
            return []
        hits = []
        for v in prepared.variants:
            for rule, term, start, end in self.index.search(v):
                hits.append(
                    Hit(
                        rule.rule_id,
                        rule.category,
                        self.name,
                        rule.severity,
                        v.original_span(start, end),
                        term,
                        v.name,
                        kind=rule.kind,
                        variant_span=(start, end),
                    )
                )
        return hits

    def status(self) -> DetectorStatus:
        return DetectorStatus(self.name, CheckStatus.CHECKED)


class TermsDetector(_IndexDetector):
    name = "terms"


class NamesDetector(_IndexDetector):
    name = "names"


class RegexDetector:
    name = "regex"

    def __init__(self, configs: list[tuple[str, object]]) -> None:
        self.rules: list[tuple[_Rule, re.Pattern[str]]] = []
        for category, cfg in configs:
            rule = _Rule(f"{category}.{cfg.id}", category, cfg.severity)  # type: ignore[attr-defined]
            for pattern in cfg.patterns:  # type: ignore[attr-defined]
                self.rules.append((rule, re.compile(pattern, re.IGNORECASE)))

    def analyze(self, prepared: Prepared) -> list[Hit]:
        hits = []
        for v in prepared.variants:
            for rule, pattern in self.rules:
                for m in pattern.finditer(v.text):
                    if m.end() > m.start():
                        hits.append(
                            Hit(
                                rule.rule_id,
                                rule.category,
                                self.name,
                                rule.severity,
                                v.original_span(m.start(), m.end()),
                                pattern.pattern,
                                v.name,
                                variant_span=(m.start(), m.end()),
                            )
                        )
        return hits

    def status(self) -> DetectorStatus:
        return DetectorStatus(self.name, CheckStatus.CHECKED)


class SemanticDetector:
    """all-MiniLM-L6-v2 sentence embeddings of the prompt, scored per rule.

    A rule with concepts hits when the prompt's best concept reaches the rule's threshold and is
    closer than every one of the rule's contrast concepts (harmless neighbours); a rule with a
    classifier hits when its probability reaches the threshold.  Each rule hits at most once per
    prompt; one embedding per prompt serves every rule of every category.
    """

    name = "semantic"

    def __init__(self, configs: list[tuple[str, object]]) -> None:
        from ._semantic import Concept, ConceptMatcher, Head

        concepts, heads = [], []
        for category, cfg in configs:
            rule = f"{category}.{cfg.id}"  # type: ignore[attr-defined]
            severity, threshold = cfg.severity, cfg.threshold  # type: ignore[attr-defined]
            head = cfg.classifier  # type: ignore[attr-defined]
            if head is not None:
                source = cfg.classifier_file or "inline"  # type: ignore[attr-defined]
                heads.append(Head(rule, category, severity, threshold, head.weights, head.bias, source))
            concepts += [Concept(rule, category, severity, t, threshold) for t in cfg.concepts]  # type: ignore[attr-defined]
            concepts += [
                Concept(rule, category, severity, t, threshold, contrast=True)
                for t in cfg.except_concepts  # type: ignore[attr-defined]
            ]
        self.matcher = ConceptMatcher(concepts, heads)

    def analyze(self, prepared: Prepared) -> list[Hit]:
        variant = next((v for v in prepared.variants if v.name == "folded"), prepared.variants[0])
        # Allowed phrases are cut out rather than the hit dropped: "a self harm awareness ribbon"
        # is read as "a ribbon", and an allowed phrase added to a real request does not hide it.
        spans = [(s, e) for _, _, s, e in prepared.allow.search(variant)] if prepared.allow else []
        text = _cut(variant.text, spans)
        if not _mostly_latin(text):
            return []  # the model reads English; other scripts are left to their word lists
        sims, probs = self.matcher.scores(text)
        best: dict[str, tuple[float, Concept]] = {}
        contrast: dict[str, float] = {}
        for concept, score in sims:
            if concept.contrast:
                contrast[concept.rule_id] = max(score, contrast.get(concept.rule_id, -1.0))
            elif score > best.get(concept.rule_id, (-1.0, concept))[0]:
                best[concept.rule_id] = (score, concept)
        found = [
            (c.rule_id, c.category, c.severity, f"the concept '{c.text}' (cosine {score:.2f})", score)
            for score, c in best.values()
            if score >= c.threshold and score > contrast.get(c.rule_id, -1.0)
        ]
        found += [
            (h.rule_id, h.category, h.severity, f"the classifier {h.source} (probability {p:.2f})", p)
            for h, p in probs
            if p >= h.threshold
        ]
        whole, span = (0, len(prepared.original)), (0, len(variant.text))
        return [
            Hit(
                rule,
                cat,
                self.name,
                sev,
                whole,
                why,
                variant.name,
                score,
                variant_span=span,
                note=f"semantic match by {why}",
            )
            for rule, cat, sev, why, score in found
        ]

    def status(self) -> DetectorStatus:
        return self.matcher.status()


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with every span (overlapping or not) replaced by one space."""
    kept, at = [], 0
    for start, end in sorted(spans):
        if start > at:
            kept.append(text[at:start])
        at = max(at, end)
    kept.append(text[at:])
    return " ".join(kept) if spans else text


def _mostly_latin(text: str) -> bool:
    """Whether at least half of the letters are Latin (all-MiniLM-L6-v2 was trained on English:
    on Chinese or Japanese text its vectors mean little, and it flagged noodle soup)."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and 2 * sum(c < "\u0250" for c in letters) >= len(letters)


DetectorFactory = Callable[[list[tuple[str, object]]], PromptDetector]
DETECTORS: Registry[DetectorFactory] = Registry(
    "detector", error=GuardrailError, hint="Use one of the known detector types in the policy."
)
DETECTORS.register("terms", TermsDetector)
DETECTORS.register("names", NamesDetector)
DETECTORS.register("regex", RegexDetector)
DETECTORS.register("semantic", SemanticDetector)


def _people(configs: list[tuple[str, object]]) -> PromptDetector:
    from ._figures import PeopleDetector

    return PeopleDetector(configs)


DETECTORS.register("people", _people)


def build_detectors(policy: Policy) -> list[PromptDetector]:
    """One detector per kind used by the policy's enabled categories.

    With the prompt stage disabled only ``sexual_minors`` is built: that category is never
    switched off, not even by disabling the whole stage."""
    by_kind: dict[str, list[tuple[str, object]]] = {}
    for category, cat in policy.prompt.categories.items():
        if not cat.enabled or (not policy.prompt.enabled and category != ALWAYS_BLOCK):
            continue
        for cfg in cat.detectors:
            by_kind.setdefault(cfg.type, []).append((category, cfg))
    detectors = []
    for kind, configs in by_kind.items():
        detectors.append(DETECTORS.get(kind)(configs))
    return detectors
