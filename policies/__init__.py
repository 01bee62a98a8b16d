"""What is allowed: the policy schema, the bundled packs and the error hierarchy.

This room imports nothing else of hallmark's; every other room may import it.

The error types load with the package; each schema module (pydantic models) loads on first use
of one of its names, so that ``hallmark verify``, which needs the errors and the labels schema,
does not pay for the policy and guard schemas or the YAML loader.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from policies._errors import (
    AuditError,
    GuardrailError,
    HallmarkError,
    InputError,
    KeyMaterialError,
    PipelineError,
    PolicyError,
    ProvenanceError,
    SigningError,
    TamperError,
    WatermarkError,
)

if TYPE_CHECKING:
    from policies._guard_schema import (
        CATEGORIES,
        CategoryPolicy,
        ImagePolicy,
        NamesDetector,
        PiiPolicy,
        PromptPolicy,
        RegexDetector,
        SemanticDetector,
        SeverityActions,
        TermsDetector,
    )
    from policies._labels_schema import LabelsPolicy
    from policies._load import bundled_policies, lint_policy, load_policy
    from policies._schema import AuditPolicy, C2paPolicy, OutputPolicy, Policy, WatermarkPolicy

_LAZY = {
    **dict.fromkeys(
        (
            "CATEGORIES",
            "CategoryPolicy",
            "ImagePolicy",
            "NamesDetector",
            "PiiPolicy",
            "PromptPolicy",
            "RegexDetector",
            "SemanticDetector",
            "SeverityActions",
            "TermsDetector",
        ),
        "policies._guard_schema",
    ),
    "LabelsPolicy": "policies._labels_schema",
    **dict.fromkeys(("bundled_policies", "lint_policy", "load_policy"), "policies._load"),
    **dict.fromkeys(
        ("AuditPolicy", "C2paPolicy", "OutputPolicy", "Policy", "WatermarkPolicy"), "policies._schema"
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'policies' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CATEGORIES",
    "AuditError",
    "AuditPolicy",
    "C2paPolicy",
    "CategoryPolicy",
    "GuardrailError",
    "HallmarkError",
    "ImagePolicy",
    "InputError",
    "KeyMaterialError",
    "LabelsPolicy",
    "NamesDetector",
    "OutputPolicy",
    "PiiPolicy",
    "PipelineError",
    "Policy",
    "PolicyError",
    "PromptPolicy",
    "RegexDetector",
    "SemanticDetector",
    "SeverityActions",
    "ProvenanceError",
    "SigningError",
    "TamperError",
    "TermsDetector",
    "WatermarkError",
    "WatermarkPolicy",
    "bundled_policies",
    "lint_policy",
    "load_policy",
]
