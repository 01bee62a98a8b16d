"""Verify a found image: C2PA, every watermark we know, the audit record, manifest recovery, one verdict.

``verify_image`` runs each check and records it as passed, failed, not found or not checked,
with the codes the underlying library gave, then reduces them to one ``Verdict`` from a small
fixed set, each with a sentence a non-expert can read.  It never raises for a bad image (a
zero-byte, truncated, garbage or oversized file becomes a report with verdict ``error`` and a
reason); it raises ``InputError`` only when the path itself cannot be read.  provenance does not
import audit: the audit log arrives as a ``lookup`` callable that the pipeline wires in.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path

from hallmark.checks import CheckStatus

from ..c2pa import TrustConfig
from ..c2pa._read import read_c2pa
from ._binding import _bind
from ._chain import chain_checks
from ._checks import (
    AuditLookup,
    ManifestLookup,
    _audit,
    _c2pa_check,
    _consistency,
    _identity_checks,
    _read_our_watermarks,
    _read_third_party,
    _Run,
)
from ._decode import (
    DEFAULT_MAX_BYTES,
    _decode,
    _guess_mime,
    _misnamed,
    _read_source,
)
from ._duties import _duties, check_profile_names
from ._report import Check, VerificationReport
from ._verdict import _decide, _recover


def verify_image(
    source: Path | str | bytes,
    *,
    trust: TrustConfig | None = None,
    watermark_key: bytes | None = None,
    lookup: AuditLookup | None = None,
    manifest_lookup: ManifestLookup | None = None,
    schemes: Sequence[str] | None = None,
    profiles: Sequence[str] | None = None,
    now: dt.datetime | None = None,
    max_pixels: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> VerificationReport:
    """Check where an image came from: validate its C2PA manifest against ``trust``, read each
    of our watermark ``schemes`` with ``watermark_key`` and the known third-party marks, compare
    the manifest's soft binding with the decoded payload, resolve the payload through
    ``lookup(scheme_id, payload_hex)`` to an audit record summary, and when the manifest is
    missing or broken recover the stored one through ``manifest_lookup(record_id)``, and check the
    labelling duties of the profiles the image declares plus those named in ``profiles``.  Returns
    a report with one verdict; a path that cannot be read or an unknown profile raises
    ``InputError``.  Images declaring more than ``max_pixels`` pixels (default
    ``DEFAULT_MAX_PIXELS``, lower for WebP) are not decoded, files over ``max_bytes`` not read;
    only regular files are read."""
    started = time.perf_counter()
    wanted = check_profile_names(profiles)
    checked_at = (now or dt.datetime.now(dt.UTC)).isoformat()
    trust = trust or TrustConfig.offline()
    label, data, suffix = _read_source(source, max_bytes=max_bytes)
    run = _Run(label=label, checked_at=checked_at, started=started)
    if data is None:
        return run.error(f"the file is larger than the {max_bytes}-byte limit", image=None)
    info, image, pixel_error = _decode(data, max_pixels=max_pixels)
    if misnamed := _misnamed(suffix, info.format):
        run.warnings.append(misnamed)
    if image is not None and image.size != (info.width, info.height):
        run.warnings.append(
            f"the image is larger than the watermark readers take at full scale: they read a "
            f"{image.size[0]}x{image.size[1]} copy"
        )
    if not data:
        return run.error("the file is empty (zero bytes)", image=info)

    # 1. C2PA, on the bytes as they are.
    mime = info.mime or _guess_mime(suffix)
    c2pa = read_c2pa(data, mime=mime, trust=trust)
    run.c2pa = c2pa
    if image is None and not c2pa.present:
        return run.error(pixel_error or "not an image that can be read", image=info)
    run.checks.append(_c2pa_check(c2pa, run.warnings))
    run.checks.extend(_identity_checks(c2pa))
    run.checks.extend(chain_checks(c2pa))
    if pixel_error:
        run.warnings.append(f"the pixels could not be decoded ({pixel_error}); watermarks were not checked")

    # 2. Watermarks: ours with the key, then the marks other generators add.
    ours = _read_our_watermarks(image, key=watermark_key, schemes=schemes, run=run)
    third = _read_third_party(image, run=run)

    # 3. Audit: decoded payloads first, then the manifest's own soft binding.
    _audit(c2pa, ours, lookup=lookup, sha256=info.sha256, run=run)
    # ... and whether the picture is the one the record released, not a copy of its mark.
    _bind(image, ours, run=run)

    # 4. Recovery, when the manifest is missing or broken but a record was found.
    if not c2pa.valid or not c2pa.present:
        _recover(data, mime=mime, trust=trust, manifest_lookup=manifest_lookup, run=run)
    else:
        run.checks.append(
            Check("recovery", CheckStatus.NOT_CHECKED, "Not needed: the embedded manifest is intact.")
        )

    # 5. Consistency: the soft binding the (embedded or recovered) manifest signed against the
    # payload actually decoded.
    _consistency(c2pa if c2pa.present else (run.recovered or c2pa), ours, run=run)

    verdict, explanation = _decide(c2pa, ours, third, run=run)
    compliance, scope = _duties(
        data, c2pa, ours, third, key=watermark_key, lookup=lookup, profiles=wanted, run=run
    )
    return VerificationReport(
        source=label,
        verdict=verdict,
        explanation=explanation,
        checks=tuple(run.checks),
        warnings=tuple(dict.fromkeys(run.warnings)),
        image=info,
        c2pa=c2pa,
        watermarks=tuple(ours + third),
        record=run.record,
        recovered=run.recovered,
        compliance=compliance,
        profiles=scope,
        checked_at=checked_at,
        seconds=time.perf_counter() - started,
    )
