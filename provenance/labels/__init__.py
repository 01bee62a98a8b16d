"""Regulatory labels: the profiles (EU AI Act, GB 45438, SB 942), the visible label and XMP."""

from ._profiles import (
    ComplianceRow,
    LabelContext,
    Labeler,
    LabelReading,
    RegulationProfile,
    check_compliance,
    read_labels,
)

__all__ = [
    "ComplianceRow",
    "LabelContext",
    "LabelReading",
    "Labeler",
    "RegulationProfile",
    "check_compliance",
    "read_labels",
]
