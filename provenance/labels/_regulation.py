"""What a regulation profile is: the plug-in protocol, the context it labels an image with, the
rows it reports, and the evidence a verifier found that it checks against.

A profile is a small plug-in (:class:`RegulationProfile`) registered by name in ``PROFILES``
(``_registry.py``).  At generation the ``Labeler`` runs the enabled profiles in a fixed order:
pixel labels (``visible``, before the watermark), metadata in the encoded bytes
(``embed_metadata``, before C2PA signing) and assertions for the C2PA manifest
(``assertions``).  At verification ``check_compliance`` turns what the verifier found (plain
dicts, normalised here into ``_Evidence``) into one row per legal duty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from PIL import Image

from hallmark.errors import InputError

from ._xmp import XmpProperty

IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
AI_SOURCE_TYPES = frozenset(
    {
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
        "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
    }
)

State = Literal["met", "not_met", "not_checked"]


@dataclass(frozen=True)
class LabelContext:
    """What the labels say about one image: its record id, creation time (timezone-aware), the
    provider, the model that drew it and the generating system's name and version."""

    record_id: str
    created: dt.datetime
    provider: str
    model: str
    system_name: str
    system_version: str
    content_sha256: str | None = None
    edited: bool = False  # an edit of an input image ("edited with AI"), not drawn from nothing
    # IPTC: trainedAlgorithmicMedia, or compositeWithTrainedAlgorithmicMedia for a region redrawn
    digital_source_type: str = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

    def __post_init__(self) -> None:
        if not self.record_id:
            raise InputError("a label context needs a record id")
        if self.created.tzinfo is None or self.created.utcoffset() is None:
            raise InputError("LabelContext.created must be timezone-aware (e.g. datetime.now(timezone.utc))")

    @property
    def created_iso(self) -> str:
        return self.created.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ComplianceRow:
    """One legal duty of one profile: met, not met or not checked, and what showed it."""

    profile: str
    duty: str
    state: State
    evidence: str

    def to_dict(self) -> dict[str, str]:
        return {"profile": self.profile, "duty": self.duty, "state": self.state, "evidence": self.evidence}


@dataclass(frozen=True)
class LabelReading:
    """The labels found in an image's metadata (the visible label cannot be read back from pixels).

    ``tc260`` is the parsed JSON of a TC260 ``AIGC`` XMP property, from any provider;
    ``reserved_code1`` is ``"ok"`` or ``"mismatch"`` when it is a sha256 (or an HMAC checked with
    the key given), ``"unverified"`` when it is in a form we cannot check, ``None`` when absent.
    """

    format: str | None
    xmp_found: bool
    tc260: Mapping[str, Any] | None = None
    tc260_namespace: str | None = None
    reserved_code1: str | None = None
    digital_source_type: str | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ai_generated(self) -> bool | None:
        """True when a TC260 label says ``Label: "1"`` or the IPTC source type is AI; None if unlabelled."""
        if self.tc260 is not None and str(self.tc260.get("Label", "")).strip() == "1":
            return True
        if self.digital_source_type is not None:
            return self.digital_source_type in AI_SOURCE_TYPES
        return None if self.tc260 is None else False

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "xmp_found": self.xmp_found,
            "tc260": dict(self.tc260) if self.tc260 is not None else None,
            "tc260_namespace": self.tc260_namespace,
            "reserved_code1": self.reserved_code1,
            "digital_source_type": self.digital_source_type,
            "ai_generated": self.ai_generated,
            "problems": list(self.problems),
        }


# ----------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class _Evidence:
    """What the verifier found, normalised from plain dicts (``None`` = not checked)."""

    c2pa: Mapping[str, Any] | None
    watermark: Mapping[str, Any] | None
    audit: Mapping[str, Any] | None
    labels: LabelReading | None

    @property
    def c2pa_valid(self) -> bool:
        if not self.c2pa or not self.c2pa.get("present", True):
            return False
        if "valid" in self.c2pa:
            return bool(self.c2pa["valid"])
        return self.c2pa.get("state") in ("Trusted", "Valid")

    @property
    def timestamped(self) -> bool | None:
        if not self.c2pa:
            return None
        if "timestamped" in self.c2pa:
            return None if self.c2pa["timestamped"] is None else bool(self.c2pa["timestamped"])
        if "signed_at" in self.c2pa:
            # c2pa reports a signing time only when a timestamp authority vouched for it.
            return self.c2pa["signed_at"] is not None
        return None

    def assertion(self, label: str) -> Mapping[str, Any] | None:
        if not self.c2pa:
            return None
        data = _assertions(self.c2pa).get(label)
        return data if isinstance(data, Mapping) else None

    @property
    def ai_declared(self) -> bool:
        if not self.c2pa:
            return False
        if "ai_generated" in self.c2pa:
            return bool(self.c2pa["ai_generated"])
        a = _assertions(self.c2pa)
        for label in ("c2pa.actions", "c2pa.actions.v2"):
            for action in (a.get(label) or {}).get("actions", []):
                if action.get("digitalSourceType") in AI_SOURCE_TYPES:
                    return True
        return False

    @property
    def watermark_found(self) -> bool:
        return bool(self.watermark and self.watermark.get("found"))

    @property
    def audit_found(self) -> bool:
        if not self.audit:
            return False
        return bool(self.audit.get("found", self.audit.get("record_id") is not None))


def _assertions(c2pa: Mapping[str, Any]) -> dict[str, Any]:
    raw = c2pa.get("assertions") or {}
    items = (
        raw.items()
        if isinstance(raw, Mapping)
        else ((a.get("label"), a.get("data")) for a in raw if isinstance(a, Mapping))
    )
    out: dict[str, Any] = {}
    for label, data in items:
        # c2pa numbers repeated labels ``label__1``; the first instance is the one read.
        out.setdefault(str(label).split("__")[0], data)
    return out


def _c2pa_summary(ev: _Evidence) -> str:
    assert ev.c2pa is not None
    state = ev.c2pa.get("state") or ("valid" if ev.c2pa.get("valid") else "invalid")
    return f"C2PA manifest {state}" if ev.c2pa.get("present", True) else "no C2PA manifest"


# ----------------------------------------------------------------------------- the profiles


class RegulationProfile(Protocol):
    """One regulation's duties: what it adds to an image and how a verifier checks them."""

    name: ClassVar[str]

    def visible(self, image: Image.Image, ctx: LabelContext) -> Image.Image: ...

    def xmp_properties(self, ctx: LabelContext) -> list[XmpProperty]: ...

    def assertions(self, ctx: LabelContext) -> list[dict[str, Any]]: ...

    @classmethod
    def check(cls, settings: Any, ev: _Evidence) -> list[ComplianceRow]: ...

    @classmethod
    def declared(cls, ev: _Evidence) -> bool:
        """Whether the image carries this profile's own marker (so its duties apply to it)."""
        ...
