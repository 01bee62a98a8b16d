"""The verdict of a verification, and the recovery of a manifest that was stripped or broken.

``_recover`` looks up the manifest stored for the audit record the watermark led to and
validates it against the file's bytes; ``_decide`` reduces every check to one ``Verdict`` with
an explanation naming the specifics (issuer, record, reason) for the image at hand.
"""

from __future__ import annotations

from hallmark.checks import CheckStatus

from ..c2pa import C2paReading, TrustConfig
from ..c2pa._codes import Assessment, CodeClass
from ..c2pa._read import STATE_REMOTE, STATE_UNSUPPORTED, read_c2pa
from ..c2pa._softbinding import SCHEME_PREFIX
from ..watermark import WatermarkReading
from ._binding import _watermark_verdict
from ._checks import ManifestLookup, _Run
from ._report import Check, Verdict

# A recovered manifest is checked against the file as found, whose bytes differ from the ones
# signed whenever it was re-saved: those mismatches are expected there, nothing else is.
_HARD_BINDING_MISMATCHES = frozenset(
    {"assertion.dataHash.mismatch", "assertion.boxesHash.mismatch", "assertion.bmffHash.mismatch"}
)


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
    other = [
        c
        for c in recovered.failures_of(
            CodeClass.INTEGRITY, CodeClass.CREDENTIAL, CodeClass.STRUCTURE, CodeClass.UNKNOWN
        )
        if c not in _HARD_BINDING_MISMATCHES
    ]
    policy_rid = (recovered.hallmark_policy or {}).get("record_id")
    details = {"record_id": record_id, "state": recovered.state, "codes": list(recovered.failure_codes)}
    if recovered.signature_validated and not other and policy_rid in (None, record_id):
        run.recovery_ok = True
        altered = any(c in _HARD_BINDING_MISMATCHES for c in recovered.content_failures)
        summary = "Recovered the stored credentials; their signature validates."
        if altered:
            summary = (
                "Recovered credentials; the image was altered after signing (re-saved, resized or edited)."
            )
        run.checks.append(Check("recovery", CheckStatus.PASSED, summary, recovered.failure_codes, details))
        return
    why = ", ".join(other) or recovered.error or "signature not validated"
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
    # Precedence: an embedded manifest decides first, by what its codes amount to (the table in
    # c2pa._codes): tampered, invalid credentials, unreadable, then a valid one, where trust comes
    # before attribution: only a signer that chains to a trust anchor can make it hallmark-signed.
    # Without a manifest: our watermark (recovered record, or the mark alone), then third-party
    # marks, then nothing.
    if c2pa.present:
        return _manifest_verdict(c2pa, ours, run=run)
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


def _manifest_verdict(c2pa: C2paReading, ours: list[WatermarkReading], *, run: _Run) -> tuple[Verdict, str]:
    issuer = c2pa.issuer or c2pa.signer or "an unknown issuer"
    assessment = c2pa.assessment
    if assessment is Assessment.TAMPERED:
        codes = c2pa.content_failures
        return Verdict.TAMPERED, (
            "This image carries Content Credentials, but the image or its credentials were changed after "
            f"signing: {_meanings(c2pa, codes)} ({', '.join(codes)}), so they cannot be relied on."
            + _recovery_note(run)
        )
    if assessment is Assessment.INVALID:
        codes = c2pa.credential_failures
        return Verdict.INVALID_CREDENTIALS, (
            f"This image carries Content Credentials from {issuer} that cannot be accepted: "
            f"{_meanings(c2pa, codes)} ({', '.join(codes)}). The image may be unaltered, but its origin "
            "cannot be confirmed." + _recovery_note(run)
        )
    if assessment is Assessment.UNREADABLE:
        codes = c2pa.failures_of(CodeClass.STRUCTURE)
        return Verdict.UNREADABLE_CREDENTIALS, (
            f"This image carries Content Credentials that cannot be read: {_meanings(c2pa, codes)} "
            f"({', '.join(codes)}). They neither confirm nor refute where it came from." + _recovery_note(run)
        )
    if assessment is Assessment.NOT_UNDERSTOOD:
        codes = c2pa.failures_of(CodeClass.UNKNOWN)
        what = (
            f"c2pa reported {', '.join(codes)}, which this version of hallmark does not understand"
            if codes
            else f"c2pa judged them {c2pa.state} for a reason this version of hallmark does not understand"
        )
        return Verdict.UNREADABLE_CREDENTIALS, (
            f"This image carries Content Credentials, but {what}; they neither confirm nor refute where it "
            "came from. A newer hallmark may read them." + _recovery_note(run)
        )
    signer = f"{c2pa.signer or 'an unnamed signer'} (issued by {c2pa.issuer or 'an unknown issuer'})"
    if _claims_hallmark(c2pa):
        if assessment is Assessment.TRUSTED:
            return Verdict.HALLMARK_SIGNED, (
                f"This image was {_made(c2pa)} by an AI system ({_agent(c2pa)}) using hallmark; its Content Credentials "
                f"are intact, say how it was made, and are signed by {signer}, a signer in your trust anchors."
            )
        if run.record and any(r.found for r in ours):
            run.warnings.append(
                f"the image carries hallmark's watermark made with your key for record {run.record.get('record_id')}, "
                "but that does not vouch for credentials signed by an untrusted key"
            )
        return Verdict.UNTRUSTED_SIGNER, (
            f"This image's Content Credentials claim it was made with hallmark, but they are signed by {signer}, "
            "which is not in your trust anchors (this home's CA, --trust or --trust-list). Anyone can copy "
            "hallmark's claims into credentials signed with their own key, so the claim cannot be confirmed."
        )
    if run.record and any(r.found for r in ours):
        run.warnings.append(
            f"the image also carries hallmark's watermark for record {run.record.get('record_id')}: it was "
            f"made with hallmark and later signed again by {issuer}"
        )
    trust = ""
    if assessment is Assessment.VALID:
        trust = (
            f" They are signed by {signer}, which is not in your trust anchors: they are intact, but who "
            "signed them cannot be confirmed."
        )
    if c2pa.ai_generated:
        return Verdict.C2PA_AI_GENERATED, (
            f"This image carries valid Content Credentials from {issuer} declaring that it was generated by AI."
            + trust
        )
    return Verdict.C2PA_SIGNED, (
        f"This image carries valid Content Credentials from {issuer}; they do not declare it AI-generated."
        + trust
    )


def _claims_hallmark(c2pa: C2paReading) -> bool:
    """The manifest says hallmark made the image: our policy assertion, a soft binding to one of
    our watermark schemes, or hallmark as its claim generator."""
    generator = (c2pa.claim_generator or "").split("/")[0].strip().lower()
    return (
        c2pa.hallmark_policy is not None
        or any(b["alg"].startswith(SCHEME_PREFIX) for b in c2pa.soft_bindings)
        or generator == "hallmark"
    )


def _meanings(c2pa: C2paReading, codes: tuple[str, ...]) -> str:
    by_code = {f.code: f.info.meaning for f in c2pa.failures}
    return "; ".join(dict.fromkeys(by_code.get(c) or c for c in codes))


def _recovery_note(run: _Run) -> str:
    bound = run.binding is None or run.binding.matched is not False  # a copied mark leads nowhere
    if not (run.recovery_ok and run.record and run.recovered and bound):
        return ""
    altered = any(c in _HARD_BINDING_MISMATCHES for c in run.recovered.failures_of(CodeClass.INTEGRITY))
    tail = " the image was altered after signing." if altered else " they validate against this file."
    return (
        f" Its watermark leads to hallmark record {run.record.get('record_id')}, whose stored credentials"
        f" were recovered:{tail}"
    )


def _made(c2pa: C2paReading) -> str:
    """'edited' when the manifest records an edit of an earlier image (see its chain), else 'made'."""
    return "edited" if any(a.get("action") == "c2pa.edited" for a in c2pa.actions) else "made"


def _agent(c2pa: C2paReading) -> str:
    agents = [
        a["software_agent"]
        for a in c2pa.actions
        if a.get("action") in ("c2pa.created", "c2pa.edited") and a.get("software_agent")
    ]
    return agents[0] if agents else "unknown model"


def _maker(reading: WatermarkReading) -> str:
    """'Stable Diffusion XL's reference pipeline' from a detail like 'made by ... (41/48 bits match)'."""
    if reading.detail.startswith("made by "):
        return reading.detail[len("made by ") :].split(" (")[0]
    return reading.scheme_id
