"""The error hierarchy shared by every room.

Every room may import it; it imports nothing of hallmark's.
Every error carries a ``hint``: one sentence that tells the user what to do next.
Messages never contain secrets or raw prompts.
"""

from __future__ import annotations


class HallmarkError(Exception):
    """Base class of every error hallmark raises on purpose.

    ``str(error)`` is one line naming the problem; ``error.hint`` says what to do about it.
    """

    default_hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return " ".join(str(self.args[0]).split()) if self.args else type(self).__name__


class PolicyError(HallmarkError):
    """A policy file or pack is malformed, unknown or contradicts itself."""

    default_hint = "Run `hallmark policy lint FILE` to see every problem at once."


class GuardrailError(HallmarkError):
    """A detector or classifier could not run (missing model, bad input)."""


class ProvenanceError(HallmarkError):
    """Watermarking, labelling, signing or reading credentials failed."""


class WatermarkError(ProvenanceError):
    """The watermark could not be embedded or read (image too small, unsupported mode)."""


class SigningError(ProvenanceError):
    """A C2PA manifest could not be signed (bad key, certificate or image)."""


class KeyMaterialError(ProvenanceError):
    """Keys or certificates are missing, unreadable or unsuitable."""

    default_hint = "Run `hallmark keys init` or pass your own certificate chain and key."


class AuditError(HallmarkError):
    """The audit log could not be opened, written or read."""


class TamperError(AuditError):
    """The audit log or a proof does not verify."""


class PipelineError(HallmarkError):
    """Generation could not run (unknown model, generator failure, bad request)."""


class InputError(HallmarkError):
    """A file or argument given by the user is unusable (missing, not an image, too big)."""
