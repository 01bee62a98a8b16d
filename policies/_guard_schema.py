"""Policy sections read by ``guardrails``: the prompt policy and the image policy."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ActionName = Literal["allow", "rewrite", "flag", "blur", "block"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TermRule(_Section):
    """A list of terms (and/or regexes) for one category with one action."""

    id: str
    terms: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    action: ActionName = "block"
    severity: Literal["low", "medium", "high"] = "high"


class CategoryPolicy(_Section):
    enabled: bool = True
    action: ActionName = "block"
    rules: tuple[TermRule, ...] = ()


class PiiPolicy(_Section):
    enabled: bool = True
    entities: dict[str, ActionName] = Field(default_factory=dict)
    default_action: ActionName = "rewrite"


class PromptPolicy(_Section):
    enabled: bool = True
    categories: dict[str, CategoryPolicy] = Field(default_factory=dict)
    pii: PiiPolicy = PiiPolicy()
    safety_negative_prompt: str = ""
    max_prompt_tokens: int = 77


class ImagePolicy(_Section):
    enabled: bool = True
    classifier: str = "opennsfw"
    thresholds: dict[str, float] = Field(default_factory=lambda: {"flag": 0.4, "blur": 0.7, "block": 0.85})
