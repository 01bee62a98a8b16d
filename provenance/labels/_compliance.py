"""At verification: the labels an image's metadata carries, and which duties of each regulation
profile the evidence a verifier found meets."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from hallmark.policies import LabelsPolicy

from ._integrity import _TC260_PRODUCER_FIELDS, _check_code
from ._registry import PROFILES, _profile_class
from ._regulation import IPTC_EXT_NS, ComplianceRow, LabelReading, _Evidence
from ._xmp import extract_xmp, find_properties

# hallmark's policy assertion; its ``stages.labels`` names the profiles an image was labelled for.
POLICY_LABEL = "org.hallmark.policy"


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


def declared_profiles(
    *,
    c2pa: Mapping[str, Any] | None = None,
    labels: LabelReading | None = None,
) -> list[str]:
    """The profiles an image declares, in registry order: those hallmark's policy assertion says
    it labelled the image for (``stages.labels``: ``"applied: cn_gb45438,eu_ai_act"``), and those
    whose own marker it carries (a profile's manifest assertion, a TC260 label in its XMP).
    ``c2pa`` is the same plain summary ``check_compliance`` takes."""
    ev = _Evidence(c2pa=c2pa, watermark=None, audit=None, labels=labels)
    named: set[str] = set()
    policy = ev.assertion(POLICY_LABEL)
    stages = policy.get("stages") if policy is not None else None
    labelled = stages.get("labels") if isinstance(stages, Mapping) else None
    if isinstance(labelled, str) and labelled.startswith("applied:"):
        named.update(n.strip() for n in labelled.split(":", 1)[1].split(","))
    return [name for name in PROFILES if name in named or PROFILES.get(name).declared(ev)]


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
