"""The table of C2PA validation status codes (provenance/c2pa/_codes.py), walked whole: every
entry, put where c2pa would report it, gets through ``verify_image`` the verdict its class
implies; a code the table does not know is "not understood", never tampered.

The Reader's JSON is replaced by one built here for each code (``read_c2pa`` is patched): the
files c2pa can be made to produce cover a handful of codes, the table covers them all.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pytest
from PIL import Image

from hallmark.provenance import CheckStatus, Verdict, verify_image
from hallmark.provenance.c2pa._codes import CODES, CodeClass, classify
from hallmark.provenance.c2pa._read import _describe

M = "urn:c2pa:00000000-0000-4000-8000-000000000001"
SIGNATURE = f"self#jumbf=/c2pa/{M}/c2pa.signature"
IDENTITY = f"self#jumbf=/c2pa/{M}/c2pa.assertions/cawg.identity"

# What each class implies, written out (the spec's validation states): a code that held up, an
# informational one or an untrusted signer leave a valid manifest valid; CAWG identity codes are
# about the identity, never the manifest.
VERDICT_OF_CLASS = {
    CodeClass.SUCCESS: Verdict.C2PA_SIGNED,
    CodeClass.INFORMATIONAL: Verdict.C2PA_SIGNED,
    CodeClass.UNTRUSTED: Verdict.C2PA_SIGNED,
    CodeClass.INTEGRITY: Verdict.TAMPERED,
    CodeClass.CREDENTIAL: Verdict.INVALID_CREDENTIALS,
    CodeClass.STRUCTURE: Verdict.UNREADABLE_CREDENTIALS,
    CodeClass.IDENTITY_OK: Verdict.C2PA_SIGNED,
    CodeClass.IDENTITY_UNVERIFIED: Verdict.C2PA_SIGNED,
    CodeClass.IDENTITY_INVALID: Verdict.C2PA_SIGNED,
}
IDENTITY_TRUST = {"cawg.x509.credential.trusted", "cawg.ica.credential_valid"}
CHECK_OF_CLASS = {
    Verdict.C2PA_SIGNED: CheckStatus.CHECKED,  # valid, signer not trusted here
    Verdict.TAMPERED: CheckStatus.FAILED,
    Verdict.INVALID_CREDENTIALS: CheckStatus.FAILED,
    Verdict.UNREADABLE_CREDENTIALS: CheckStatus.NOT_CHECKED,
}

# Every code c2pa-rs defines (contentauth/c2pa-rs@24d1755 sdk/src/validation_results.rs,
# ``validation_codes``; c2pa-python 0.38.1 bundles c2pa-rs 0.91.3) and every code of the spec's
# tables 2-4 (C2PA 2.2 §15): the table must classify each one.
C2PA_RS_CODES = """
algorithm.deprecated algorithm.unsupported assertion.accessible assertion.action.ingredientMismatch
assertion.action.malformed assertion.action.redacted assertion.action.redactionMismatch
assertion.bmffHash.malformed assertion.bmffHash.match assertion.bmffHash.mismatch
assertion.boxesHash.malformed assertion.boxesHash.match assertion.boxesHash.mismatch
assertion.boxesHash.unknownBox assertion.cbor.invalid assertion.cloud-data.actions
assertion.cloud-data.hardBinding assertion.cloud-data.malformed assertion.collectionHash.incorrectFileCount
assertion.collectionHash.invalidURI assertion.collectionHash.malformed assertion.collectionHash.match
assertion.collectionHash.mismatch assertion.dataHash.additionalExclusionsPresent assertion.dataHash.malformed
assertion.dataHash.match assertion.dataHash.mismatch assertion.dataHash.redacted assertion.hashedURI.match
assertion.hashedURI.mismatch assertion.inaccessible assertion.ingredient.malformed assertion.json.invalid
assertion.metadata.disallowed assertion.missing assertion.multipleHardBindings assertion.notRedacted
assertion.outsideManifest assertion.required.missing assertion.selfRedacted assertion.timestamp.malformed
assertion.undeclared cawg.ica.untrusted_issuer cawg.x509.algorithm.unsupported cawg.x509.credential.invalid
cawg.x509.credential.trusted cawg.x509.credential.untrusted cawg.x509.signature.mismatch
cawg.x509.signature.outside_validity cawg.x509.signature.validated claim.cbor.invalid
claim.hardBindings.missing claim.malformed claim.missing claim.multiple claim.required.missing
claimSignature.insideValidity claimSignature.mismatch claimSignature.missing claimSignature.outsideValidity
claimSignature.validated general.error hashedURI.mismatch hashedURI.missing ingredient.claimSignature.mismatch
ingredient.claimSignature.missing ingredient.claimSignature.validated ingredient.hashedURI.mismatch
ingredient.manifest.mismatch ingredient.manifest.missing ingredient.manifest.validated
ingredient.unknownProvenance manifest.compressed.invalid manifest.inaccessible manifest.multipleParents
manifest.timestamp.invalid manifest.timestamp.wrongParents manifest.unknownProvenance manifest.unreferenced
manifest.update.invalid manifest.update.wrongParents signingCredential.expired signingCredential.invalid
signingCredential.ocsp.inaccessible signingCredential.ocsp.notRevoked signingCredential.ocsp.revoked
signingCredential.ocsp.skipped signingCredential.ocsp.unknown signingCredential.trusted
signingCredential.untrusted timeOfSigning.insideValidity timeStamp.malformed timeStamp.mismatch
timeStamp.outsideValidity timeStamp.trusted timeStamp.untrusted timeStamp.validated
""".split()
SPEC_22_ONLY = """
assertion.multiAssetHash.malformed assertion.multiAssetHash.match assertion.multiAssetHash.mismatch
assertion.multiAssetHash.missingPart timeOfSigning.outsideValidity
""".split()
# Raised by c2pa-rs as errors, or written by its CAWG identity validation (sdk/src/identity).
C2PA_RS_OTHER = """
com.adobe.prerelease cawg.identity.well-formed cawg.identity.cbor.invalid cawg.identity.pad.invalid
cawg.identity.assertion.mismatch cawg.identity.assertion.duplicate cawg.identity.hard_binding_missing
cawg.identity.sig_type.unknown cawg.ica.credential_valid cawg.ica.time_stamp.validated cawg.ica.did_unavailable
cawg.ica.invalid_issuer cawg.ica.invalid_did_document cawg.ica.invalid_cose_sign1 cawg.ica.invalid_alg
cawg.ica.invalid_content_type cawg.ica.invalid_verifiable_credential cawg.ica.signature_mismatch
cawg.ica.signer_payload.mismatch cawg.ica.time_stamp.invalid cawg.ica.valid_from.missing
cawg.ica.valid_from.invalid cawg.ica.valid_until.invalid
""".split()


def store(
    *, state: str, success: Sequence[Any] = (), informational: Sequence[Any] = (), failure: Sequence[Any] = ()
) -> dict[str, Any]:
    """A Reader JSON document (c2pa-python 0.38 shape) for one manifest with an identity assertion."""

    def st(entry: Any) -> dict[str, str]:
        code, url = entry if isinstance(entry, tuple) else (entry, SIGNATURE)
        return {"code": code, "url": url, "explanation": "written by the test"}

    base = [st("claimSignature.validated"), st("claimSignature.insideValidity")]
    return {
        "active_manifest": M,
        "manifests": {
            M: {
                "claim_generator_info": [{"name": "camera"}],
                "title": "t",
                "signature_info": {"common_name": "a signer", "issuer": "a CA"},
                "assertions": [
                    {"label": "c2pa.actions.v2", "data": {"actions": [{"action": "c2pa.created"}]}},
                    {
                        "label": "cawg.identity",
                        "data": {
                            "signer_payload": {"sig_type": "cawg.x509.cose"},
                            "signature_info": {"common_name": "Alice", "issuer": "Identity CA"},
                        },
                    },
                ],
            }
        },
        "validation_state": state,
        "validation_results": {
            "activeManifest": {
                "success": base + [st(c) for c in success],
                "informational": [st(c) for c in informational],
                "failure": [st(c) for c in failure],
            }
        },
    }


@pytest.fixture
def verify_store(monkeypatch: pytest.MonkeyPatch) -> Any:
    """verify_image on a plain PNG whose C2PA reading comes from the given Reader JSON."""
    from hallmark.provenance.verify import _verify

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(buf, "PNG")

    def run(doc: dict[str, Any]) -> Any:
        monkeypatch.setattr(_verify, "read_c2pa", lambda *a, **k: _describe(doc, remote_url=None))
        return verify_image(buf.getvalue(), schemes=[])

    return run


def placed(code: str, cls: CodeClass) -> dict[str, Any]:
    """The Reader JSON with ``code`` where c2pa reports a code of its class (worst case for the
    codes that must not count as failures: listed as failures, with c2pa calling it Invalid)."""
    if cls is CodeClass.SUCCESS:
        return store(state="Valid", success=[code], failure=["signingCredential.untrusted"])
    if cls is CodeClass.INFORMATIONAL:
        return store(state="Invalid", failure=[code, "signingCredential.untrusted"])
    if cls is CodeClass.UNTRUSTED:
        return store(state="Valid", failure=[code])
    if cls is CodeClass.IDENTITY_OK:
        return store(state="Valid", success=[(code, IDENTITY)], failure=["signingCredential.untrusted"])
    if cls in (CodeClass.IDENTITY_UNVERIFIED, CodeClass.IDENTITY_INVALID):
        return store(state="Invalid", failure=["signingCredential.untrusted", (code, IDENTITY)])
    return store(state="Invalid", failure=[code, "signingCredential.untrusted"])


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_gets_the_verdict_of_its_class(code: str, verify_store: Any) -> None:
    cls = classify(code, url=IDENTITY if code.startswith("cawg.") else SIGNATURE).code_class
    expected = VERDICT_OF_CLASS[cls]
    report = verify_store(placed(code, cls))
    assert report.verdict is expected, (code, cls, report.explanation)
    assert report.check("c2pa").status is CHECK_OF_CLASS[expected]
    if expected is not Verdict.TAMPERED:
        assert "changed after signing" not in report.explanation
    if cls is CodeClass.INFORMATIONAL:
        assert report.passed  # informational codes are never failures
    if code.startswith("cawg."):
        line = report.check("identity")
        state = {
            # A check that held up; only a trust decision makes the identity verified.
            CodeClass.IDENTITY_OK: {"verified"} if code in IDENTITY_TRUST else {"unverified"},
            CodeClass.IDENTITY_UNVERIFIED: {"unverified"},
            CodeClass.IDENTITY_INVALID: {"invalid"},
        }[cls]
        assert line.details["state"] in state and code in line.codes
    report.to_dict()  # JSON-ready


def test_the_table_knows_every_code_c2pa_can_report() -> None:
    missing = [c for c in C2PA_RS_CODES + SPEC_22_ONLY + C2PA_RS_OTHER if c not in CODES]
    assert not missing
    assert all(meaning for _, meaning in CODES.values())


@pytest.mark.parametrize("code", ["assertion.teleport.mismatch", "claimSignature.quantumBroken"])
def test_an_unknown_code_is_not_understood_never_tampered(code: str, verify_store: Any) -> None:
    report = verify_store(store(state="Invalid", failure=[code, "signingCredential.untrusted"]))
    assert classify(code).code_class is CodeClass.UNKNOWN
    assert report.verdict is Verdict.UNREADABLE_CREDENTIALS
    assert "does not understand" in report.explanation and code in report.explanation
    assert "changed after signing" not in report.explanation
    assert report.c2pa.assessment.value == "not-understood"
    assert report.check("c2pa").status is CheckStatus.NOT_CHECKED
    assert not report.passed


def test_an_unknown_code_beside_a_known_failure_keeps_the_known_verdict(verify_store: Any) -> None:
    report = verify_store(
        store(state="Invalid", failure=["assertion.teleport.mismatch", "assertion.dataHash.mismatch"])
    )
    assert report.verdict is Verdict.TAMPERED


def test_an_unknown_identity_code_only_touches_the_identity(verify_store: Any) -> None:
    report = verify_store(store(state="Invalid", failure=[("cawg.future.check_failed", IDENTITY)]))
    assert report.verdict is Verdict.C2PA_SIGNED
    assert report.check("identity").details["state"] == "unverified"


def test_invalid_for_no_reason_the_table_knows_is_not_understood(verify_store: Any) -> None:
    doc = store(state="Invalid")
    doc["validation_results"]["activeManifest"]["success"] = []  # not even the signature validated
    report = verify_store(doc)
    assert report.verdict is Verdict.UNREADABLE_CREDENTIALS
    assert "does not understand" in report.explanation


def test_a_state_this_version_does_not_know_is_still_a_manifest(verify_store: Any) -> None:
    report = verify_store(store(state="WellFormed", failure=["signingCredential.untrusted"]))
    assert report.c2pa.present
    assert report.verdict is Verdict.UNREADABLE_CREDENTIALS and "WellFormed" in report.explanation


def test_strongest_class_decides(verify_store: Any) -> None:
    both = store(
        state="Invalid", failure=["claim.malformed", "claimSignature.mismatch", "assertion.dataHash.mismatch"]
    )
    assert verify_store(both).verdict is Verdict.TAMPERED
    sig = store(state="Invalid", failure=["claim.malformed", "claimSignature.mismatch"])
    assert verify_store(sig).verdict is Verdict.INVALID_CREDENTIALS


def test_a_trusted_identity_does_not_make_the_signer_trusted(verify_store: Any) -> None:
    """c2pa-rs 0.90 reported an identity's certificate as signingCredential.trusted under the
    identity's URL: that says nothing about the claim signer."""
    doc = store(
        state="Valid",
        success=[("signingCredential.trusted", IDENTITY)],
        failure=["signingCredential.untrusted"],
    )
    report = verify_store(doc)
    assert not report.c2pa.signer_trusted
    assert report.check("c2pa").status is CheckStatus.CHECKED
    assert report.check("identity").details["state"] == "verified"
