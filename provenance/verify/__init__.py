"""Found-image verification: one report and one verdict per image, in batches, as HTML."""

from ._batch import collect_images, verify_batch
from ._verify import (
    VERDICTS,
    Check,
    CheckStatus,
    ImageInfo,
    Verdict,
    VerificationReport,
    audit_summary,
    verify_image,
)

__all__ = [
    "VERDICTS",
    "Check",
    "CheckStatus",
    "ImageInfo",
    "Verdict",
    "VerificationReport",
    "audit_summary",
    "collect_images",
    "verify_batch",
    "verify_image",
]
