"""Regulatory labels: the profiles (EU AI Act, GB 45438, SB 942), the visible label and XMP."""

from ._compliance import check_compliance, declared_profiles, read_labels
from ._integrity import labels_integrity_key
from ._labeler import Labeler
from ._regulation import ComplianceRow, LabelContext, LabelReading, RegulationProfile

__all__ = [
    "ComplianceRow",
    "LabelContext",
    "LabelReading",
    "Labeler",
    "RegulationProfile",
    "check_compliance",
    "declared_profiles",
    "labels_integrity_key",
    "read_labels",
]
