"""Edit-intent rules: prompt categories that apply only when a real image is edited.

"remove her clothes" or "put a gun in his hand" ask nothing of a text-to-image model that the
prompt policy would not judge, but said of a photo of someone they ask for non-consensual intimate
imagery or a defamatory fake.  The policy lists them under ``edit.categories`` in the same form as
the prompt categories; ``EditIntentFilter`` runs their detectors on the same normalised variants
and adds its findings to the prompt decision, the strongest action winning.
"""

from __future__ import annotations

import dataclasses
import threading

from hallmark.errors import GuardrailError
from hallmark.policies import Policy

from ._detectors import DETECTORS, Hit, Prepared, PromptDetector
from ._types import Action, CheckStatus, DetectorStatus, Finding, PromptDecision

_CACHE: dict[str, EditIntentFilter] = {}
_LOCK = threading.Lock()


class EditIntentFilter:
    """Judges an edit's prompt by the policy's edit-only categories.  Build with ``from_policy``."""

    def __init__(self, policy: Policy, detectors: list[PromptDetector]) -> None:
        self.policy = policy
        self.detectors = detectors

    @classmethod
    def from_policy(cls, policy: Policy) -> EditIntentFilter:
        """The filter for ``policy`` (one per policy digest and process)."""
        with _LOCK:
            cached = _CACHE.get(policy.digest)
            if cached is None:
                by_kind: dict[str, list[tuple[str, object]]] = {}
                if policy.edit.enabled:
                    for category, cat in policy.edit.categories.items():
                        if cat.enabled:
                            for cfg in cat.detectors:
                                by_kind.setdefault(cfg.type, []).append((category, cfg))
                cached = cls(policy, [DETECTORS.get(k)(c) for k, c in by_kind.items()])
                _CACHE[policy.digest] = cached
            return cached

    def findings(self, prompt: str) -> list[Finding]:
        """The edit-only findings for ``prompt``, one per rule and span."""
        prepared = Prepared.of(prompt)
        hits: list[Hit] = []
        for detector in self.detectors:
            try:
                hits.extend(detector.analyze(prepared))
            except GuardrailError:
                raise
            except Exception as e:  # a detector bug must not let an edit through
                raise GuardrailError(f"edit detector {detector.name} failed ({e.__class__.__name__})") from e
        seen: set[tuple[str, tuple[int, int]]] = set()
        out = []
        for h in hits:
            if (h.rule_id, h.span) in seen:
                continue
            seen.add((h.rule_id, h.span))
            cat = self.policy.edit.categories[h.category]  # type: ignore[index]
            out.append(
                Finding(
                    rule_id=f"edit.{h.rule_id}",
                    category=h.category,
                    detector=h.detector,
                    action=Action(cat.actions.for_severity(h.severity)),
                    score=h.score,
                    span=h.span,
                    matched=prompt[h.span[0] : h.span[1]],
                    explanation=f"{h.detector} match of edit rule {h.rule_id} (applies to edits of an image)",
                    severity=h.severity,
                )
            )
        return out

    def evaluate(self, prompt: str, decision: PromptDecision) -> PromptDecision:
        """``decision`` (the prompt policy's, for the same prompt) with the edit-only findings
        added and its action raised to the strongest of them."""
        found = self.findings(prompt)
        status = DetectorStatus(
            "edit_intent",
            CheckStatus.CHECKED if self.detectors else CheckStatus.NOT_CHECKED,
            "" if self.detectors else "no edit category enabled by policy",
        )
        findings = tuple(
            sorted((*decision.findings, *found), key=lambda f: (-f.action.severity, f.span or (0, 0)))
        )
        return dataclasses.replace(
            decision,
            action=Action.strongest([decision.action, *(f.action for f in found)]),
            findings=findings,
            detectors=(*decision.detectors, status),
        )
