"""What a request produced: released and withheld images, the prompt decision, timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hallmark.guardrails import ImageVerdict, PromptDecision


@dataclass(frozen=True)
class ReleasedImage:
    """An image that passed every stage and was written under its final name."""

    record_id: str
    path: Path
    sha256: str
    payload: str | None  # hex, None when the watermark stage was skipped
    scheme_id: str | None
    verdict: ImageVerdict
    audit_index: int
    timings_ms: dict[str, float]
    # The mark reads back from the released file; False when the watermark was skipped or the
    # image was released flagged as unreadable (its manifest then has no soft binding).
    watermark_readable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "path": str(self.path),
            "sha256": self.sha256,
            "watermark": {
                "scheme_id": self.scheme_id,
                "payload": self.payload,
                "readable": self.watermark_readable,
            },
            "verdict": self.verdict.to_dict(),
            "audit_index": self.audit_index,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@dataclass(frozen=True)
class WithheldImage:
    """An image that was generated but not released: blocked by the classifier or a stage failed."""

    record_id: str
    reason: str  # "blocked" or "failed:<stage>"
    verdict: ImageVerdict | None
    audit_index: int
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "reason": self.reason,
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "audit_index": self.audit_index,
            "error": self.error,
        }


@dataclass
class GenerationResult:
    """What one request produced: the prompt decision, released and withheld images, timings."""

    decision: PromptDecision
    images: list[ReleasedImage] = field(default_factory=list)
    withheld: list[WithheldImage] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    model: str = ""
    seed: int | None = None

    @property
    def blocked(self) -> bool:
        return self.decision.blocked

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocked": self.blocked,
            "decision": self.decision.to_dict(),
            "model": self.model,
            "seed": self.seed,
            "images": [i.to_dict() for i in self.images],
            "withheld": [w.to_dict() for w in self.withheld],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
