"""CAWG identity assertions (``cawg.identity``): who a manifest names, and whether that holds.

An identity assertion is a second signature inside a manifest: a person or an organisation (an
X.509 certificate, ``cawg.x509.cose``) or a set of verified accounts vouched for by an identity
service (``cawg.identity_claims_aggregation``) signs the manifest's hard binding.  c2pa-python
decodes and validates it by default, against its own, separate identity trust anchors (none by
default, so identities usually read unverified).  Whatever the identity's outcome, it describes
the identity only: the manifest's own validity is decided by its own codes (c2pa-rs tolerates
every ``cawg.x509.*`` failure for the same reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._codes import IDENTITY_LABEL, CodeClass, classify, identity_label

IdentityState = Literal["verified", "unverified", "invalid"]


@dataclass(frozen=True)
class IdentityReading:
    """One identity assertion: who it names, whether that was verified, why, and its codes."""

    label: str
    sig_type: str
    named: str
    issuer: str | None
    state: IdentityState
    reason: str
    codes: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return self.state == "verified"

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "sig_type": self.sig_type,
            "named": self.named,
            "issuer": self.issuer,
            "state": self.state,
            "verified": self.verified,
            "reason": self.reason,
            "codes": list(self.codes),
        }


def read_identities(
    assertions: Iterable[Mapping[str, Any]],
    *,
    success: Iterable[tuple[str, str]],
    failure: Iterable[tuple[str, str]],
    informational: Iterable[tuple[str, str]] = (),
) -> tuple[IdentityReading, ...]:
    """One ``IdentityReading`` per ``cawg.identity`` assertion of the active manifest, from the
    decoded assertions and the active manifest's ``(code, url)`` statuses."""
    by_label: dict[str, dict[str, list[str]]] = {}
    for kind, entries in (("success", success), ("failure", failure), ("informational", informational)):
        for code, url in entries:
            label = identity_label(url)
            if label is not None and classify(code, url=url).identity:
                by_label.setdefault(label, {}).setdefault(kind, []).append(code)
    out = []
    for assertion in assertions:
        label = str(assertion.get("label", ""))
        if label.split("__")[0] != IDENTITY_LABEL:
            continue
        data = assertion.get("data")
        data = data if isinstance(data, Mapping) else {}
        codes = by_label.get(label, {})
        sig_type, named, issuer = _who(data)
        state, reason = _judge(codes, url_label=label)
        every = codes.get("success", []) + codes.get("informational", []) + codes.get("failure", [])
        out.append(
            IdentityReading(label, sig_type, named, issuer, state, reason, tuple(dict.fromkeys(every)))
        )
    return tuple(out)


def _who(data: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(sig_type, who is named, issuer) from an identity assertion as c2pa decodes it."""
    payload = data.get("signer_payload") or data.get("c2paAsset") or {}
    sig_type = str(payload.get("sig_type", "")) if isinstance(payload, Mapping) else ""
    info = data.get("signature_info")
    if isinstance(info, Mapping):  # an X.509 identity: the certificate's subject and issuer
        name = info.get("common_name") or "an unnamed certificate holder"
        issuer = info.get("issuer")
        return sig_type, str(name), str(issuer) if issuer else None
    identities = data.get("verifiedIdentities")
    if isinstance(identities, list):  # identity claims aggregation: accounts a service verified
        names = [_account(i) for i in identities if isinstance(i, Mapping)]
        issuer = data.get("issuer")
        return (
            sig_type,
            "; ".join(n for n in names if n) or "no named identity",
            str(issuer) if issuer else None,
        )
    return sig_type, "an identity this version cannot read", None


def _account(identity: Mapping[str, Any]) -> str:
    who = identity.get("name") or identity.get("username") or identity.get("uri") or ""
    provider = identity.get("provider")
    via = provider.get("name") or provider.get("id") if isinstance(provider, Mapping) else None
    kind = str(identity.get("type", "")).removeprefix("cawg.").replace("_", " ")
    if not who:
        return f"{kind} via {via}" if via else kind
    return f"{who} ({kind} via {via})" if via else f"{who} ({kind})"


def _judge(codes: Mapping[str, list[str]], *, url_label: str) -> tuple[IdentityState, str]:
    def infos(kind: str) -> list[Any]:
        return [classify(c, url=f"self#jumbf=c2pa.assertions/{url_label}") for c in codes.get(kind, [])]

    failures = infos("failure") + infos("informational")
    invalid = [i for i in failures if i.code_class is CodeClass.IDENTITY_INVALID]
    if invalid:
        return "invalid", "; ".join(dict.fromkeys(i.meaning for i in invalid))
    unverified = [i for i in failures if i.code_class is CodeClass.IDENTITY_UNVERIFIED]
    if unverified:
        return "unverified", "; ".join(dict.fromkeys(i.meaning for i in unverified))
    ok = {i.code for i in infos("success")}
    if ok & {"cawg.x509.credential.trusted", "cawg.ica.credential_valid", "signingCredential.trusted"}:
        return "verified", "its credential validates and is trusted"
    return "unverified", "no trust decision was reported for it"
