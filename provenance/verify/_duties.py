"""The labelling duties of a verification: only those of the profiles that apply to the image.

A profile's duties apply when the image declares the profile (hallmark's policy assertion names it,
or the image carries the profile's own marker) or when the verifier asks for it; listing every
known regulation's duties as "not met" for a photo that never claimed any would be noise.  The
profiles left out are named in the report, so nothing is left out silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hallmark.errors import InputError
from hallmark.policies import KNOWN_PROFILES

from ..c2pa import C2paReading
from ..watermark import WatermarkReading
from ._checks import AuditLookup, _Run
from ._report import ProfileScope


def check_profile_names(profiles: Sequence[str] | None) -> tuple[str, ...]:
    """``profiles`` as given, each a known profile name; raise ``InputError`` naming the known ones."""
    names = tuple(profiles or ())
    unknown = [n for n in names if n not in KNOWN_PROFILES]
    if unknown:
        raise InputError(
            f"unknown labels profile {unknown[0]!r}; known profiles: {', '.join(KNOWN_PROFILES)}",
            hint="Pass --profile with one of the known names.",
        )
    return names


def _duties(
    data: bytes,
    c2pa: C2paReading,
    ours: list[WatermarkReading],
    third: list[WatermarkReading],
    *,
    key: bytes | None,
    lookup: AuditLookup | None,
    profiles: tuple[str, ...],
    run: _Run,
) -> tuple[tuple[Any, ...], ProfileScope]:
    """Which labelling duties (EU AI Act art. 50, China's GB 45438, ...) of the profiles that apply
    the file as found meets: its own manifest, watermark, metadata labels and audit record; never
    the recovered manifest, which the file no longer carries."""
    from ..labels import check_compliance, declared_profiles, read_labels

    c2pa_facts: dict[str, Any] = {"present": False, "state": c2pa.state}
    if c2pa.present:
        c2pa_facts = {**c2pa.to_dict(), "valid": c2pa.valid, "assertions": list(c2pa.assertions)}
    found = next((r for r in ours if r.found), None) or next((r for r in third if r.found), None)
    watermark: dict[str, Any] | None = None
    if found is not None:
        payload = found.payload.hex() if found.payload else None
        watermark = {"found": True, "scheme_id": found.scheme_id, "payload": payload}
    elif key is not None and ours:
        watermark = {"found": False}
    audit: dict[str, Any] | None = None
    if run.record:
        audit = {"found": True, **run.record}
    elif lookup is not None:
        audit = {"found": False}
    try:
        labels = read_labels(data)
        declared = declared_profiles(c2pa=c2pa_facts, labels=labels)
        checked = [p for p in KNOWN_PROFILES if p in declared or p in profiles]
        rows = check_compliance(checked, c2pa=c2pa_facts, watermark=watermark, audit=audit, labels=labels)
    except Exception as e:  # compliance is advice on top of the verdict, never a reason to fail it
        run.warnings.append(f"the labelling compliance check failed: {type(e).__name__}")
        return (), ProfileScope(requested=profiles, not_checked=KNOWN_PROFILES)
    scope = ProfileScope(
        checked=tuple(checked),
        declared=tuple(declared),
        requested=profiles,
        not_checked=tuple(p for p in KNOWN_PROFILES if p not in checked),
    )
    return tuple(rows), scope
