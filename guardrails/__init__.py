"""Decide: the prompt filter and the image safety classifier."""

from guardrails._types import Action, CheckState, DetectorStatus, Finding, ImageVerdict, PromptDecision

__all__ = ["Action", "CheckState", "DetectorStatus", "Finding", "ImageVerdict", "PromptDecision"]
