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
from ..c2pa._codes import Assessment, CodeClass
from ..c2pa._read import STATE_INVALID
from ..watermark import WatermarkReading
from ._report import Check, ImageInfo, Verdict, VerificationReport

AuditLookup = Callable[[str, str], Mapping[str, Any] | None]
# A decode says "made with your key" only when an unmarked image yields one this strong with at
# most this probability (``WatermarkReading.false_positive_probability``, calibrated by
# measurement): wm1 reports ~5e-8 per image; dwtdctsvd-bch, with no keyed check, ~2e-4.
KEYED_EVIDENCE = 1e-6
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
    "fingerprint",
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
    fingerprint: dict[str, Any] | None = None  # the record's content fingerprint, kept out of reports
    binding: Any = None  # the watermark room's ContentBinding, once compared

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
    """The manifest's check: passed only when it validates *and* its signer is trusted; a valid
    manifest from an untrusted signer is ``checked`` (intact, signer unconfirmed), never passed."""
    assessment = c2pa.assessment
    details = {
        "state": c2pa.state,
        "assessment": assessment.value,
        "signer": c2pa.signer,
        "issuer": c2pa.issuer,
        "signer_trusted": c2pa.signer_trusted,
        "claim_generator": c2pa.claim_generator,
        "ai_generated": c2pa.ai_generated,
    }
    # The manifest's own codes; an identity's are on its own line (``_identity_checks``).
    codes = tuple(f.code for f in c2pa.failures if not f.info.identity) + tuple(
        f"ingredient:{f.code}" for f in c2pa.ingredient_failures
    )
    if assessment is Assessment.ABSENT:
        return Check("c2pa", CheckStatus.NOT_FOUND, "No Content Credentials (C2PA manifest) in the file.")
    if assessment is Assessment.REMOTE:
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
    if assessment is Assessment.UNSUPPORTED:
        return Check("c2pa", CheckStatus.NOT_CHECKED, f"c2pa cannot read this format ({c2pa.error}).")
    if c2pa.ingredient_errors:
        warnings_.append(
            "an ingredient (an earlier image this one was made from) carries credential errors: "
            + ", ".join(c2pa.ingredient_errors)
        )
    failing = {
        Assessment.TAMPERED: (
            CodeClass.INTEGRITY,
            CheckStatus.FAILED,
            "The credentials do not match the file: it was changed after signing",
        ),
        Assessment.INVALID: (
            CodeClass.CREDENTIAL,
            CheckStatus.FAILED,
            "The signature or its certificate cannot be accepted",
        ),
        Assessment.UNREADABLE: (
            CodeClass.STRUCTURE,
            CheckStatus.NOT_CHECKED,
            "The credentials cannot be read",
        ),
        Assessment.NOT_UNDERSTOOD: (
            CodeClass.UNKNOWN,
            CheckStatus.NOT_CHECKED,
            "The credentials report a status this version of hallmark does not understand",
        ),
    }
    if assessment in failing:
        cls, status, lead = failing[assessment]
        found = c2pa.failures_of(cls) or (c2pa.state,)
        raised = f"; c2pa said: {c2pa.error}" if c2pa.error else ""
        return Check("c2pa", status, f"{lead} ({', '.join(found)}{raised}).", codes, details)
    own = ""
    if c2pa.state == STATE_INVALID and c2pa.ingredient_failures:
        # c2pa's state counts ingredients; the image's own manifest holds.
        own = "The image's own credentials validate; only an ingredient's credentials do not. "
    signer = f"{c2pa.signer or 'unknown'}, issued by {c2pa.issuer or 'unknown'}"
    if assessment is Assessment.TRUSTED:
        summary = f"{own}The credentials validate and the signer is in your trust anchors ({signer})."
        return Check("c2pa", CheckStatus.PASSED, summary.strip(), codes, details)
    warnings_.append(
        f"the signer ({signer}) is not in your trust anchors: the signature is valid but says nothing "
        "about who the signer is"
    )
    summary = (
        f"{own}The credentials are intact (valid), but the signer ({signer}) is not in your trust anchors: "
        "who signed them cannot be confirmed."
    )
    return Check("c2pa", CheckStatus.CHECKED, summary, codes, details)


def _identity_checks(c2pa: C2paReading) -> list[Check]:
    """One line per CAWG identity assertion: who it names, and whether that was verified and why.
    It describes the identity only; the manifest's own check and verdict do not depend on it."""
    status = {
        "verified": CheckStatus.PASSED,
        "unverified": CheckStatus.CHECKED,
        "invalid": CheckStatus.FAILED,
    }
    out = []
    for n, identity in enumerate(c2pa.identities if c2pa.present else ()):
        name = "identity" if n == 0 else f"identity:{n + 1}"
        by = f" (issued by {identity.issuer})" if identity.issuer else ""
        word = {"verified": "verified", "unverified": "not verified", "invalid": "does not validate"}
        summary = f"Names {identity.named}{by}: {word[identity.state]} ({identity.reason})."
        out.append(Check(name, status[identity.state], summary, identity.codes, identity.to_dict()))
    return out


def _read_our_watermarks(
    image: Any, *, key: bytes | None, schemes: Sequence[str] | None, run: _Run
) -> list[WatermarkReading]:
    from ..watermark import verify_schemes, watermark_scheme, watermark_schemes

    ids = list(schemes) if schemes is not None else verify_schemes()
    # Read the scheme the manifest names first (by default any scheme we know: the manifest asks
    # for it); once a keyed scheme decodes a payload the slower ones add nothing but time.
    readable = ids if schemes is not None else watermark_schemes()
    named = [b["alg"] for b in (run.c2pa.soft_bindings if run.c2pa else ()) if b["alg"] in readable]
    ids = list(dict.fromkeys(named + ids))
    readings: list[WatermarkReading] = []
    for scheme_id in ids:
        name = f"watermark:{scheme_id}"
        decoded = next((r.scheme_id for r in readings if r.found and _keyed(r)), None)
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


def _keyed(reading: WatermarkReading) -> bool:
    """Whether a decode is strong enough to say "made with your key" on its own."""
    p = reading.false_positive_probability
    return reading.found and p is not None and p <= KEYED_EVIDENCE


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
    # Trust before attribution: a manifest's soft binding leads to a record only when its signer is
    # trusted; anyone can copy a released image's binding into credentials of their own.
    if c2pa.assessment is Assessment.TRUSTED:
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
            fingerprint = record.pop("fingerprint", None)
            run.fingerprint = dict(fingerprint) if isinstance(fingerprint, Mapping) else None
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
    """The part of an audit record a verification may use: ids, time, model, policy, a decision
    summary (actions, rule ids, categories), the image hash and the released picture's content
    fingerprint (which verify compares and keeps out of its report); never the prompt, the user,
    the generation parameters or a matched span of text."""
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
