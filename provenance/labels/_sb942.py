"""California's SB 942 profile: a latent disclosure in the C2PA manifest, resolvable from the
watermark through the audit log."""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image

from hallmark.policies import LabelsPolicy, UsCaSb942Settings

from ._regulation import ComplianceRow, LabelContext, _c2pa_summary, _Evidence
from ._xmp import XmpProperty


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
            # SB 942 covers content "created or altered" by a generative AI system.
            "disclosure": ("AI-altered content" if ctx.edited else "AI-generated content")
            + " (California Business and Professions Code 22757, SB 942)",
        }
        return [{"label": self.settings.assertion_label, "data": data}]

    @classmethod
    def declared(cls, ev: _Evidence) -> bool:
        return ev.assertion(UsCaSb942Settings().assertion_label) is not None

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
