"""At generation: the ``Labeler`` applies the policy's regulation profiles to one image at a time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from hallmark.errors import InputError, ProvenanceError
from hallmark.policies import LabelsPolicy

from ._registry import PROFILES, _profile_class
from ._regulation import LabelContext, RegulationProfile
from ._xmp import XmpProperty, embed_xmp

_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp"}


class Labeler:
    """Applies the policy's regulation profiles to one image at a time.

    Build it with :meth:`from_policy`; everything that can be checked before an image exists (the
    font and its glyphs, the settings) is checked there.  ``visible`` runs before the watermark,
    ``embed_metadata`` on the encoded bytes before C2PA signing, and ``assertions`` go into the
    manifest.
    """

    def __init__(self, profiles: Sequence[RegulationProfile]) -> None:
        self._profiles = list(profiles)

    @classmethod
    def from_policy(
        cls,
        labels_policy: LabelsPolicy,
        *,
        font_path: str | Path | None = None,
        integrity_key: bytes | None = None,
    ) -> Labeler:
        """The labeller for ``labels_policy``; ``font_path`` overrides the policy's font and
        ``integrity_key`` turns TC260 ``ReservedCode`` hashes into HMACs."""
        if not isinstance(labels_policy, LabelsPolicy):
            raise ProvenanceError(
                f"Labeler.from_policy needs a LabelsPolicy, not {type(labels_policy).__name__}"
            )
        # Profiles run in registry order whatever order the policy lists them in.
        names = [n for n in PROFILES if n in labels_policy.profiles]
        for n in labels_policy.profiles:
            _profile_class(n)
        profiles = [
            PROFILES.get(n)(labels_policy, font_path=font_path, integrity_key=integrity_key) for n in names
        ]
        return cls(profiles)

    @property
    def profiles(self) -> list[str]:
        return [p.name for p in self._profiles]

    def visible(self, image: Image.Image, ctx: LabelContext) -> Image.Image:
        """``image`` with every pixel label the profiles ask for (a new image; the input is kept)."""
        for p in self._profiles:
            image = p.visible(image, ctx)
        return image

    def xmp_properties(self, ctx: LabelContext) -> list[XmpProperty]:
        return [prop for p in self._profiles for prop in p.xmp_properties(ctx)]

    def embed_metadata(self, data: bytes, *, fmt: str, ctx: LabelContext) -> bytes:
        """The encoded image ``data`` (``png``, ``jpeg`` or ``webp``) with the profiles' XMP
        properties written in; unchanged when no profile writes metadata.  Must precede signing."""
        norm = _FORMATS.get(fmt.lower())
        if norm is None:
            raise InputError(f"cannot label format {fmt!r}; supported: png, jpeg, webp")
        props = self.xmp_properties(ctx)
        if not props:
            return data
        return embed_xmp(data, props, fmt=norm)

    def assertions(self, ctx: LabelContext) -> list[dict[str, Any]]:
        """``{"label", "data"}`` assertions for the C2PA manifest."""
        return [a for p in self._profiles for a in p.assertions(ctx)]
