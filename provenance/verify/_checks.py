"""The checks of a verification: the C2PA manifest, our watermarks, third-party watermarks, the
audit record, the consistency of manifest and watermark, and the labelling duties.

Each check appends one ``Check`` (or one per scheme) to the ``_Run`` it is given and never
raises for what it finds in the image: a detector or lookup that fails becomes a warning and a
check that was not run.  provenance does not import audit: the audit log arrives as a
``lookup`` callable that the pipeline wires in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hallmark.checks import CheckStatus

from ..c2pa import C2paReading
from ..c2pa._read import STATE_ABSENT, STATE_INVALID, STATE_REMOTE, STATE_TRUSTED, STATE_UNSUPPORTED
from ..watermark import WatermarkReading
from ._report import Check, ImageInfo, Verdict, VerificationReport

AuditLookup = Callable[[str, str], Mapping[str, Any] | None]
ManifestLookup = Callable[[str], bytes | None]

# What may leave the audit record in a report: never the prompt, the user or the raw parameters.
_RECORD_FIELDS = (
    "record_id",
    "kind",
    "created",
    "index",
    "model",
    "seed",
    "policy",
    "sha256",
    "scheme_id",
    "payload",
)


@dataclass
class _Run:
    """What one verification has gathered so far."""

    label: str
    checked_at: str
    started: float
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    c2pa: C2paReading | None = None
    record: dict[str, Any] | None = None
    record_scheme: str | None = None
    recovered: C2paReading | None = None
    recovery_ok: bool = False

    def error(self, reason: str, *, image: ImageInfo | None) -> VerificationReport:
        return VerificationReport(
            source=self.label,
            verdict=Verdict.ERROR,
            explanation=f"The file could not be checked: {reason}.",
            checks=tuple(self.checks),
            warnings=tuple(dict.fromkeys(self.warnings)),
            image=image,
            c2pa=self.c2pa,
            error=reason,
            checked_at=self.checked_at,
            seconds=time.perf_counter() - self.started,
        )


def _c2pa_check(c2pa: C2paReading, warnings_: list[str]) -> Check:
    details = {
        "state": c2pa.state,
        "signer": c2pa.signer,
        "issuer": c2pa.issuer,
        "claim_generator": c2pa.claim_generator,
        "ai_generated": c2pa.ai_generated,
    }
    codes = c2pa.failure_codes
    if c2pa.state == STATE_ABSENT:
        return Check("c2pa", CheckStatus.NOT_FOUND, "No Content Credentials (C2PA manifest) in the file.")
    if c2pa.state == STATE_REMOTE:
        warnings_.append(
            f"the Content Credentials are stored online at {c2pa.remote_url}; they were not fetched "
            "because network access is off (--allow-network)"
        )
        return Check(
            "c2pa",
            CheckStatus.NOT_CHECKED,
            "The file points at a remote manifest that was not fetched.",
            details={**details, "remote_url": c2pa.remote_url},
        )
    if c2pa.state == STATE_UNSUPPORTED:
        return Check("c2pa", CheckStatus.NOT_CHECKED, f"c2pa cannot read this format ({c2pa.error}).")
    if c2pa.untrusted and c2pa.valid:
        warnings_.append(
            f"the signer ({c2pa.signer or 'unknown'}, issued by {c2pa.issuer or 'unknown'}) is not in your "
            "trust anchors: the signature is valid but says nothing about who the signer is"
        )
    if c2pa.ingredient_errors:
        warnings_.append(
            "an ingredient (an earlier image this one was made from) carries credential errors: "
            + ", ".join(c2pa.ingredient_errors)
        )
    if c2pa.content_failures:
        return Check(
            "c2pa",
            CheckStatus.FAILED,
            "The credentials do not match the file: it was changed after signing ("
            + ", ".join(c2pa.content_failures)
            + ").",
            codes,
            details,
        )
    if c2pa.credential_failures:
        return Check(
            "c2pa",
            CheckStatus.FAILED,
            "The signing certificate cannot be accepted (" + ", ".join(c2pa.credential_failures) + ").",
            codes,
            details,
        )
    who = "a trusted signer" if c2pa.state == STATE_TRUSTED else "an untrusted signer"
    summary = f"The credentials validate ({c2pa.state}), signed by {who}: {c2pa.signer or 'unknown'}."
    if c2pa.state == STATE_INVALID:
        summary = "The image's own credentials validate; only an ingredient's credentials do not."
    return Check("c2pa", CheckStatus.PASSED, summary, codes, details)


def _read_our_watermarks(
    image: Any, *, key: bytes | None, schemes: Sequence[str] | None, run: _Run
) -> list[WatermarkReading]:
    from ..watermark import watermark_scheme, watermark_schemes

    ids = list(schemes) if schemes is not None else watermark_schemes()
    # Read the scheme the manifest names first; once one scheme decodes a payload (a keyed check
    # makes a false decode ~1e-15 likely) the slower ones add nothing but time.
    named = [b["alg"] for b in (run.c2pa.soft_bindings if run.c2pa else ()) if b["alg"] in ids]
    ids = list(dict.fromkeys(named + ids))
    readings: list[WatermarkReading] = []
    for scheme_id in ids:
        name = f"watermark:{scheme_id}"
        decoded = next((r.scheme_id for r in readings if r.found), None)
        if decoded is not None:
            run.checks.append(
                Check(name, CheckStatus.NOT_CHECKED, f"Skipped: {decoded} already decoded a payload.")
            )
            continue
        if key is None:
            run.checks.append(Check(name, CheckStatus.NOT_CHECKED, "No watermark key was given."))
            continue
        if image is None:
            run.checks.append(Check(name, CheckStatus.NOT_CHECKED, "The pixels could not be decoded."))
            continue
        scheme = watermark_scheme(scheme_id, key=key)
        # No size gate here: ``min_size`` is what a scheme needs to *embed*; detectors read
        # smaller images (crops, downscaled copies) and report "too small" themselves.
        try:
            reading = scheme.detect(image)
        except Exception as e:  # a detector crash must not take the whole verification down
            run.warnings.append(f"watermark detector {scheme_id} failed: {type(e).__name__}")
            run.checks.append(
                Check(name, CheckStatus.NOT_CHECKED, f"The detector failed ({type(e).__name__}).")
            )
            continue
        readings.append(reading)
        if not reading.found and min(image.size) < scheme.min_size:
            # Below the size the scheme marks, "no watermark found" would say more than we know.
            summary = (
                f"Too small to carry a watermark: {image.size[0]}x{image.size[1]} is under the "
                f"{scheme.min_size} px shortest side that {scheme_id} marks (no capacity, not no mark)."
            )
            run.checks.append(Check(name, CheckStatus.NOT_CHECKED, summary, details=reading.to_dict()))
            continue
        run.checks.append(_reading_check(name, reading, ours=True))
    return readings


def _read_third_party(image: Any, *, run: _Run) -> list[WatermarkReading]:
    from ..watermark import detect_third_party

    if image is None:
        run.checks.append(Check("third-party", CheckStatus.NOT_CHECKED, "The pixels could not be decoded."))
        return []
    try:
        readings = list(detect_third_party(image))
    except Exception as e:  # a detector crash must not take the whole verification down
        run.warnings.append(f"third-party watermark detection failed: {type(e).__name__}")
        run.checks.append(
            Check("third-party", CheckStatus.NOT_CHECKED, f"The detectors failed ({type(e).__name__}).")
        )
        return []
    for reading in readings:
        run.checks.append(_reading_check(f"third-party:{reading.scheme_id}", reading, ours=False))
    return readings


def _reading_check(name: str, reading: WatermarkReading, *, ours: bool) -> Check:
    details = reading.to_dict()
    fpp = reading.false_positive_probability
    strength = f"confidence {reading.confidence:.2f}"
    if reading.bit_errors is not None:
        strength += f", {reading.bit_errors} bit errors"
    if fpp is not None:
        strength += f", false-positive probability {fpp:.2g}"
    if reading.found:
        what = f"payload {reading.payload.hex()}" if ours and reading.payload else "mark present"
        return Check(name, CheckStatus.PASSED, f"Watermark found ({what}; {strength}).", details=details)
    if reading.bit_errors is None and any(w in reading.detail for w in ("small", "not readable")):
        return Check(name, CheckStatus.NOT_CHECKED, f"Not read: {reading.detail}.", details=details)
    return Check(name, CheckStatus.NOT_FOUND, "No watermark found.", details=details)


def _consistency(c2pa: C2paReading, ours: list[WatermarkReading], *, run: _Run) -> None:
    decoded = {r.scheme_id: r.payload.hex() for r in ours if r.found and r.payload}
    bindings = [b for b in c2pa.soft_bindings if b["alg"]] if c2pa.present else []
    if not bindings or not decoded:
        why = "no soft binding in the manifest" if not bindings else "no watermark payload was decoded"
        run.checks.append(Check("consistency", CheckStatus.NOT_CHECKED, f"Nothing to compare: {why}."))
        return
    comparable = [b for b in bindings if b["alg"] in decoded]
    if not comparable:
        run.checks.append(
            Check(
                "consistency",
                CheckStatus.NOT_CHECKED,
                "The manifest's soft binding names a scheme whose watermark was not decoded.",
                details={"bindings": bindings, "decoded": decoded},
            )
        )
        return
    mismatched = [b for b in comparable if _normalise_payload(b["value"]) != decoded[b["alg"]]]
    details = {"bindings": comparable, "decoded": decoded}
    if mismatched:
        run.checks.append(
            Check(
                "consistency",
                CheckStatus.FAILED,
                "The watermark in the pixels carries a different payload than the manifest declares.",
                ("softBinding.mismatch",),
                details,
            )
        )
    else:
        run.checks.append(
            Check(
                "consistency",
                CheckStatus.PASSED,
                "The watermark payload matches the manifest's soft binding.",
                (),
                details,
            )
        )


def _normalise_payload(value: str) -> str:
    """Soft-binding values are hex in our manifests; accept base64 from other writers."""
    v = value.strip().lower()
    try:
        bytes.fromhex(v)
        return v
    except ValueError:
        import base64
        import binascii

        try:
            return base64.b64decode(value, validate=True).hex()
        except (binascii.Error, ValueError):
            return v


def _audit(
    c2pa: C2paReading, ours: list[WatermarkReading], *, lookup: AuditLookup | None, sha256: str, run: _Run
) -> None:
    keys: list[tuple[str, str]] = [(r.scheme_id, r.payload.hex()) for r in ours if r.found and r.payload]
    if c2pa.valid:
        keys += [(b["alg"], _normalise_payload(b["value"])) for b in c2pa.soft_bindings if b["alg"]]
    keys = list(dict.fromkeys(keys))
    if lookup is None:
        run.checks.append(Check("audit", CheckStatus.NOT_CHECKED, "No audit log was given."))
        return
    if not keys:
        run.checks.append(
            Check("audit", CheckStatus.NOT_CHECKED, "No watermark payload or soft binding to look up.")
        )
        return
    for scheme_id, payload_hex in keys:
        try:
            found = lookup(scheme_id, payload_hex)
        except Exception as e:
            run.warnings.append(f"the audit log lookup failed: {type(e).__name__}")
            run.checks.append(
                Check("audit", CheckStatus.NOT_CHECKED, f"The audit log lookup failed ({type(e).__name__}).")
            )
            return
        if found:
            record = audit_summary(found)
            record.setdefault("scheme_id", scheme_id)
            record.setdefault("payload", payload_hex)
            matches = record.get("sha256") == sha256 if record.get("sha256") else None
            record["file_matches_record"] = matches
            run.record = record
            run.record_scheme = scheme_id
            tail = ""
            if matches is True:
                tail = " The file is byte-for-byte the released image."
            elif matches is False:
                tail = " The file differs from the released bytes (re-saved or edited since)."
            run.checks.append(
                Check(
                    "audit",
                    CheckStatus.PASSED,
                    f"Audit record {record.get('record_id')} ({record.get('kind')}, {record.get('created')}).{tail}",
                    details=record,
                )
            )
            return
    run.checks.append(
        Check(
            "audit",
            CheckStatus.NOT_FOUND,
            "No audit record matches the payload.",
            details={"looked_up": keys},
        )
    )


def audit_summary(record: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The part of an audit record a verification report may show: ids, time, model, policy, a
    decision summary (actions, rule ids, categories) and the image hash; never the prompt, the
    user, the generation parameters or a matched span of text."""
    if not isinstance(record, Mapping):
        record = {
            k: getattr(record, k) for k in (*_RECORD_FIELDS, "decisions", "erased") if hasattr(record, k)
        }
    out: dict[str, Any] = {k: record[k] for k in _RECORD_FIELDS if k in record and _plain(record[k])}
    if isinstance(record.get("decisions"), Mapping):
        out["decisions"] = {str(stage): _decision_summary(d) for stage, d in record["decisions"].items()}
    if record.get("erased"):
        out["erased"] = True
    return out


def _plain(value: Any) -> bool:
    if isinstance(value, str | int | float | bool) or value is None:
        return True
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return False


def _decision_summary(decision: Any) -> dict[str, Any]:
    if isinstance(decision, str):
        return {"action": decision}
    if not isinstance(decision, Mapping):
        return {}
    out: dict[str, Any] = {}
    if isinstance(decision.get("action"), str):
        out["action"] = decision["action"]
    rules: list[str] = []
    categories: list[str] = []
    for finding in decision.get("findings") or ():
        if isinstance(finding, Mapping):
            if isinstance(finding.get("rule_id"), str):
                rules.append(finding["rule_id"])
            if isinstance(finding.get("category"), str):
                categories.append(finding["category"])
    if rules:
        out["rules"] = list(dict.fromkeys(rules))
    if categories:
        out["categories"] = list(dict.fromkeys(categories))
    scores = decision.get("scores")
    if isinstance(scores, Mapping):
        out["scores"] = {str(k): round(float(v), 4) for k, v in scores.items() if isinstance(v, int | float)}
    return out


def _compliance(
    data: bytes,
    c2pa: C2paReading,
    ours: list[WatermarkReading],
    third: list[WatermarkReading],
    *,
    key: bytes | None,
    lookup: AuditLookup | None,
    run: _Run,
) -> tuple[Any, ...]:
    """Which labelling duties (EU AI Act art. 50, China's GB 45438, ...) the file as found meets:
    its own manifest, watermark, metadata labels and audit record; never the recovered manifest,
    which the file no longer carries."""
    from ..labels import check_compliance, read_labels

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
        return tuple(check_compliance(None, c2pa=c2pa_facts, watermark=watermark, audit=audit, labels=labels))
    except Exception as e:  # compliance is advice on top of the verdict, never a reason to fail it
        run.warnings.append(f"the labelling compliance check failed: {type(e).__name__}")
        return ()
