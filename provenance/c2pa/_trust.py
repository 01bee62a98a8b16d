"""Which C2PA signers a verifier trusts, and whether it may use the network.

Trust material is validated when it is loaded (every file must hold at least one readable PEM
certificate), so a typo in ``--trust`` fails before any image is read.  The settings it produces
always turn off remote manifest fetching and OCSP unless the network is explicitly allowed:
c2pa-rs fetches a manifest from the URL an image names by default, which would let any image make
the verifier connect to a server of the image author's choosing.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hallmark.errors import InputError

# The development CA that `hallmark keys init` writes into HALLMARK_HOME/keys.
DEV_CA_FILE = "ca.pem"


@dataclass(frozen=True)
class TrustAnchor:
    """One trusted certificate: its subject, SHA-256 fingerprint and the file it came from."""

    subject: str
    fingerprint: str
    source: str
    kind: str  # "anchor" (--trust), "trust-list" (C2PA trust list), "dev-ca" (HALLMARK_HOME)

    def to_dict(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "fingerprint": self.fingerprint,
            "source": self.source,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class TrustConfig:
    """Trust anchors for C2PA validation and the network switch.

    ``user_anchors_pem`` holds the user's anchors and the local development CA, ``trust_list_pem``
    a C2PA trust list (a PEM bundle of the anchors the C2PA conformance program publishes).  A
    manifest whose chain ends in one of them reads ``Trusted``; any other valid one reads
    ``Valid`` with ``signingCredential.untrusted``, which verification reports as a warning.
    """

    user_anchors_pem: str = ""
    trust_list_pem: str = ""
    anchors: tuple[TrustAnchor, ...] = ()
    allow_network: bool = False

    @classmethod
    def offline(cls) -> TrustConfig:
        """No anchors and no network: every valid signature reads ``Valid`` (untrusted)."""
        return cls()

    @classmethod
    def from_files(
        cls,
        anchors: Sequence[Path] = (),
        *,
        trust_list: Path | None = None,
        keys_dir: Path | None = None,
        allow_network: bool = False,
    ) -> TrustConfig:
        """Load PEM anchors from ``anchors`` (``--trust``), an optional C2PA trust list file and
        the development CA in ``keys_dir`` when it exists; raise ``InputError`` for a missing or
        unreadable file."""
        user_pems: list[str] = []
        found: list[TrustAnchor] = []
        for path in anchors:
            pem, certs = _read_pem_bundle(Path(path))
            user_pems.append(pem)
            found.extend(_anchor(c, source=str(path), kind="anchor") for c in certs)
        if keys_dir is not None and (Path(keys_dir) / DEV_CA_FILE).is_file():
            path = Path(keys_dir) / DEV_CA_FILE
            pem, certs = _read_pem_bundle(path)
            user_pems.append(pem)
            found.extend(_anchor(c, source=str(path), kind="dev-ca") for c in certs)
        list_pem = ""
        if trust_list is not None:
            list_pem, certs = _read_pem_bundle(Path(trust_list))
            found.extend(_anchor(c, source=str(trust_list), kind="trust-list") for c in certs)
        return cls(
            user_anchors_pem="".join(user_pems),
            trust_list_pem=list_pem,
            anchors=tuple(found),
            allow_network=allow_network,
        )

    def c2pa_settings(self) -> dict[str, Any]:
        """The c2pa-rs settings (for ``c2pa.Context.from_dict``) this configuration stands for."""
        trust: dict[str, Any] = {}
        if self.user_anchors_pem:
            # Settings.set("trust.user_anchors") is silently ignored; only a Context built from a
            # dict applies it (FACTS.md).
            trust["user_anchors"] = self.user_anchors_pem
        if self.trust_list_pem:
            trust["trust_anchors"] = self.trust_list_pem
        settings: dict[str, Any] = {
            "verify": {
                "verify_trust": True,
                "remote_manifest_fetch": self.allow_network,
                "ocsp_fetch": self.allow_network,
            }
        }
        if trust:
            settings["trust"] = trust
        return settings

    @functools.cached_property
    def cache_key(self) -> str:
        """A digest of the settings, so that equal configurations share one c2pa Context."""
        blob = json.dumps(self.c2pa_settings(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"anchors": [a.to_dict() for a in self.anchors], "allow_network": self.allow_network}


def _read_pem_bundle(path: Path) -> tuple[str, list[Any]]:
    from cryptography import x509

    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise InputError(
            f"trust file {path} does not exist", hint="Pass a PEM file of CA certificates."
        ) from e
    except OSError as e:
        raise InputError(f"cannot read trust file {path}: {e.strerror}") from e
    try:
        certs = x509.load_pem_x509_certificates(raw)
    except ValueError as e:
        raise InputError(
            f"trust file {path} holds no readable PEM certificate",
            hint="Pass a PEM file with one or more '-----BEGIN CERTIFICATE-----' blocks.",
        ) from e
    # Re-encode so that c2pa only ever sees the certificates, not whatever text surrounds them.
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certs)
    return pem, certs


def _anchor(cert: Any, *, source: str, kind: str) -> TrustAnchor:
    from cryptography.hazmat.primitives.serialization import Encoding

    return TrustAnchor(
        subject=cert.subject.rfc4514_string(),
        fingerprint=hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
        source=source,
        kind=kind,
    )
