"""The verdict of a verification, and the recovery of a manifest that was stripped or broken.

``_recover`` looks up the manifest stored for the audit record the watermark led to and
validates it against the file's bytes; ``_decide`` reduces every check to one ``Verdict`` with
an explanation naming the specifics (issuer, record, reason) for the image at hand.
"""

from __future__ import annotations

from hallmark.checks import CheckStatus

from ..c2pa import C2paReading, TrustConfig
from ..c2pa._read import STATE_REMOTE, STATE_TRUSTED, STATE_UNSUPPORTED, read_c2pa
from ..watermark import WatermarkReading
from ._binding import _watermark_verdict
from ._checks import ManifestLookup, _Run
from ._report import Check, Verdict


def _recover(
    data: bytes, *, mime: str | None, trust: TrustConfig, manifest_lookup: ManifestLookup | None, run: _Run
) -> None:
    record_id = run.record.get("record_id") if run.record else None
    if not record_id:
        run.checks.append(
            Check(
                "recovery", CheckStatus.NOT_CHECKED, "No audit record was found to recover credentials from."
            )
        )
        return
    if manifest_lookup is None:
        run.checks.append(Check("recovery", CheckStatus.NOT_CHECKED, "No manifest store was given."))
        return
    try:
        store = manifest_lookup(str(record_id))
    except Exception as e:
        run.warnings.append(f"the manifest store lookup failed: {type(e).__name__}")
        run.checks.append(
            Check("recovery", CheckStatus.NOT_CHECKED, f"The manifest store failed ({type(e).__name__}).")
        )
        return
    if not store:
        run.checks.append(
            Check("recovery", CheckStatus.NOT_FOUND, f"No stored manifest for record {record_id}.")
        )
        return
    recovered = read_c2pa(data, mime=mime, trust=trust, manifest_data=store)
    run.recovered = recovered
    # Against altered pixels the hard binding must fail; what matters is that the claim
    # signature over the stored manifest still validates and names the same record.
    tolerated = {"assertion.dataHash.mismatch", "assertion.boxesHash.mismatch", "assertion.bmffHash.mismatch"}
    other = [c for c in recovered.content_failures if c not in tolerated]
    policy_rid = (recovered.hallmark_policy or {}).get("record_id")
    details = {"record_id": record_id, "state": recovered.state, "codes": list(recovered.failure_codes)}
    if (
        recovered.signature_validated
        and not other
        and not recovered.credential_failures
        and policy_rid
        in (
            None,
            record_id,
        )
    ):
        run.recovery_ok = True
        altered = "assertion.dataHash.mismatch" in recovered.content_failures
        summary = "Recovered the stored credentials; their signature validates."
        if altered:
            summary = (
                "Recovered credentials; the image was altered after signing (re-saved, resized or edited)."
            )
        run.checks.append(Check("recovery", CheckStatus.PASSED, summary, recovered.failure_codes, details))
        return
    why = (
        ", ".join(other + list(recovered.credential_failures)) or recovered.error or "signature not validated"
    )
    if recovered.state == STATE_UNSUPPORTED:
        run.checks.append(
            Check(
                "recovery",
                CheckStatus.NOT_CHECKED,
                f"A stored manifest exists but c2pa cannot read this format ({recovered.error}).",
                details=details,
            )
        )
        return
    if policy_rid not in (None, record_id):
        why = f"the stored manifest names another record ({policy_rid})"
    run.checks.append(
        Check(
            "recovery",
            CheckStatus.FAILED,
            f"The stored manifest does not validate: {why}.",
            recovered.failure_codes,
            details,
        )
    )


def _decide(
    c2pa: C2paReading, ours: list[WatermarkReading], third: list[WatermarkReading], *, run: _Run
) -> tuple[Verdict, str]:
    # Precedence: an embedded manifest that fails its content checks (tampered) or its credential
    # checks comes first; one that validates decides between hallmark-signed, c2pa-ai-generated
    # and c2pa-signed; without one, our watermark (recovered record, or the mark alone), then
    # third-party marks, then nothing.
    issuer = c2pa.issuer or c2pa.signer or "an unknown issuer"
    recovery_note = ""
    if run.recovery_ok and run.record:
        recovery_note = (
            f" Its watermark leads to hallmark record {run.record.get('record_id')}, whose stored credentials"
            " were recovered: the image was altered after signing."
        )
    if c2pa.present and c2pa.content_failures:
        return Verdict.TAMPERED, (
            "This image carries Content Credentials, but the image or its credentials were changed after "
            f"signing ({', '.join(c2pa.content_failures)}), so they cannot be relied on.{recovery_note}"
        )
    if c2pa.present and c2pa.credential_failures:
        reason = ", ".join(c2pa.credential_failures)
        plain = "the signing certificate has expired" if "signingCredential.expired" in reason else reason
        return Verdict.INVALID_CREDENTIALS, (
            f"This image carries Content Credentials from {issuer} that cannot be accepted: {plain}. "
            "The image may be unaltered, but its origin cannot be confirmed."
        )
    if c2pa.present:
        hallmark_claimed = c2pa.hallmark_policy is not None
        consistency = next((c for c in run.checks if c.name == "consistency"), None)
        confirmed = (
            c2pa.state == STATE_TRUSTED
            or (consistency is not None and consistency.status is CheckStatus.PASSED)
            or bool(run.record and run.record.get("file_matches_record"))
        )
        if hallmark_claimed and confirmed:
            return Verdict.HALLMARK_SIGNED, (
                f"This image was made by an AI system ({_agent(c2pa)}) using hallmark; its signed Content "
                "Credentials are intact and say how it was made."
            )
        if not hallmark_claimed and run.record and any(r.found for r in ours):
            run.warnings.append(
                f"the image also carries hallmark's watermark for record {run.record.get('record_id')}: it was "
                f"made with hallmark and later signed again by {issuer}"
            )
        if hallmark_claimed:
            run.warnings.append(
                "the credentials name hallmark, but the signer is not trusted and neither the watermark nor "
                "the audit log confirms it"
            )
        if c2pa.ai_generated:
            return Verdict.C2PA_AI_GENERATED, (
                f"This image carries valid Content Credentials from {issuer} declaring that it was generated by AI."
            )
        return Verdict.C2PA_SIGNED, (
            f"This image carries valid Content Credentials from {issuer}; they do not declare it AI-generated."
        )
    watermark = _watermark_verdict(ours, run=run)
    if watermark is not None:
        return watermark
    found = [r for r in third if r.found]
    if found:
        makers = ", ".join(_maker(r) for r in found)
        return Verdict.THIRD_PARTY_WATERMARK, (
            "No Content Credentials were found, but the image carries the public invisible watermark of "
            f"{makers}, which marks the images it generates as AI-made."
        )
    if c2pa.state == STATE_REMOTE:
        return Verdict.NO_PROVENANCE_FOUND, (
            f"The image points to Content Credentials stored online ({c2pa.remote_url}); they were not "
            "fetched because network access is off, and no known watermark was found."
        )
    return Verdict.NO_PROVENANCE_FOUND, (
        "No Content Credentials and no known watermark were found. That does not mean the image is "
        "authentic: most images carry no provenance at all."
    )


def _agent(c2pa: C2paReading) -> str:
    agents = [
        a["software_agent"]
        for a in c2pa.actions
        if a.get("action") == "c2pa.created" and a.get("software_agent")
    ]
    return agents[0] if agents else "unknown model"


def _maker(reading: WatermarkReading) -> str:
    """'Stable Diffusion XL's reference pipeline' from a detail like 'made by ... (41/48 bits match)'."""
    if reading.detail.startswith("made by "):
        return reading.detail[len("made by ") :].split(" (")[0]
    return reading.scheme_id
