"""Decide: the prompt filter and the image safety classifier."""

if __name__ != "hallmark.guardrails":  # the folder sits at the repository's top level
    raise ImportError(f"import hallmark.guardrails, not {__name__}")

from ._detectors import DETECTORS, PromptDetector
from ._edit import EditIntentFilter
from ._evaluate import Evaluation, LabelledPrompt, caught_by, evaluate_labelled, read_labelled_csv
from ._image import CLASSIFIERS, ImageClassifier, ImageSafety
from ._people import RegistryUpdate, compile_people_list
from ._prompt import PromptFilter
from ._types import Action, CheckStatus, DetectorStatus, Finding, ImageVerdict, PromptDecision

__all__ = [
    "EditIntentFilter",
    "CLASSIFIERS",
    "DETECTORS",
    "Action",
    "CheckStatus",
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
    "RegistryUpdate",
    "caught_by",
    "compile_people_list",
    "evaluate_labelled",
    "read_labelled_csv",
]
