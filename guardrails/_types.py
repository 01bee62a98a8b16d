"""Results shared by the prompt filter and the image classifier.

They are frozen and explain themselves: every finding names the rule, category, detector,
score and the matched span of the *original* prompt.  A check that did not run is an explicit
``CheckStatus.NOT_CHECKED``, never ``None``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from hallmark.checks import CheckStatus


class Action(enum.Enum):
    """What to do with a prompt or an image, ordered by severity."""

    ALLOW = "allow"
    REWRITE = "rewrite"
    FLAG = "flag"
    BLUR = "blur"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _ACTION_ORDER[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return self.severity < other.severity

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return self.severity <= other.severity

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return self.severity > other.severity

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return self.severity >= other.severity

    @classmethod
    def strongest(cls, actions: list[Action] | tuple[Action, ...]) -> Action:
        return max(actions, default=cls.ALLOW)


_ACTION_ORDER = {a: i for i, a in enumerate(Action)}


@dataclass(frozen=True)
class Finding:
    """One reason behind a decision."""

    rule_id: str
    category: str
    detector: str
    action: Action
    score: float = 1.0
    span: tuple[int, int] | None = None  # [start, end) in the original prompt
    matched: str | None = None  # the original text of the span (never logged for PII)
    explanation: str = ""
    severity: str | None = None  # low | medium | high where the category has levels

    def to_dict(self, *, redact: bool = False) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "category": self.category,
            "detector": self.detector,
            "action": self.action.value,
            "score": round(float(self.score), 4),
            "span": list(self.span) if self.span else None,
            "matched": None if redact else self.matched,
            "explanation": self.explanation,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class DetectorStatus:
    """Whether one detector ran on a prompt, and why not if it did not."""

    detector: str
    state: CheckStatus
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"detector": self.detector, "state": self.state.value, "reason": self.reason}


@dataclass(frozen=True)
class PromptDecision:
    """The policy's answer for one prompt.

    ``prompt_out`` is what the generator receives (equal to the input unless rewritten or
    truncated); ``redacted_prompt`` replaces PII spans by ``<ENTITY_TYPE>`` and is what the audit
    log may keep; ``negative_prompt_out`` includes the policy's safety negative prompt.
    """

    action: Action
    findings: tuple[Finding, ...]
    prompt_out: str
    redacted_prompt: str
    negative_prompt_out: str | None = None
    state: CheckStatus = CheckStatus.CHECKED
    detectors: tuple[DetectorStatus, ...] = ()
    policy_id: str = ""
    policy_digest: str = ""

    @property
    def blocked(self) -> bool:
        return self.action is Action.BLOCK

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({f.category for f in self.findings}))

    def to_dict(self, *, redact: bool = True) -> dict[str, Any]:
        """A JSON-ready summary. With ``redact`` (the default) no raw prompt text appears."""
        out: dict[str, Any] = {
            "action": self.action.value,
            "state": self.state.value,
            "categories": list(self.categories),
            "findings": [f.to_dict(redact=redact) for f in self.findings],
            "detectors": [d.to_dict() for d in self.detectors],
            "redacted_prompt": self.redacted_prompt,
            "policy_id": self.policy_id,
            "policy_digest": self.policy_digest,
        }
        if not redact:
            out["prompt_out"] = self.prompt_out
            out["negative_prompt_out"] = self.negative_prompt_out
        return out


@dataclass(frozen=True)
class ImageVerdict:
    """The image classifier's answer for one image.  ``categories`` says, for every category,
    whether a backend checked it: an allowed image was allowed only on the ``checked`` ones."""

    action: Action
    scores: dict[str, float] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    state: CheckStatus = CheckStatus.CHECKED
    classifier: str = ""
    reason: str = ""
    categories: dict[str, CheckStatus] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return self.action is Action.BLOCK

    @property
    def not_checked(self) -> tuple[str, ...]:
        """The categories no backend looked at."""
        return tuple(c for c, s in self.categories.items() if s is not CheckStatus.CHECKED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "state": self.state.value,
            "classifier": self.classifier,
            "scores": {k: round(float(v), 4) for k, v in self.scores.items()},
            "findings": [f.to_dict() for f in self.findings],
            "reason": self.reason,
            "categories": {c: s.value for c, s in self.categories.items()},
        }
