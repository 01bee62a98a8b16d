"""What is allowed: the policy schema and the bundled packs.

This room imports nothing of hallmark's but ``hallmark.errors``; every other room may import it.

Each schema module (pydantic models) loads on first use of one of its names, so that
``hallmark verify``, which needs only the labels schema, does not pay for the policy and guard
schemas or the YAML loader.
"""

from __future__ import annotations

if __name__ != "hallmark.policies":  # the folder sits at the repository's top level
    raise ImportError(f"import hallmark.policies, not {__name__}")

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._edit_schema import EDIT_CATEGORIES, EditInputPolicy, EditPolicy
    from ._guard_schema import (
        ALWAYS_BLOCK,
        CATEGORIES,
        DEPICTS_MINOR,
        IMAGE_CATEGORIES,
        PII_NER_ENTITIES,
        PII_PATTERN_ENTITIES,
        CategoryPolicy,
        ImageBackend,
        ImageCover,
        ImagePolicy,
        NamesDetector,
        PeopleDetector,
        PiiPolicy,
        PromptPolicy,
        RegexDetector,
        SemanticDetector,
        SeverityActions,
        TermsDetector,
    )
    from ._labels_schema import (
        CN_MIN_RETENTION_DAYS,
        KNOWN_PROFILES,
        CnGb45438Settings,
        EuAiActSettings,
        LabelsPolicy,
        UsCaSb942Settings,
    )
    from ._load import bundled_policies, lint_policy, load_policy
    from ._schema import AuditPolicy, C2paPolicy, OutputPolicy, Policy, WatermarkPolicy

_LAZY = {
    **dict.fromkeys(("EDIT_CATEGORIES", "EditInputPolicy", "EditPolicy"), "hallmark.policies._edit_schema"),
    **dict.fromkeys(
        (
            "ALWAYS_BLOCK",
            "CATEGORIES",
            "PII_NER_ENTITIES",
            "PII_PATTERN_ENTITIES",
            "CategoryPolicy",
            "DEPICTS_MINOR",
            "IMAGE_CATEGORIES",
            "ImageBackend",
            "ImageCover",
            "ImagePolicy",
            "NamesDetector",
            "PeopleDetector",
            "PiiPolicy",
            "PromptPolicy",
            "RegexDetector",
            "SemanticDetector",
            "SeverityActions",
            "TermsDetector",
        ),
        "hallmark.policies._guard_schema",
    ),
    **dict.fromkeys(
        (
            "CN_MIN_RETENTION_DAYS",
            "KNOWN_PROFILES",
            "CnGb45438Settings",
            "EuAiActSettings",
            "LabelsPolicy",
            "UsCaSb942Settings",
        ),
        "hallmark.policies._labels_schema",
    ),
    **dict.fromkeys(("bundled_policies", "lint_policy", "load_policy"), "hallmark.policies._load"),
    **dict.fromkeys(
        ("AuditPolicy", "C2paPolicy", "OutputPolicy", "Policy", "WatermarkPolicy"),
        "hallmark.policies._schema",
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
    "ALWAYS_BLOCK",
    "AuditPolicy",
    "C2paPolicy",
    "CATEGORIES",
    "CN_MIN_RETENTION_DAYS",
    "CategoryPolicy",
    "CnGb45438Settings",
    "DEPICTS_MINOR",
    "EDIT_CATEGORIES",
    "EditInputPolicy",
    "EditPolicy",
    "EuAiActSettings",
    "IMAGE_CATEGORIES",
    "ImageBackend",
    "ImageCover",
    "ImagePolicy",
    "KNOWN_PROFILES",
    "LabelsPolicy",
    "NamesDetector",
    "OutputPolicy",
    "PeopleDetector",
    "PII_NER_ENTITIES",
    "PII_PATTERN_ENTITIES",
    "PiiPolicy",
    "Policy",
    "PromptPolicy",
    "RegexDetector",
    "SemanticDetector",
    "SeverityActions",
    "TermsDetector",
    "UsCaSb942Settings",
    "WatermarkPolicy",
    "bundled_policies",
    "lint_policy",
    "load_policy",
]
