"""China's GB 45438-2025 profile: an explicit label in a corner of the image, the TC260 implicit
label in XMP, and six months of generation records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image

from hallmark.policies import CN_MIN_RETENTION_DAYS, CnGb45438Settings, LabelsPolicy

from ._integrity import _TC260_PRODUCER_FIELDS, _TC260_PROPAGATOR_FIELDS, integrity_code
from ._regulation import ComplianceRow, LabelContext, _Evidence
from ._visible import LabelFont, draw_label, find_font
from ._xmp import XmpProperty

GB45438_ASSERTION = "org.hallmark.gb45438"


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
        # One face for both texts, so an edit's label fails (if at all) when the labeler is built.
        self.font: LabelFont = find_font(
            s.text + s.edited_text,
            font_path=font_path if font_path is not None else s.font_path,
            font_index=s.font_index,
        )

    def visible(self, image: Image.Image, ctx: LabelContext) -> Image.Image:
        s = self.settings
        out, _ = draw_label(
            image,
            self.font,
            s.edited_text if ctx.edited else s.text,
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
                        "text": s.edited_text if ctx.edited else s.text,
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
    def declared(cls, ev: _Evidence) -> bool:
        # Its manifest assertion, or a TC260 implicit label in the metadata (from any provider).
        return ev.assertion(GB45438_ASSERTION) is not None or (
            ev.labels is not None and ev.labels.tc260 is not None
        )

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
