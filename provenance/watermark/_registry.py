"""The registry of our watermark schemes: an explicit table from scheme id to implementation.

Implementations are imported on first use: scipy, OpenCV and pywt cost start-up time that
`import provenance` (and with it `hallmark verify`) should not pay until an image is read, so
each scheme is registered as a small factory that imports its module when it is called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from hallmark.errors import WatermarkError
from hallmark.registry import Registry

from ._types import WatermarkScheme

SchemeFactory: TypeAlias = Callable[[bytes], WatermarkScheme]

# Newest first. Every scheme stays here for as long as images marked with it may exist, so that
# verify can still read them.
_SCHEMES: Registry[SchemeFactory] = Registry(
    "watermark scheme",
    error=WatermarkError,
    hint="Set watermark.scheme in the policy to one of the known ids.",
)


@_SCHEMES.register("hallmark.wm1")
def _wm1(key: bytes) -> WatermarkScheme:
    from ._wm1 import Wm1

    return Wm1(key=key)


@_SCHEMES.register("hallmark.dwtdctsvd-bch")
def _dwtdctsvd_bch(key: bytes) -> WatermarkScheme:
    from ._dwt import DwtDctSvdBch

    return DwtDctSvdBch(key=key)


# What verify reads when no schemes are named: the schemes whose decode carries a keyed check,
# so that a decode alone can say "made with your key".  hallmark.dwtdctsvd-bch has none (tag_bits
# = 0): 1 in ~6,600 unmarked images decodes as one of its payloads (measured through the decoder),
# so it is read only when asked for, and a decode of it means something only with an audit record.
_READ_BY_DEFAULT = ("hallmark.wm1",)


def watermark_schemes() -> list[str]:
    """The ids of the watermark schemes hallmark can embed and read, newest first."""
    return _SCHEMES.names()


def verify_schemes() -> list[str]:
    """The ids of the schemes ``verify_image`` reads unless told otherwise: the keyed ones."""
    return [name for name in _SCHEMES.names() if name in _READ_BY_DEFAULT]


def watermark_scheme(scheme_id: str, *, key: bytes) -> WatermarkScheme:
    """The scheme registered as ``scheme_id``, keyed with ``key`` (32 secret bytes).

    An unknown id raises WatermarkError listing the known ones; a key shorter than 16 bytes is
    refused.
    """
    return _SCHEMES.get(scheme_id)(key)
