"""What a verification reports: the verdict set, each check and the report itself.

Every check ends in one ``CheckStatus`` (the vocabulary shared with the other rooms); the
verdict comes from a small fixed set, each with a sentence a non-expert can read (``VERDICTS``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from hallmark.checks import CheckStatus

from ..c2pa import C2paReading
from ..watermark import WatermarkReading


class Verdict(enum.Enum):
    """The one answer a verification gives, from a small fixed set (see ``VERDICTS``)."""

    HALLMARK_SIGNED = "hallmark-signed"
    HALLMARK_RECOVERED = "hallmark-recovered"
    HALLMARK_WATERMARK = "hallmark-watermark"
    WATERMARK_MISMATCH = "watermark-mismatch"
    C2PA_AI_GENERATED = "c2pa-ai-generated"
    C2PA_SIGNED = "c2pa-signed"
    UNTRUSTED_SIGNER = "untrusted-signer"
    TAMPERED = "tampered"
    INVALID_CREDENTIALS = "invalid-credentials"
    UNREADABLE_CREDENTIALS = "unreadable-credentials"
    THIRD_PARTY_WATERMARK = "third-party-watermark"
    NO_PROVENANCE_FOUND = "no-provenance-found"
    ERROR = "error"

    @property
    def failing(self) -> bool:
        """Whether this verdict makes ``hallmark verify`` exit 1 (or 2 for ``error``): the image or
        its credentials fail, cannot be read, or claim an origin that cannot be confirmed."""
        return self in (
            Verdict.TAMPERED,
            Verdict.INVALID_CREDENTIALS,
            Verdict.UNREADABLE_CREDENTIALS,
            Verdict.UNTRUSTED_SIGNER,
            Verdict.WATERMARK_MISMATCH,
            Verdict.ERROR,
        )

    @property
    def meaning(self) -> str:
        return VERDICTS[self]


# The documented verdict set: what each one means, in words a non-expert understands.  The
# report's ``explanation`` fills in the specifics (issuer, reason) for the image at hand.
VERDICTS: dict[Verdict, str] = {
    Verdict.HALLMARK_SIGNED: "Made by an AI system using hallmark; its signed Content Credentials are intact.",
    Verdict.HALLMARK_RECOVERED: (
        "Made by an AI system using hallmark; its Content Credentials were removed or damaged, "
        "but its invisible watermark led back to the original signed record, and the picture matches "
        "the one released under it."
    ),
    Verdict.HALLMARK_WATERMARK: (
        "Carries hallmark's invisible watermark made with your key, but no record confirms that this "
        "picture is the one it was released with; a watermark can be copied onto another image."
    ),
    Verdict.WATERMARK_MISMATCH: (
        "Carries a hallmark watermark copied from another image: the picture does not match the one "
        "released with that watermark."
    ),
    Verdict.C2PA_AI_GENERATED: "Carries valid Content Credentials from another issuer that declare it AI-generated.",
    Verdict.C2PA_SIGNED: "Carries valid Content Credentials that do not declare it AI-generated.",
    Verdict.UNTRUSTED_SIGNER: (
        "Its Content Credentials claim it was made with hallmark, but they are signed by a key you do not "
        "trust, so that claim cannot be confirmed."
    ),
    Verdict.TAMPERED: "The image or its Content Credentials were changed after signing; they cannot be relied on.",
    Verdict.INVALID_CREDENTIALS: (
        "Carries Content Credentials whose signature cannot be accepted (for example an expired certificate)."
    ),
    Verdict.UNREADABLE_CREDENTIALS: (
        "Carries Content Credentials that this version of hallmark cannot read or does not understand; "
        "they neither confirm nor refute anything."
    ),
    Verdict.THIRD_PARTY_WATERMARK: (
        "No Content Credentials, but an invisible watermark that an AI image generator adds was found."
    ),
    Verdict.NO_PROVENANCE_FOUND: (
        "No Content Credentials and no known watermark were found; that alone says nothing about authenticity."
    ),
    Verdict.ERROR: "The file could not be checked.",
}


@dataclass(frozen=True)
class Check:
    """One check of a verification: its name, outcome, a sentence, the library's codes and details."""

    name: str
    status: CheckStatus
    summary: str
    codes: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "codes": list(self.codes),
            "details": self.details,
        }


@dataclass(frozen=True)
class ImageInfo:
    """What the file is: format (from its bytes, not its name), size, hash."""

    format: str | None
    mime: str | None
    width: int | None
    height: int | None
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class ProfileScope:
    """Which labelling profiles' duties a report checks: those the image declares (its manifest
    and metadata labels) and those asked for; every other known profile is ``not_checked``."""

    checked: tuple[str, ...] = ()
    declared: tuple[str, ...] = ()
    requested: tuple[str, ...] = ()
    not_checked: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        """One sentence saying which profiles were left out, and why (empty when none were)."""
        if not self.not_checked:
            return ""
        return (
            f"Labelling duties not checked for {', '.join(self.not_checked)}: the image does not declare "
            "them (ask with --profile)."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": list(self.checked),
            "declared": list(self.declared),
            "requested": list(self.requested),
            "not_checked": list(self.not_checked),
            "note": self.line,
        }


@dataclass(frozen=True)
class VerificationReport:
    """Everything ``verify_image`` found about one image, and its verdict.

    ``checks`` hold each check's outcome in a fixed order (c2pa, one ``identity`` line per CAWG
    identity assertion, our watermarks, third-party watermarks, audit, binding, recovery,
    consistency); ``warnings`` things a reader should know that do not change the verdict (an
    untrusted signer, a mislabelled file, an ingredient error); ``compliance`` the labelling duties
    of the profiles in ``profiles.checked``.
    """

    source: str
    verdict: Verdict
    explanation: str
    checks: tuple[Check, ...] = ()
    warnings: tuple[str, ...] = ()
    image: ImageInfo | None = None
    c2pa: C2paReading | None = None
    watermarks: tuple[WatermarkReading, ...] = ()
    record: dict[str, Any] | None = None
    recovered: C2paReading | None = None
    compliance: tuple[Any, ...] = ()  # provenance.ComplianceRow per duty of each profile checked
    profiles: ProfileScope = field(default_factory=ProfileScope)
    error: str = ""
    checked_at: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """False when the image is tampered, its credentials are invalid, a check failed, or
        it could not be checked."""
        return not self.verdict.failing and all(c.status is not CheckStatus.FAILED for c in self.checks)

    def check(self, name: str) -> Check | None:
        """The check called ``name`` (``"c2pa"``, ``"watermark:<scheme>"``, ``"audit"``...)."""
        return next((c for c in self.checks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (no bytes, no enums, never a prompt)."""
        return {
            "source": self.source,
            "verdict": self.verdict.value,
            "explanation": self.explanation,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "warnings": list(self.warnings),
            "image": self.image.to_dict() if self.image else None,
            "c2pa": self.c2pa.to_dict() if self.c2pa else None,
            "watermarks": [w.to_dict() for w in self.watermarks],
            "record": self.record,
            "recovered": self.recovered.to_dict() if self.recovered else None,
            "compliance": [row.to_dict() for row in self.compliance],
            "profiles": self.profiles.to_dict(),
            "error": self.error,
            "checked_at": self.checked_at,
            "seconds": round(self.seconds, 4),
        }
