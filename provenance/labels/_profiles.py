"""Regulation profiles: what each law asks an image to carry, applied at generation, checked at verify.

A profile is a small plug-in (:class:`RegulationProfile`) registered by name in :data:`PROFILES`.
At generation the :class:`Labeler` runs the enabled profiles in a fixed order: pixel labels
(``visible``, before the watermark), metadata in the encoded bytes (``embed_metadata``, before C2PA
signing) and assertions for the C2PA manifest (``assertions``).  At verification
:func:`check_compliance` turns what the verifier found (plain dicts) into one row per legal duty.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from PIL import Image

from hallmark.errors import InputError, ProvenanceError
from hallmark.policies import LabelsPolicy
from hallmark.policies._labels_schema import (
    CN_MIN_RETENTION_DAYS,
    KNOWN_PROFILES,
    CnGb45438Settings,
    EuAiActSettings,
    UsCaSb942Settings,
)

from ._visible import LabelFont, draw_label, find_font
from ._xmp import XmpProperty, embed_xmp, extract_xmp, find_properties

IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
AI_SOURCE_TYPES = frozenset(
    {
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
        "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
    }
)
GB45438_ASSERTION = "org.hallmark.gb45438"
_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp"}
_TC260_PRODUCER_FIELDS = ("Label", "ContentProducer", "ProduceID")
_TC260_PROPAGATOR_FIELDS = ("ContentPropagator", "PropagateID")

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


# ----------------------------------------------------------------------------- integrity codes


def _canonical(fields: Mapping[str, Any], names: Sequence[str]) -> bytes:
    return json.dumps({n: str(fields.get(n, "")) for n in names}, sort_keys=True, ensure_ascii=False).encode()


def integrity_code(fields: Mapping[str, Any], names: Sequence[str], *, key: bytes | None = None) -> str:
    """``sha256:<hex>`` over the named fields' canonical JSON, or ``hmac-sha256:<hex>`` with ``key``.

    A plain hash shows the fields were not altered by accident; only the keyed form shows who
    wrote them (the reader needs the key).
    """
    body = _canonical(fields, names)
    if key is not None:
        return "hmac-sha256:" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _check_code(fields: Mapping[str, Any], names: Sequence[str], code: Any, key: bytes | None) -> str:
    if not isinstance(code, str) or not code:
        return "unverified"
    if code.startswith("sha256:"):
        return "ok" if hmac.compare_digest(code, integrity_code(fields, names)) else "mismatch"
    if code.startswith("hmac-sha256:") and key is not None:
        return "ok" if hmac.compare_digest(code, integrity_code(fields, names, key=key)) else "mismatch"
    return "unverified"


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


class CnGb45438:
    """GB 45438-2025: explicit label in a corner, TC260 implicit label in XMP, six months of records."""

    name: ClassVar[str] = "cn_gb45438"

    def __init__(
        self,
        labels: LabelsPolicy,
        *,
        font_path: str | Path | None = None,
        integrity_key: bytes | None = None,
    ) -> None:
        s = labels.settings(self.name)
        assert isinstance(s, CnGb45438Settings)
        self.settings = s
        self.provider = labels.provider
        self.integrity_key = integrity_key
        self.font: LabelFont = find_font(
            s.text, font_path=font_path if font_path is not None else s.font_path, font_index=s.font_index
        )

    def visible(self, image: Image.Image, ctx: LabelContext) -> Image.Image:
        s = self.settings
        out, _ = draw_label(
            image,
            self.font,
            s.text,
            min_height_fraction=s.min_height_fraction,
            min_text_px=s.min_text_px,
            max_width_fraction=s.max_width_fraction,
            corner=s.corner,
            style=s.style,
        )
        return out

    def tc260_fields(self, ctx: LabelContext) -> dict[str, str]:
        """The implicit label's JSON fields, in the practice guide's order."""
        s = self.settings
        fields = {
            "Label": "1",
            "ContentProducer": s.content_producer or ctx.provider or self.provider,
            "ProduceID": ctx.record_id,
        }
        fields["ReservedCode1"] = integrity_code(fields, _TC260_PRODUCER_FIELDS, key=self.integrity_key)
        if s.content_propagator is not None:
            fields["ContentPropagator"] = s.content_propagator
            fields["PropagateID"] = f"{s.propagate_id_prefix}{ctx.record_id}"
            fields["ReservedCode2"] = integrity_code(fields, _TC260_PROPAGATOR_FIELDS, key=self.integrity_key)
        return fields

    def xmp_properties(self, ctx: LabelContext) -> list[XmpProperty]:
        s = self.settings
        value = json.dumps(self.tc260_fields(ctx), ensure_ascii=False, separators=(",", ":"))
        return [XmpProperty(s.xmp_namespace, s.xmp_prefix, s.xmp_property, value)]

    def assertions(self, ctx: LabelContext) -> list[dict[str, Any]]:
        s = self.settings
        return [
            {
                "label": GB45438_ASSERTION,
                "data": {
                    "explicit_label": {
                        "text": s.text,
                        "corner": s.corner,
                        "min_height_fraction": s.min_height_fraction,
                        "style": s.style,
                    },
                    "implicit_label": {
                        "xmp_namespace": s.xmp_namespace,
                        "xmp_property": f"{s.xmp_prefix}:{s.xmp_property}",
                        "produce_id": ctx.record_id,
                    },
                },
            }
        ]

    @classmethod
    def check(cls, settings: Any, ev: _Evidence) -> list[ComplianceRow]:
        rows = [cls._explicit(ev), cls._implicit(ev)]
        if ev.watermark is None:
            rows.append(ComplianceRow(cls.name, "implicit_watermark", "not_checked", "watermark not read"))
        elif ev.watermark_found:
            rows.append(
                ComplianceRow(
                    cls.name,
                    "implicit_watermark",
                    "met",
                    f"watermark {ev.watermark.get('scheme_id', '?')} found",
                )
            )
        else:
            rows.append(
                ComplianceRow(
                    cls.name, "implicit_watermark", "not_met", "no watermark found (encouraged, not required)"
                )
            )
        rows.append(cls._retention(ev))
        return rows

    @classmethod
    def _explicit(cls, ev: _Evidence) -> ComplianceRow:
        declared = ev.assertion(GB45438_ASSERTION) if ev.c2pa_valid else None
        explicit = (declared or {}).get("explicit_label")
        if isinstance(explicit, Mapping):
            return ComplianceRow(
                cls.name,
                "explicit_label",
                "met",
                f"the valid signed manifest declares a visible label {explicit.get('text', '')!r} "
                f"({explicit.get('corner', '?')}); the pixels are not read",
            )
        return ComplianceRow(
            cls.name, "explicit_label", "not_checked", "a visible label cannot be read back from the pixels"
        )

    @classmethod
    def _implicit(cls, ev: _Evidence) -> ComplianceRow:
        duty = "implicit_label_metadata"
        if ev.labels is None:
            return ComplianceRow(cls.name, duty, "not_checked", "metadata not read")
        tc = ev.labels.tc260
        if tc is None:
            why = "; ".join(ev.labels.problems) or (
                "XMP without a TC260 AIGC property" if ev.labels.xmp_found else "no XMP metadata"
            )
            return ComplianceRow(cls.name, duty, "not_met", why)
        where = f"XMP {ev.labels.tc260_namespace}"
        missing = [f for f in _TC260_PRODUCER_FIELDS if not str(tc.get(f, "")).strip()]
        if missing:
            return ComplianceRow(cls.name, duty, "not_met", f"{where}: missing {', '.join(missing)}")
        if str(tc["Label"]).strip() != "1":
            return ComplianceRow(
                cls.name, duty, "not_met", f"{where}: Label is {tc['Label']!r}, not '1' (AI-generated)"
            )
        if ev.labels.reserved_code1 == "mismatch":
            return ComplianceRow(
                cls.name, duty, "not_met", f"{where}: ReservedCode1 does not match the fields"
            )
        record = ev.audit.get("record_id") if ev.audit_found and ev.audit is not None else None
        if record is not None and str(record) != str(tc["ProduceID"]):
            return ComplianceRow(
                cls.name, duty, "not_met", f"{where}: ProduceID differs from the audit record id"
            )
        code = {"ok": "ReservedCode1 verified", "unverified": "ReservedCode1 not verifiable"}.get(
            ev.labels.reserved_code1 or "", "no ReservedCode1"
        )
        return ComplianceRow(
            cls.name,
            duty,
            "met",
            f"{where}: Label 1, ContentProducer {tc['ContentProducer']!r}, ProduceID {tc['ProduceID']}; {code}",
        )

    @classmethod
    def _retention(cls, ev: _Evidence) -> ComplianceRow:
        duty = "record_retention"
        if ev.audit is None:
            return ComplianceRow(cls.name, duty, "not_checked", "audit log not consulted")
        if not ev.audit_found:
            return ComplianceRow(cls.name, duty, "not_met", "no audit record for this image")
        days = ev.audit.get("retention_days")
        if days is None:
            return ComplianceRow(
                cls.name, duty, "not_checked", "audit record found; its retention is not known"
            )
        if int(days) < CN_MIN_RETENTION_DAYS:
            return ComplianceRow(
                cls.name, duty, "not_met", f"audit retention {days} days < {CN_MIN_RETENTION_DAYS}"
            )
        return ComplianceRow(cls.name, duty, "met", f"audit record kept; retention {days} days")


class EuAiAct:
    """EU AI Act Article 50(2): machine-readable marking (signed C2PA), an imperceptible watermark,
    and the logging registry.  Adds the IPTC digital source type to XMP as a second, unsigned marker."""

    name: ClassVar[str] = "eu_ai_act"

    def __init__(self, labels: LabelsPolicy, **_: Any) -> None:
        s = labels.settings(self.name)
        assert isinstance(s, EuAiActSettings)
        self.settings = s

    def visible(self, image: Image.Image, ctx: LabelContext) -> Image.Image:
        return image

    def xmp_properties(self, ctx: LabelContext) -> list[XmpProperty]:
        source = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
        return [XmpProperty(IPTC_EXT_NS, "Iptc4xmpExt", "DigitalSourceType", source)]

    def assertions(self, ctx: LabelContext) -> list[dict[str, Any]]:
        return []  # the c2pa.created action with its digital source type is the declaration

    @classmethod
    def check(cls, settings: Any, ev: _Evidence) -> list[ComplianceRow]:
        need_ts = bool(getattr(settings, "require_timestamp", False))
        rows = []
        duty = "machine_readable_marking"
        if ev.c2pa is None:
            rows.append(ComplianceRow(cls.name, duty, "not_checked", "C2PA not read"))
        elif not ev.c2pa_valid:
            rows.append(ComplianceRow(cls.name, duty, "not_met", _c2pa_summary(ev)))
        elif not ev.ai_declared:
            rows.append(
                ComplianceRow(
                    cls.name, duty, "not_met", f"{_c2pa_summary(ev)} but it does not declare AI generation"
                )
            )
        elif need_ts and not ev.timestamped:
            rows.append(
                ComplianceRow(
                    cls.name,
                    duty,
                    "not_met",
                    f"{_c2pa_summary(ev)}, declares AI generation, but has no timestamp",
                )
            )
        else:
            stamped = ev.timestamped
            ts = "timestamp unknown" if stamped is None else ("timestamped" if stamped else "no timestamp")
            rows.append(
                ComplianceRow(cls.name, duty, "met", f"{_c2pa_summary(ev)}, declares AI generation, {ts}")
            )
        duty = "watermark"
        if ev.watermark is None:
            rows.append(ComplianceRow(cls.name, duty, "not_checked", "watermark not read"))
        elif ev.watermark_found:
            rows.append(
                ComplianceRow(cls.name, duty, "met", f"watermark {ev.watermark.get('scheme_id', '?')} found")
            )
        else:
            rows.append(ComplianceRow(cls.name, duty, "not_met", "no imperceptible watermark found"))
        duty = "logging"
        if ev.audit is None:
            rows.append(ComplianceRow(cls.name, duty, "not_checked", "audit log not consulted"))
        elif ev.audit_found:
            rows.append(
                ComplianceRow(cls.name, duty, "met", f"audit record {ev.audit.get('record_id', '?')}")
            )
        else:
            rows.append(ComplianceRow(cls.name, duty, "not_met", "no audit record for this image"))
        return rows


class UsCaSb942:
    """California SB 942: a latent disclosure (provider, system name and version, creation time,
    unique id) in the C2PA manifest, resolvable from the watermark through the audit log."""

    name: ClassVar[str] = "us_ca_sb942"
    FIELDS: ClassVar[tuple[str, ...]] = ("provider", "system_name", "system_version", "created", "content_id")

    def __init__(self, labels: LabelsPolicy, **_: Any) -> None:
        s = labels.settings(self.name)
        assert isinstance(s, UsCaSb942Settings)
        self.settings = s

    def visible(self, image: Image.Image, ctx: LabelContext) -> Image.Image:
        return image

    def xmp_properties(self, ctx: LabelContext) -> list[XmpProperty]:
        return []

    def assertions(self, ctx: LabelContext) -> list[dict[str, Any]]:
        data = {
            "provider": ctx.provider,
            "system_name": ctx.system_name,
            "system_version": ctx.system_version,
            "model": ctx.model,
            "created": ctx.created_iso,
            "content_id": ctx.record_id,
            "disclosure": "AI-generated content (California Business and Professions Code 22757, SB 942)",
        }
        return [{"label": self.settings.assertion_label, "data": data}]

    @classmethod
    def check(cls, settings: Any, ev: _Evidence) -> list[ComplianceRow]:
        label = getattr(settings, "assertion_label", UsCaSb942Settings().assertion_label)
        rows = []
        duty = "latent_disclosure"
        disclosure = ev.assertion(label) if ev.c2pa_valid else None
        if ev.c2pa is None:
            rows.append(ComplianceRow(cls.name, duty, "not_checked", "C2PA not read"))
        elif not ev.c2pa_valid:
            rows.append(ComplianceRow(cls.name, duty, "not_met", _c2pa_summary(ev)))
        elif disclosure is None:
            rows.append(
                ComplianceRow(cls.name, duty, "not_met", f"valid manifest without a {label} assertion")
            )
        else:
            missing = [f for f in cls.FIELDS if not str(disclosure.get(f) or "").strip()]
            if missing:
                rows.append(ComplianceRow(cls.name, duty, "not_met", f"{label} lacks {', '.join(missing)}"))
            else:
                rows.append(
                    ComplianceRow(
                        cls.name,
                        duty,
                        "met",
                        f"{label}: {disclosure['provider']}, {disclosure['system_name']} {disclosure['system_version']}, "
                        f"{disclosure['created']}, id {disclosure['content_id']}",
                    )
                )
        duty = "resolvable_from_watermark"
        if ev.watermark is None or ev.audit is None:
            rows.append(
                ComplianceRow(cls.name, duty, "not_checked", "needs both the watermark and the audit log")
            )
        elif not ev.watermark_found:
            rows.append(ComplianceRow(cls.name, duty, "not_met", "no watermark found"))
        elif not ev.audit_found:
            rows.append(ComplianceRow(cls.name, duty, "not_met", "the watermark resolves to no audit record"))
        else:
            record = ev.audit.get("record_id")
            if (
                disclosure is not None
                and record is not None
                and str(disclosure.get("content_id")) != str(record)
            ):
                rows.append(
                    ComplianceRow(
                        cls.name, duty, "not_met", "the watermark's record differs from the disclosure's id"
                    )
                )
            else:
                rows.append(
                    ComplianceRow(cls.name, duty, "met", f"watermark resolves to audit record {record}")
                )
        return rows


# The order profiles run in at generation; also the registry of known names.
PROFILES: dict[str, type[CnGb45438] | type[EuAiAct] | type[UsCaSb942]] = {
    "cn_gb45438": CnGb45438,
    "eu_ai_act": EuAiAct,
    "us_ca_sb942": UsCaSb942,
}
assert tuple(PROFILES) == KNOWN_PROFILES


def _profile_class(name: str) -> type[CnGb45438] | type[EuAiAct] | type[UsCaSb942]:
    try:
        return PROFILES[name]
    except KeyError:
        raise ProvenanceError(
            f"unknown labels profile {name!r}; known profiles: {', '.join(PROFILES)}"
        ) from None


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
            PROFILES[n](labels_policy, font_path=font_path, integrity_key=integrity_key) for n in names
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


def read_labels(data: bytes, *, key: bytes | None = None) -> LabelReading:
    """The labels in an image's metadata: a TC260 ``AIGC`` XMP property in any namespace (so
    labels written by other providers are read too) and the IPTC digital source type."""
    fmt, packet = extract_xmp(data)
    if packet is None:
        return LabelReading(format=fmt, xmp_found=False)
    problems: list[str] = []
    try:
        aigc = find_properties(packet, "AIGC")
        source = find_properties(packet, "DigitalSourceType")
    except Exception as e:  # ElementTree raises ParseError and ValueError on broken XMP
        return LabelReading(format=fmt, xmp_found=True, problems=(f"unreadable XMP: {e.__class__.__name__}",))
    tc260: dict[str, Any] | None = None
    namespace = None
    code1 = None
    if len(aigc) > 1:
        problems.append(f"{len(aigc)} AIGC properties; the first is read")
    if aigc:
        namespace, raw = aigc[0]
        try:
            parsed = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            problems.append("the AIGC property is not JSON")
        else:
            if isinstance(parsed, dict):
                tc260 = parsed
                if "ReservedCode1" in parsed:
                    code1 = _check_code(parsed, _TC260_PRODUCER_FIELDS, parsed["ReservedCode1"], key)
            else:
                problems.append("the AIGC property is JSON but not an object")
    dst = next((v for ns, v in source if ns == IPTC_EXT_NS), None)
    return LabelReading(
        format=fmt,
        xmp_found=True,
        tc260=tc260,
        tc260_namespace=namespace,
        reserved_code1=code1,
        digital_source_type=dst,
        problems=tuple(problems),
    )


def check_compliance(
    profiles: Iterable[str] | LabelsPolicy | None,
    *,
    c2pa: Mapping[str, Any] | None = None,
    watermark: Mapping[str, Any] | None = None,
    audit: Mapping[str, Any] | None = None,
    labels: LabelReading | Mapping[str, Any] | None = None,
) -> list[ComplianceRow]:
    """One :class:`ComplianceRow` per duty of each profile (all known profiles when ``None``).

    Inputs are plain data; ``None`` means "not checked".  ``c2pa``: ``{"present", "state",
    "valid"? (else from state Trusted/Valid), "ai_generated"? (else from the actions),
    "timestamped"? (else ``signed_at`` not None), "assertions": {label: data} or the manifest's
    [{label, data}] list}`` (a C2PA summary's ``to_dict()`` plus the raw assertions fits);
    ``watermark``: ``{"found", "scheme_id", "payload"}``; ``audit``: ``{"found", "record_id",
    "retention_days"?}`` (a lookup summary with a ``record_id`` counts as found); ``labels``: a
    :class:`LabelReading` (or its ``to_dict()``).
    """
    policy = profiles if isinstance(profiles, LabelsPolicy) else None
    names: list[str]
    if policy is not None:
        names = list(policy.profiles)
    elif profiles is None:
        names = list(PROFILES)
    elif isinstance(profiles, str):
        names = [profiles]
    else:
        names = [str(n) for n in profiles]
    classes = [_profile_class(n) for n in names]
    if isinstance(labels, Mapping):
        labels = LabelReading(
            format=labels.get("format"),
            xmp_found=bool(labels.get("xmp_found")),
            tc260=labels.get("tc260"),
            tc260_namespace=labels.get("tc260_namespace"),
            reserved_code1=labels.get("reserved_code1"),
            digital_source_type=labels.get("digital_source_type"),
            problems=tuple(labels.get("problems") or ()),
        )
    ev = _Evidence(c2pa=c2pa, watermark=watermark, audit=audit, labels=labels)
    rows: list[ComplianceRow] = []
    for cls in classes:
        settings = policy.settings(cls.name) if policy is not None else None
        rows.extend(cls.check(settings, ev))
    return rows
