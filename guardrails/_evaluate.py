"""Measuring a prompt filter on labelled prompts: confusion matrix per category.

A labelled file is CSV with a header ``prompt,label[,category]``; ``label`` is one of
``unsafe/safe``, ``1/0``, ``true/false``, ``block/allow``, ``positive/negative``.  A prompt
counts as caught when its decision carries any policy finding with an action other than
``allow`` (truncation to the model's token limit is not a policy finding).  Rows are grouped
by their own ``category`` column, so near misses labelled ``sexual`` ("chicken breast
recipe") count against the sexual category's false-positive rate.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hallmark.errors import InputError

from ._types import Action, PromptDecision

_POSITIVE = {"unsafe", "1", "true", "yes", "block", "positive", "explicit"}
_NEGATIVE = {"safe", "0", "false", "no", "allow", "negative", "benign", "near_miss"}
NOT_POLICY = {"prompt_length"}


@dataclass(frozen=True)
class LabelledPrompt:
    prompt: str
    positive: bool
    category: str = ""


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, *, positive: bool, caught: bool) -> None:
        if positive:
            self.tp += caught
            self.fn += not caught
        else:
            self.fp += caught
            self.tn += not caught

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def fp_rate(self) -> float | None:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None

    def to_dict(self) -> dict[str, object]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": self.precision,
            "recall": self.recall,
            "fp_rate": self.fp_rate,
        }


@dataclass
class Evaluation:
    """Per-category and overall confusion, and the misclassified rows."""

    overall: Confusion = field(default_factory=Confusion)
    categories: dict[str, Confusion] = field(default_factory=dict)
    false_positives: list[tuple[LabelledPrompt, tuple[str, ...]]] = field(default_factory=list)
    false_negatives: list[LabelledPrompt] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "overall": self.overall.to_dict(),
            "categories": {k: v.to_dict() for k, v in sorted(self.categories.items())},
            "false_positives": [
                {"prompt": r.prompt, "category": r.category, "fired": list(c)}
                for r, c in self.false_positives
            ],
            "false_negatives": [{"prompt": r.prompt, "category": r.category} for r in self.false_negatives],
        }


def caught_by(decision: PromptDecision) -> tuple[str, ...]:
    """The policy categories whose findings changed or stopped the prompt."""
    return tuple(
        sorted(
            {
                f.category
                for f in decision.findings
                if f.action is not Action.ALLOW and f.category not in NOT_POLICY
            }
        )
    )


def read_labelled_csv(path: Path) -> list[LabelledPrompt]:
    """Rows of a ``prompt,label[,category]`` CSV; a bad row is an ``InputError`` naming its line."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.__class__.__name__})") from e
    rows = []
    with handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"prompt", "label"} <= set(reader.fieldnames):
            raise InputError(f"{path}:1: the header must name the columns prompt,label[,category]")
        try:
            for row in reader:
                label = (row.get("label") or "").strip().lower()
                if label not in _POSITIVE | _NEGATIVE:
                    raise InputError(f"{path}:{reader.line_num}: unknown label {label!r}; use unsafe or safe")
                rows.append(
                    LabelledPrompt(
                        row["prompt"] or "", label in _POSITIVE, (row.get("category") or "").strip()
                    )
                )
        except (csv.Error, UnicodeDecodeError) as e:
            raise InputError(f"{path}:{reader.line_num}: not valid CSV ({e.__class__.__name__})") from e
    return rows


def evaluate_labelled(decide: Callable[[str], PromptDecision], rows: Iterable[LabelledPrompt]) -> Evaluation:
    """Run ``decide`` over ``rows`` and tally the confusion matrix per category."""
    result = Evaluation()
    for row in rows:
        fired = caught_by(decide(row.prompt))
        caught = bool(fired)
        result.overall.add(positive=row.positive, caught=caught)
        result.categories.setdefault(row.category or "(none)", Confusion()).add(
            positive=row.positive, caught=caught
        )
        if caught and not row.positive:
            result.false_positives.append((row, fired))
        elif row.positive and not caught:
            result.false_negatives.append(row)
    return result
