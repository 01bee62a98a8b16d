"""The registry of our watermark schemes: an explicit table from scheme id to implementation.

Implementations are imported on first use: scipy, OpenCV and pywt cost start-up time that
`import provenance` (and with it `hallmark verify`) should not pay until an image is read.
"""

from __future__ import annotations

import importlib

from hallmark.errors import WatermarkError

from ._types import WatermarkScheme

# scheme id -> (module, class); newest first. Every scheme stays here for as long as images
# marked with it may exist, so that verify can still read them.
_SCHEMES: dict[str, tuple[str, str]] = {
    "hallmark.wm1": ("hallmark.provenance.watermark._wm1", "Wm1"),
    "hallmark.dwtdctsvd-bch": ("hallmark.provenance.watermark._dwt", "DwtDctSvdBch"),
}


def watermark_schemes() -> list[str]:
    """The ids of the watermark schemes hallmark can embed and read, newest first."""
    return list(_SCHEMES)


def watermark_scheme(scheme_id: str, *, key: bytes) -> WatermarkScheme:
    """The scheme registered as ``scheme_id``, keyed with ``key`` (32 secret bytes).

    An unknown id raises WatermarkError listing the known ones; a key shorter than 16 bytes is
    refused.
    """
    entry = _SCHEMES.get(scheme_id)
    if entry is None:
        raise WatermarkError(
            f"unknown watermark scheme {scheme_id!r}; known: {', '.join(_SCHEMES)}",
            hint="Set watermark.scheme in the policy to one of the known ids.",
        )
    module, name = entry
    scheme: WatermarkScheme = getattr(importlib.import_module(module), name)(key=key)
    return scheme
