"""Found-image verification: one report and one verdict per image, in batches, as HTML."""

from hallmark.checks import CheckStatus

from ._batch import ImageWalk, collect_images, error_report, verify_batch, walk_images
from ._checks import audit_summary
from ._decode import decode_pixels
from ._html import render_html_report, write_html_report
from ._report import VERDICTS, Check, ImageInfo, Verdict, VerificationReport
from ._verify import verify_image

__all__ = [
    "VERDICTS",
    "Check",
    "CheckStatus",
    "ImageInfo",
    "Verdict",
    "VerificationReport",
    "audit_summary",
    "decode_pixels",
    "ImageWalk",
    "collect_images",
    "error_report",
    "verify_batch",
    "walk_images",
    "verify_image",
    "render_html_report",
    "write_html_report",
]
