"""Decide: the prompt filter and the image safety classifier."""

from guardrails._detectors import DETECTORS, PromptDetector
from guardrails._evaluate import Evaluation, LabelledPrompt, caught_by, evaluate_labelled, read_labelled_csv
from guardrails._image import CLASSIFIERS, ImageClassifier, ImageSafety
from guardrails._prompt import PromptFilter
from guardrails._types import Action, CheckState, DetectorStatus, Finding, ImageVerdict, PromptDecision

__all__ = [
    "CLASSIFIERS",
    "DETECTORS",
    "Action",
    "CheckState",
    "DetectorStatus",
    "Evaluation",
    "Finding",
    "ImageClassifier",
    "ImageSafety",
    "ImageVerdict",
    "LabelledPrompt",
    "PromptDecision",
    "PromptDetector",
    "PromptFilter",
    "caught_by",
    "evaluate_labelled",
    "read_labelled_csv",
]
