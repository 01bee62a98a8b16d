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
from policies._guard_schema import CategoryPolicy, ImagePolicy, PiiPolicy, PromptPolicy, TermRule
from policies._labels_schema import LabelsPolicy
from policies._load import bundled_policies, load_policy
from policies._schema import AuditPolicy, C2paPolicy, OutputPolicy, Policy, WatermarkPolicy

__all__ = [
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
    "OutputPolicy",
    "PiiPolicy",
    "PipelineError",
    "Policy",
    "PolicyError",
    "PromptPolicy",
    "ProvenanceError",
    "SigningError",
    "TamperError",
    "TermRule",
    "WatermarkError",
    "WatermarkPolicy",
    "bundled_policies",
    "load_policy",
]
