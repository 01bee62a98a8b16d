"""The one vocabulary for the state of a check, in every room and every report.

A prompt detector, an image classifier, a C2PA check or a watermark reading each ends in one of
these states; the words mean the same thing wherever they appear (JSON, audit entries, reports).
"""

from __future__ import annotations

import enum


class CheckStatus(enum.Enum):
    """How one check ended."""

    CHECKED = "checked"  # it ran; its findings (possibly none) say what it saw
    PASSED = "passed"  # it ran, and what it looked at holds up
    FAILED = "failed"  # it ran, and found a problem (a broken signature, a mismatch)
    NOT_FOUND = "not_found"  # it ran, and found nothing to check (no manifest, no mark)
    NOT_CHECKED = "not_checked"  # it did not run: disabled by policy, cannot run here, cut off
    ERROR = "error"  # it raised; whoever asked fails closed
