"""Every C2PA validation status code c2pa-python can report, classified once.

The classes follow the spec's validation states (C2PA 2.2 §15, tables 2-4; c2pa-rs
``validation_results.rs``): a manifest is *well-formed* when it can be parsed, *valid* when its
signature and hashes hold, *trusted* when its signer chains to a trust anchor.  Each failure code
says which of those steps broke, and that decides the verdict: a broken hash or binding means the
image or its manifest changed after signing (``tampered``); a broken signature or credential means
the signature cannot vouch for anything (``invalid-credentials``); a malformed, unsupported or
unreadable manifest says nothing either way (``unreadable-credentials``).  ``timeStamp.*`` and the
other informational codes are never failures, and an untrusted signer is a fact about trust, not
about integrity.  CAWG identity assertion codes describe the identity named inside the manifest,
never the manifest itself.  A code that is not in this table is *not understood* by this version:
it is reported as such, never guessed at.

Sources: the spec's tables; c2pa-rs ``validation_results::validation_codes`` and its
``validation_status`` remapping of errors (``com.adobe.prerelease``, ``general.error``); the CAWG
identity codes of c2pa-rs ``sdk/src/identity``; the codes present in the c2pa-python 0.38.1 binary
(c2pa-rs 0.91.3).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CodeClass(enum.Enum):
    """What a validation status code says about a manifest (or the identity it names)."""

    SUCCESS = "success"  # a check that held up
    INFORMATIONAL = "informational"  # worth showing, never a failure
    UNTRUSTED = "untrusted"  # the signature is valid; its signer is not in the trust anchors
    INTEGRITY = "integrity"  # the image or the manifest changed after signing -> tampered
    CREDENTIAL = "credential"  # the signature or its certificate cannot be accepted -> invalid-credentials
    STRUCTURE = "structure"  # malformed, unsupported or unreadable -> unreadable-credentials
    IDENTITY_OK = "identity-ok"  # CAWG identity: a check on the named identity held up
    IDENTITY_UNVERIFIED = "identity-unverified"  # CAWG identity: who is named cannot be confirmed
    IDENTITY_INVALID = "identity-invalid"  # CAWG identity: the identity assertion does not validate
    UNKNOWN = "unknown"  # not in this table: not understood by this version


# The classes that disqualify a manifest, strongest first: when several are present the first
# one found here decides the verdict.
DISQUALIFYING = (CodeClass.INTEGRITY, CodeClass.CREDENTIAL, CodeClass.STRUCTURE, CodeClass.UNKNOWN)
IDENTITY_CLASSES = frozenset(
    {CodeClass.IDENTITY_OK, CodeClass.IDENTITY_UNVERIFIED, CodeClass.IDENTITY_INVALID}
)

# Our own name for the spec's CAWG identity assertion label (numbered ``cawg.identity__1``...).
IDENTITY_LABEL = "cawg.identity"
# c2pa-rs 0.90 reported the identity's certificate with the manifest's own codes; only the URL,
# which names the identity assertion, tells the two signers apart.
_SIGNER_CODES_FOR_IDENTITY = {
    "signingCredential.trusted": CodeClass.IDENTITY_OK,
    "signingCredential.untrusted": CodeClass.IDENTITY_UNVERIFIED,
    "signingCredential.invalid": CodeClass.IDENTITY_INVALID,
    "signingCredential.expired": CodeClass.IDENTITY_UNVERIFIED,
    "signingCredential.ocsp.revoked": CodeClass.IDENTITY_INVALID,
}

_OK, _INFO, _UNTRUSTED = CodeClass.SUCCESS, CodeClass.INFORMATIONAL, CodeClass.UNTRUSTED
_INTEGRITY, _CREDENTIAL, _STRUCTURE = CodeClass.INTEGRITY, CodeClass.CREDENTIAL, CodeClass.STRUCTURE
_ID_OK, _ID_UNVERIFIED, _ID_INVALID = (
    CodeClass.IDENTITY_OK,
    CodeClass.IDENTITY_UNVERIFIED,
    CodeClass.IDENTITY_INVALID,
)

# code -> (class, what it means in words a non-expert can read)
CODES: dict[str, tuple[CodeClass, str]] = {
    # --- success (spec table 2) ---
    "claimSignature.validated": (_OK, "the claim signature validates"),
    "claimSignature.insideValidity": (_OK, "the signing certificate was valid when it signed"),
    "signingCredential.trusted": (_OK, "the signer chains to a trust anchor"),
    "signingCredential.ocsp.notRevoked": (_OK, "the signing certificate is not revoked"),
    "timeStamp.validated": (_OK, "the timestamp validates"),
    "timeStamp.trusted": (_OK, "the timestamp authority is trusted"),
    "assertion.hashedURI.match": (_OK, "an assertion matches the hash the claim signed"),
    "assertion.dataHash.match": (_OK, "the image bytes match the signed hash"),
    "assertion.bmffHash.match": (_OK, "the media boxes match the signed hash"),
    "assertion.boxesHash.match": (_OK, "the file's boxes match the signed hash"),
    "assertion.collectionHash.match": (_OK, "every file of the collection matches its signed hash"),
    "assertion.multiAssetHash.match": (_OK, "every part of the multi-part asset matches its signed hash"),
    "assertion.accessible": (_OK, "a remote assertion could be fetched"),
    "ingredient.manifest.validated": (_OK, "an ingredient's manifest matches the hash recorded for it"),
    "ingredient.claimSignature.validated": (_OK, "an ingredient's claim signature matches its recorded hash"),
    # --- informational (spec table 3; c2pa-rs log_kind) ---
    "timeOfSigning.insideValidity": (_INFO, "the time of signing lies inside the certificate's validity"),
    "timeOfSigning.outsideValidity": (
        _INFO,
        "the claimed time of signing lies outside the certificate's validity",
    ),
    "timeStamp.mismatch": (_INFO, "the timestamp does not match the claim"),
    "timeStamp.malformed": (_INFO, "the timestamp is malformed"),
    "timeStamp.outsideValidity": (_INFO, "the timestamp lies outside a certificate's validity"),
    "timeStamp.untrusted": (_INFO, "the timestamp authority is not trusted"),
    "signingCredential.ocsp.skipped": (_INFO, "revocation was not checked (network off)"),
    "signingCredential.ocsp.inaccessible": (_INFO, "the revocation service did not answer"),
    "algorithm.deprecated": (_INFO, "a deprecated algorithm was used"),
    "ingredient.unknownProvenance": (_INFO, "an ingredient carries no Content Credentials"),
    "manifest.unknownProvenance": (_INFO, "a manifest this version cannot interpret is present"),
    "assertion.dataHash.additionalExclusionsPresent": (
        _INFO,
        "the data hash excludes more bytes than needed",
    ),
    "assertion.bmffHash.additionalExclusionsPresent": (
        _INFO,
        "the BMFF hash excludes more boxes than needed",
    ),
    "assertion.boxesHash.additionalExclusionsPresent": (
        _INFO,
        "the box hash excludes more boxes than needed",
    ),
    # --- untrusted: valid, but who signed cannot be confirmed ---
    "signingCredential.untrusted": (_UNTRUSTED, "the signer is not in your trust anchors"),
    # --- integrity: changed after signing -> tampered ---
    "assertion.dataHash.mismatch": (_INTEGRITY, "the image bytes do not match the signed hash"),
    "assertion.bmffHash.mismatch": (_INTEGRITY, "the media boxes do not match the signed hash"),
    "assertion.boxesHash.mismatch": (_INTEGRITY, "the file's boxes do not match the signed hash"),
    "assertion.boxesHash.unknownBox": (_INTEGRITY, "the file holds a box the signed hash does not cover"),
    "assertion.collectionHash.mismatch": (
        _INTEGRITY,
        "a file of the collection does not match its signed hash",
    ),
    "assertion.collectionHash.incorrectFileCount": (_INTEGRITY, "a file of the signed collection is missing"),
    "assertion.multiAssetHash.mismatch": (
        _INTEGRITY,
        "a part of the multi-part asset does not match its signed hash",
    ),
    "assertion.hashedURI.mismatch": (_INTEGRITY, "an assertion was changed after the claim was signed"),
    "hashedURI.mismatch": (_INTEGRITY, "signed data does not match the hash that references it"),
    "ingredient.hashedURI.mismatch": (_INTEGRITY, "an ingredient's claim was changed after it was recorded"),
    "ingredient.manifest.mismatch": (
        _INTEGRITY,
        "an ingredient's manifest was changed after it was recorded",
    ),
    "ingredient.claimSignature.mismatch": (
        _INTEGRITY,
        "an ingredient's claim signature was changed after it was recorded",
    ),
    # --- signature and credential -> invalid-credentials ---
    "claimSignature.missing": (_CREDENTIAL, "the claim signature is missing"),
    "claimSignature.mismatch": (_CREDENTIAL, "the claim signature does not validate"),
    "claimSignature.outsideValidity": (
        _CREDENTIAL,
        "the claim was signed outside the certificate's validity",
    ),
    "signingCredential.invalid": (_CREDENTIAL, "the signing certificate is not valid for signing"),
    "signingCredential.expired": (_CREDENTIAL, "the signing certificate has expired"),
    "signingCredential.ocsp.revoked": (_CREDENTIAL, "the signing certificate has been revoked"),
    "signingCredential.ocsp.unknown": (
        _CREDENTIAL,
        "the revocation service does not know the signing certificate",
    ),
    # --- structure: malformed, unsupported, unreadable -> unreadable-credentials ---
    "claim.malformed": (_STRUCTURE, "the claim is malformed"),
    "claim.missing": (_STRUCTURE, "a referenced claim is missing"),
    "claim.multiple": (_STRUCTURE, "a manifest holds more than one claim"),
    "claim.cbor.invalid": (_STRUCTURE, "the claim is not valid CBOR"),
    "claim.required.missing": (_STRUCTURE, "the claim lacks a required field"),
    "claim.hardBindings.missing": (_STRUCTURE, "the claim binds to no content (no hard binding)"),
    "assertion.multipleHardBindings": (_STRUCTURE, "the claim has more than one hard binding"),
    "assertion.missing": (_STRUCTURE, "an assertion the claim lists is missing"),
    "assertion.undeclared": (_STRUCTURE, "the manifest holds an assertion the claim does not list"),
    "assertion.inaccessible": (_STRUCTURE, "a remote assertion could not be fetched"),
    "assertion.outsideManifest": (_STRUCTURE, "an assertion lies outside its manifest"),
    "assertion.notRedacted": (_STRUCTURE, "an assertion declared redacted is still present"),
    "assertion.selfRedacted": (_STRUCTURE, "a claim redacts its own assertion"),
    "assertion.required.missing": (_STRUCTURE, "an assertion lacks a required field"),
    "assertion.json.invalid": (_STRUCTURE, "an assertion is not valid JSON"),
    "assertion.cbor.invalid": (_STRUCTURE, "an assertion is not valid CBOR"),
    "assertion.action.ingredientMismatch": (_STRUCTURE, "an action names an ingredient that cannot be found"),
    "assertion.action.redactionMismatch": (_STRUCTURE, "an action names a redaction that cannot be found"),
    "assertion.action.redacted": (_STRUCTURE, "an actions assertion was redacted"),
    "assertion.action.malformed": (_STRUCTURE, "an actions assertion is malformed"),
    "assertion.dataHash.malformed": (_STRUCTURE, "the data hash assertion is malformed"),
    "assertion.dataHash.redacted": (_STRUCTURE, "the hard binding was redacted"),
    "assertion.bmffHash.malformed": (_STRUCTURE, "the BMFF hash assertion is malformed"),
    "assertion.boxesHash.malformed": (_STRUCTURE, "the box hash assertion is malformed"),
    "assertion.collectionHash.malformed": (_STRUCTURE, "the collection hash assertion is malformed"),
    "assertion.collectionHash.invalidURI": (
        _STRUCTURE,
        "the collection hash names a file outside the collection",
    ),
    "assertion.multiAssetHash.malformed": (_STRUCTURE, "the multi-asset hash assertion is malformed"),
    "assertion.multiAssetHash.missingPart": (_STRUCTURE, "a part of the multi-part asset cannot be located"),
    "assertion.cloud-data.hardBinding": (_STRUCTURE, "a hard binding sits in a cloud-data assertion"),
    "assertion.cloud-data.actions": (_STRUCTURE, "an update manifest's cloud data refers to actions"),
    "assertion.cloud-data.malformed": (_STRUCTURE, "a cloud-data assertion is malformed"),
    "assertion.ingredient.malformed": (_STRUCTURE, "an ingredient assertion is malformed"),
    "assertion.metadata.disallowed": (_STRUCTURE, "a metadata assertion holds a field the spec forbids"),
    "assertion.timestamp.malformed": (_STRUCTURE, "a timestamp assertion is malformed"),
    "hashedURI.missing": (_STRUCTURE, "signed data that a hash references cannot be found"),
    "ingredient.manifest.missing": (_STRUCTURE, "an ingredient's manifest is missing from the store"),
    "ingredient.claimSignature.missing": (_STRUCTURE, "an ingredient's claim signature is missing"),
    "manifest.inaccessible": (_STRUCTURE, "the manifest could not be fetched"),
    "manifest.multipleParents": (_STRUCTURE, "the manifest has more than one parent ingredient"),
    "manifest.update.invalid": (_STRUCTURE, "an update manifest holds assertions it may not hold"),
    "manifest.update.wrongParents": (_STRUCTURE, "an update manifest does not have exactly one parent"),
    "manifest.timestamp.invalid": (_STRUCTURE, "a timestamp manifest holds assertions it may not hold"),
    "manifest.timestamp.wrongParents": (_STRUCTURE, "a timestamp manifest does not have exactly one parent"),
    "manifest.compressed.invalid": (_STRUCTURE, "the compressed manifest is not valid"),
    "manifest.unreferenced": (_STRUCTURE, "the store holds a manifest nothing refers to"),
    "algorithm.unsupported": (_STRUCTURE, "it uses an algorithm this version does not support"),
    "general.error": (_STRUCTURE, "c2pa could not read the file or its manifest"),
    "com.adobe.prerelease": (_STRUCTURE, "it is a pre-release (pre-1.0) manifest this version does not read"),
    # --- CAWG identity assertions: about the identity named, never about the manifest ---
    "cawg.identity.well-formed": (_ID_OK, "the identity assertion is well-formed"),
    "cawg.identity.cbor.invalid": (_ID_INVALID, "the identity assertion is not valid CBOR"),
    "cawg.identity.pad.invalid": (_ID_INVALID, "the identity assertion's padding is not zero-filled"),
    "cawg.identity.assertion.mismatch": (
        _ID_INVALID,
        "the identity signs assertions this manifest does not hold",
    ),
    "cawg.identity.assertion.duplicate": (_ID_INVALID, "the identity references an assertion twice"),
    "cawg.identity.hard_binding_missing": (_ID_INVALID, "the identity does not bind to the image content"),
    "cawg.identity.sig_type.unknown": (
        _ID_UNVERIFIED,
        "the identity uses a credential type this version cannot check",
    ),
    "cawg.x509.signature.validated": (_ID_OK, "the identity's signature validates"),
    "cawg.x509.credential.trusted": (_ID_OK, "the identity's certificate chains to an identity trust anchor"),
    "cawg.x509.credential.untrusted": (
        _ID_UNVERIFIED,
        "the identity's certificate is not in your identity trust anchors",
    ),
    "cawg.x509.credential.invalid": (
        _ID_INVALID,
        "the identity's certificate does not meet the C2PA certificate profile",
    ),
    "cawg.x509.signature.mismatch": (_ID_INVALID, "the identity's signature does not validate"),
    "cawg.x509.algorithm.unsupported": (
        _ID_INVALID,
        "the identity is signed with an algorithm the spec does not allow",
    ),
    "cawg.x509.signature.outside_validity": (
        _ID_UNVERIFIED,
        "the identity was signed outside its certificate's validity",
    ),
    "cawg.ica.credential_valid": (_ID_OK, "the identity claims aggregation credential validates"),
    "cawg.ica.time_stamp.validated": (_ID_OK, "the identity credential's timestamp validates"),
    "cawg.ica.untrusted_issuer": (
        _ID_UNVERIFIED,
        "the identity credential's issuer is not in your trusted issuers",
    ),
    "cawg.ica.did_unavailable": (_ID_UNVERIFIED, "the identity issuer's DID document could not be fetched"),
    "cawg.ica.invalid_issuer": (_ID_INVALID, "the identity credential's issuer is not valid"),
    "cawg.ica.invalid_did_document": (_ID_INVALID, "the identity issuer's DID document is not valid"),
    "cawg.ica.invalid_cose_sign1": (_ID_INVALID, "the identity credential's signature envelope is malformed"),
    "cawg.ica.invalid_alg": (_ID_INVALID, "the identity credential names no usable signature algorithm"),
    "cawg.ica.invalid_content_type": (_ID_INVALID, "the identity credential has the wrong content type"),
    "cawg.ica.invalid_verifiable_credential": (
        _ID_INVALID,
        "the identity credential is not a valid verifiable credential",
    ),
    "cawg.ica.signature_mismatch": (_ID_INVALID, "the identity credential's signature does not validate"),
    "cawg.ica.signer_payload.mismatch": (_ID_INVALID, "the identity credential signs a different payload"),
    "cawg.ica.time_stamp.invalid": (_ID_INVALID, "the identity credential's timestamp does not validate"),
    "cawg.ica.valid_from.missing": (_ID_INVALID, "the identity credential has no start of validity"),
    "cawg.ica.valid_from.invalid": (_ID_UNVERIFIED, "the identity credential is not yet valid"),
    "cawg.ica.valid_until.invalid": (_ID_UNVERIFIED, "the identity credential has expired"),
}


@dataclass(frozen=True)
class CodeInfo:
    """One code as this table reads it: its class and a sentence (empty when not understood)."""

    code: str
    code_class: CodeClass
    meaning: str

    @property
    def identity(self) -> bool:
        return self.code_class in IDENTITY_CLASSES


def classify(code: str, *, url: str = "") -> CodeInfo:
    """The class of ``code`` as reported at ``url``.  A code about a CAWG identity assertion (a
    ``cawg.*`` code, or a signer code whose URL names the identity assertion) is an identity code;
    anything not in the table is ``UNKNOWN``."""
    if is_identity_url(url) and code in _SIGNER_CODES_FOR_IDENTITY:
        return CodeInfo(code, _SIGNER_CODES_FOR_IDENTITY[code], f"identity: {CODES[code][1]}")
    entry = CODES.get(code)
    if entry is not None:
        return CodeInfo(code, entry[0], entry[1])
    if code.startswith("cawg."):
        # A newer identity code: about the identity, and not understood, so never a confirmation.
        return CodeInfo(
            code, CodeClass.IDENTITY_UNVERIFIED, "an identity status this version does not understand"
        )
    return CodeInfo(code, CodeClass.UNKNOWN, "")


def is_identity_url(url: str) -> bool:
    """Whether a status URL points at a CAWG identity assertion (``.../cawg.identity``, ``__1``)."""
    return identity_label(url) is not None


def identity_label(url: str) -> str | None:
    """The identity assertion label a status URL names, or None."""
    last = url.rstrip("/").rsplit("/", 1)[-1].split("=")[-1]
    return last if last.split("__")[0] == IDENTITY_LABEL else None


class Assessment(enum.Enum):
    """What one manifest amounts to once its codes are read through the table."""

    TRUSTED = "trusted"  # valid, and the signer chains to a trust anchor
    VALID = "valid"  # valid, but the signer is not in the trust anchors: who signed is unconfirmed
    TAMPERED = "tampered"  # an integrity failure: changed after signing
    INVALID = "invalid-credentials"  # the signature or its certificate cannot be accepted
    UNREADABLE = "unreadable"  # malformed, unsupported or unreadable
    NOT_UNDERSTOOD = "not-understood"  # a code this table does not know, or Invalid for no known reason
    ABSENT = "absent"  # no manifest
    REMOTE = "remote"  # a manifest stored online that was not fetched
    UNSUPPORTED = "unsupported"  # c2pa does not read this file format

    @property
    def valid(self) -> bool:
        """The manifest's own signature and hashes hold (whoever signed it)."""
        return self in (Assessment.TRUSTED, Assessment.VALID)


# The assessment a disqualifying class leads to.
ASSESSMENT_FOR: dict[CodeClass, Assessment] = {
    CodeClass.INTEGRITY: Assessment.TAMPERED,
    CodeClass.CREDENTIAL: Assessment.INVALID,
    CodeClass.STRUCTURE: Assessment.UNREADABLE,
    CodeClass.UNKNOWN: Assessment.NOT_UNDERSTOOD,
}


def code_for_error(message: str) -> str:
    """The status code for a manifest c2pa refused to parse, from its error text, as c2pa-rs
    names the same errors when it logs them (``validation_status::code_from_error``)."""
    text = message.lower()
    if "prerelease" in text:
        return "com.adobe.prerelease"
    if "unknown algorithm" in text or "unsupported algorithm" in text or "unsupportedalgorithm" in text:
        return "algorithm.unsupported"
    if "claimmissing" in text or "claim missing" in text:
        return "claim.missing"
    return "general.error"
