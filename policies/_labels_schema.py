"""Policy section read by ``provenance``'s regulation profiles (``labels``).

``labels.profiles`` names the regulations an operator wants to meet (``cn_gb45438``, ``eu_ai_act``,
``us_ca_sb942``); each profile may have its own settings block of the same name.  Names and
settings are checked here, when the policy loads, so that a typo or a contradiction never reaches
generation.  Requirements that span sections (a profile that needs the watermark, or a minimum
audit retention) are checked by :func:`check_profile_requirements` on the whole policy.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from ._schema import Policy

# The profiles ``provenance`` implements.  Kept here (not discovered) so that a policy naming an
# unknown profile fails at load, before any image is made.
KNOWN_PROFILES = ("cn_gb45438", "eu_ai_act", "us_ca_sb942")

# GB 45438-2025 asks labelling records and logs to be kept for at least six months.
CN_MIN_RETENTION_DAYS = 183

TC260_NAMESPACE = "http://www.tc260.org.cn/ns/AIGC/1.0/"
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# Prefixes and namespaces an XMP packet already uses for its own structure.
_RESERVED_PREFIXES = frozenset({"x", "rdf", "xml", "xmlns", "Iptc4xmpExt"})
_RESERVED_NAMESPACES = frozenset(
    {
        "adobe:ns:meta/",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "http://www.w3.org/XML/1998/namespace",
        "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    }
)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CnGb45438Settings(_Section):
    """China's GB 45438-2025: an explicit (visible) label and an implicit (XMP) label.

    The visible text sits in one corner, on a contrasting plate (or with an outline), its glyphs at
    least ``min_height_fraction`` of the image's shortest side tall (the standard's 5% is the floor).
    The implicit label is the JSON the TC260-PG-20258A practice guide puts in the XMP property
    ``{xmp_prefix}:{xmp_property}`` of ``xmp_namespace``.
    """

    text: str = "AI生成"
    # The label of an edited image (a real image redrawn in whole or part): GB 45438 speaks of
    # AI "generated or synthesised" content; an edit is synthesised.
    edited_text: str = "AI合成"
    corner: Literal["top_left", "top_right", "bottom_left", "bottom_right"] = "bottom_right"
    min_height_fraction: float = Field(default=0.05, ge=0.05, le=0.5)
    # Below this many pixels of glyph height a label is not legible, whatever the fraction says.
    min_text_px: int = Field(default=12, ge=8, le=512)
    # A label wider than this share of the image would hide it: the image is too small to label.
    max_width_fraction: float = Field(default=0.6, gt=0.0, le=1.0)
    style: Literal["plate", "outline"] = "plate"
    font_path: str | None = None
    font_index: int | None = Field(default=None, ge=0)
    xmp_namespace: str = TC260_NAMESPACE
    xmp_prefix: str = "TC260"
    xmp_property: str = "AIGC"
    # Who produced the content (name or code); defaults to ``labels.provider``.
    content_producer: str | None = None
    # For platforms that also distribute the content (GB 45438 5.2): both or neither.
    content_propagator: str | None = None
    propagate_id_prefix: str | None = None

    @field_validator("text", "edited_text")
    @classmethod
    def _text_visible(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the visible label text must not be empty")
        if "\n" in v or "\r" in v:
            raise ValueError("the visible label text must be one line")
        return v

    @field_validator("xmp_prefix", "xmp_property")
    @classmethod
    def _xml_name(cls, v: str) -> str:
        if not _NCNAME.match(v):
            raise ValueError(f"{v!r} is not a valid XML name (letters, digits, '_', '-', '.')")
        return v

    @field_validator("xmp_namespace")
    @classmethod
    def _namespace(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", v):
            raise ValueError(f"{v!r} is not a namespace URI")
        if v in _RESERVED_NAMESPACES:
            raise ValueError(f"{v!r} is a namespace XMP reserves for its own structure")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> CnGb45438Settings:
        if self.xmp_prefix in _RESERVED_PREFIXES:
            raise ValueError(f"xmp_prefix {self.xmp_prefix!r} is reserved by XMP; choose another")
        if (self.content_propagator is None) != (self.propagate_id_prefix is None):
            raise ValueError("content_propagator and propagate_id_prefix must be set together")
        return self


class EuAiActSettings(_Section):
    """EU AI Act Article 50(2): machine-readable marking (signed C2PA), a watermark, the log."""

    # When true the manifest must carry a trusted timestamp: ``c2pa.tsa_url`` must be set.
    require_timestamp: bool = False


class UsCaSb942Settings(_Section):
    """California SB 942: a latent disclosure (provider, system, time, unique id) in the manifest."""

    # The C2PA assertion label the disclosure is written under.
    assertion_label: str = "org.hallmark.ca-sb942.latent-disclosure"

    @field_validator("assertion_label")
    @classmethod
    def _label(cls, v: str) -> str:
        if not re.match(r"^[a-z0-9]+(?:[._-][a-z0-9]+)+$", v) or v.startswith(("c2pa.", "cawg.")):
            raise ValueError(f"{v!r} is not a namespaced assertion label of our own (e.g. org.example.x)")
        return v


class LabelsPolicy(_Section):
    """Which regulation profiles apply, who the provider is, and each profile's settings."""

    profiles: tuple[str, ...] = ()
    provider: str = "hallmark"
    cn_gb45438: CnGb45438Settings | None = None
    eu_ai_act: EuAiActSettings | None = None
    us_ca_sb942: UsCaSb942Settings | None = None

    @field_validator("profiles")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if name not in KNOWN_PROFILES:
                raise ValueError(
                    f"unknown labels profile {name!r}; known profiles: {', '.join(KNOWN_PROFILES)}"
                )
        dupes = sorted({n for n in v if v.count(n) > 1})
        if dupes:
            raise ValueError(f"labels profile listed twice: {', '.join(dupes)}")
        return v

    @field_validator("provider")
    @classmethod
    def _provider(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("labels.provider must name the provider")
        return v

    @model_validator(mode="after")
    def _settings_for_enabled_profiles(self) -> LabelsPolicy:
        for name in KNOWN_PROFILES:
            if getattr(self, name) is not None and name not in self.profiles:
                raise ValueError(f"settings for {name} are given but {name} is not in labels.profiles")
        return self

    def settings(self, name: str) -> _Section:
        """The settings of profile ``name`` (its defaults when the policy gives none)."""
        defaults: dict[str, type[_Section]] = {
            "cn_gb45438": CnGb45438Settings,
            "eu_ai_act": EuAiActSettings,
            "us_ca_sb942": UsCaSb942Settings,
        }
        if name not in defaults:
            raise ValueError(f"unknown labels profile {name!r}; known profiles: {', '.join(KNOWN_PROFILES)}")
        return getattr(self, name) or defaults[name]()


def profile_requirement_problems(policy: Policy) -> list[str]:
    """What the enabled profiles need from other sections of ``policy`` and do not get.

    The choice for retention is to refuse rather than to raise it silently: a policy that turns on
    ``cn_gb45438`` must itself say ``audit.retention_days: 183`` (or more), so that what the policy
    file says is what the audit log does.
    """
    labels = policy.labels
    problems: list[str] = []
    if "cn_gb45438" in labels.profiles and policy.audit.retention_days < CN_MIN_RETENTION_DAYS:
        problems.append(
            f"labels profile cn_gb45438 needs audit.retention_days >= {CN_MIN_RETENTION_DAYS} "
            f"(six months), the policy says {policy.audit.retention_days}"
        )
    if "eu_ai_act" in labels.profiles:
        if not policy.watermark.enabled:
            problems.append("labels profile eu_ai_act needs the watermark, but watermark.enabled is false")
        if not policy.c2pa.enabled:
            problems.append("labels profile eu_ai_act needs C2PA metadata, but c2pa.enabled is false")
        settings = labels.settings("eu_ai_act")
        if isinstance(settings, EuAiActSettings) and settings.require_timestamp and not policy.c2pa.tsa_url:
            problems.append("labels.eu_ai_act.require_timestamp is true but c2pa.tsa_url is not set")
    if "us_ca_sb942" in labels.profiles:
        if not policy.c2pa.enabled:
            problems.append(
                "labels profile us_ca_sb942 puts its disclosure in the C2PA manifest, but c2pa.enabled is false"
            )
        if not policy.watermark.enabled:
            problems.append(
                "labels profile us_ca_sb942 needs the watermark to resolve the disclosure, but watermark.enabled is false"
            )
    return problems


def check_profile_requirements(policy: Policy) -> None:
    """Raise ``ValueError`` (pydantic reports it at load) when a profile's needs are not met."""
    problems = profile_requirement_problems(policy)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValueError(problems[0] + more)
