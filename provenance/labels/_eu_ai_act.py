"""The EU AI Act profile (Article 50(2)): signed C2PA declaring AI generation, an imperceptible
watermark and the logging registry, plus the IPTC digital source type in XMP."""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image

from hallmark.policies import EuAiActSettings, LabelsPolicy

from ._regulation import IPTC_EXT_NS, ComplianceRow, LabelContext, _c2pa_summary, _Evidence
from ._xmp import XmpProperty


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
        return [XmpProperty(IPTC_EXT_NS, "Iptc4xmpExt", "DigitalSourceType", ctx.digital_source_type)]

    def assertions(self, ctx: LabelContext) -> list[dict[str, Any]]:
        # The c2pa.created (or, for an edit, c2pa.edited) action with its digital source type is the
        # declaration; Article 50 covers content "artificially generated or manipulated".
        return []

    @classmethod
    def declared(cls, ev: _Evidence) -> bool:
        # Its markers (an AI digital source type in C2PA and XMP) are not its own: any AI tool
        # writes them.  An image declares this profile only through hallmark's policy assertion.
        return False

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
