"""What is allowed: the policy schema, the bundled packs and the error hierarchy.

This room imports nothing else of hallmark's; every other room may import it.
"""

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
