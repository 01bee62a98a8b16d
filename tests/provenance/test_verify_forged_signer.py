"""Trust before attribution: credentials that copy hallmark's claims but are signed by a key the
verifier does not trust never earn a hallmark verdict, whatever else matches.

The attacks, each against a victim home (its CA trusted, its watermark key, audit log and manifest
store wired in, as ``hallmark verify --home`` does):

1. copied claims on any photo: an attacker's own CA (``init_keys`` in another folder) signs a
   photo with hallmark's policy assertion, soft binding and claim generator copied from a
   released image;
2. a released image re-signed: the attacker strips a real hallmark image and signs it again with
   the copied claims, so the watermark matches the soft binding (this one used to verify as
   ``hallmark-signed``, passed, exit 0, with only a warning about the signer);
3. a look-alike CA: certificates built with ``cryptography`` that copy the victim's CA and signer
   names exactly, with keys of the attacker's.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter

from hallmark import provenance as P
from hallmark.provenance import CheckStatus, TrustConfig, Verdict, verify_image

HALLMARK_VERDICTS = {Verdict.HALLMARK_SIGNED, Verdict.HALLMARK_RECOVERED, Verdict.HALLMARK_WATERMARK}


@dataclass
class Victim:
    keys: Path
    key: bytes
    trust: TrustConfig
    released: bytes
    scheme_id: str
    payload_hex: str
    record_id: str
    policy: dict[str, Any]
    options: dict[str, Any]


def texture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    return small.resize((512, 512), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Victim:
    from hallmark.provenance.watermark._registry import watermark_scheme, watermark_schemes

    root = tmp_path_factory.mktemp("victim")
    keys = root / "keys"
    P.init_keys(keys)
    key = P.load_watermark_key(keys)
    rid = str(uuid.UUID(int=7, version=4))
    scheme_id = watermark_schemes()[0]
    scheme = watermark_scheme(scheme_id, key=key)
    payload = P.payload_for_record(uuid.UUID(rid).bytes, scheme.payload_bits)
    policy = {"policy": {"id": "default", "version": 1}, "record_id": rid, "audit_log": "hallmark audit log"}
    spec = P.ManifestSpec(
        title=f"{rid}.png",
        software_agent="tiny-sd",
        watermark=P.SoftBinding(scheme_id, payload.hex()),
        policy_assertion=policy,
    )
    with P.C2paSigner.from_keys_dir(keys) as signer:
        released = signer.sign(png(scheme.embed(texture(1), payload)), mime="image/png", manifest=spec)
    store = P.ManifestStore(root / "manifests")
    store.put(rid, released.manifest_store)
    record = {"record_id": rid, "kind": "image.released", "model": "tiny-sd", "sha256": "0" * 64}

    def lookup(scheme: str, payload_hex: str) -> dict[str, Any] | None:
        return dict(record) if payload_hex == payload.hex() else None

    trust = TrustConfig.from_files(keys_dir=keys)
    options = {"trust": trust, "watermark_key": key, "lookup": lookup, "manifest_lookup": store.get}
    return Victim(keys, key, trust, released.data, scheme_id, payload.hex(), rid, policy, options)


@pytest.fixture(scope="module")
def attacker_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys = tmp_path_factory.mktemp("attacker") / "keys"
    P.init_keys(keys)  # a CA and a signer of the attacker's own, as valid as the victim's
    return keys


def forged_spec(victim: Victim) -> P.ManifestSpec:
    """hallmark's claims as a released image carries them, copied word for word."""
    return P.ManifestSpec(
        title=f"{victim.record_id}.png",
        software_agent="tiny-sd",
        claim_generator="hallmark",
        watermark=P.SoftBinding(victim.scheme_id, victim.payload_hex),
        policy_assertion=victim.policy,
    )


def assert_no_hallmark_claim(report: P.VerificationReport) -> None:
    assert report.verdict is Verdict.UNTRUSTED_SIGNER, report.explanation
    assert report.verdict not in HALLMARK_VERDICTS
    assert report.c2pa.valid and not report.c2pa.signer_trusted  # valid, but untrusted: kept apart
    assert report.check("c2pa").status is CheckStatus.CHECKED  # never "passed"
    assert not report.passed  # hallmark verify exits 1
    assert "not in your trust anchors" in report.explanation
    assert "changed after signing" not in report.explanation
    doc = report.to_dict()
    assert doc["verdict"] == "untrusted-signer" and doc["passed"] is False
    assert doc["c2pa"]["assessment"] == "valid" and doc["c2pa"]["signer_trusted"] is False


def test_the_victims_own_image_is_hallmark_signed(victim: Victim) -> None:
    report = verify_image(victim.released, **victim.options)
    assert report.verdict is Verdict.HALLMARK_SIGNED
    assert report.c2pa.signer_trusted and report.check("c2pa").status is CheckStatus.PASSED
    assert "a signer in your trust anchors" in report.explanation


def test_attack_copied_claims_on_a_photo(victim: Victim, attacker_keys: Path) -> None:
    calls: list[tuple[str, str]] = []
    options = dict(victim.options)
    lookup = options["lookup"]
    options["lookup"] = lambda s, p: calls.append((s, p)) or lookup(s, p)
    with P.C2paSigner.from_keys_dir(attacker_keys) as attacker:
        forged = attacker.sign(png(texture(2)), mime="image/png", manifest=forged_spec(victim))
    report = verify_image(forged.data, **options)
    assert_no_hallmark_claim(report)
    assert report.c2pa.hallmark_policy == victim.policy  # the claims are there, word for word
    # The copied soft binding is not followed into the audit log: no record is attributed.
    assert calls == [] and report.record is None
    assert report.check("audit").status is CheckStatus.NOT_CHECKED


def test_attack_released_image_resigned_with_copied_claims(victim: Victim, attacker_keys: Path) -> None:
    pixels = png(Image.open(io.BytesIO(victim.released)).convert("RGB"))  # manifest stripped, pixels kept
    with P.C2paSigner.from_keys_dir(attacker_keys) as attacker:
        forged = attacker.sign(pixels, mime="image/png", manifest=forged_spec(victim))
    report = verify_image(forged.data, **victim.options)
    # The watermark matches the copied soft binding and leads to the real record, which used to
    # confirm the claim: a matching watermark never upgrades an untrusted manifest.
    assert report.check("consistency").status is CheckStatus.PASSED
    assert report.record and report.record["record_id"] == victim.record_id
    assert_no_hallmark_claim(report)
    assert any("does not vouch for credentials signed by an untrusted key" in w for w in report.warnings)


def test_attack_look_alike_ca_with_the_victims_names(victim: Victim, tmp_path: Path) -> None:
    chain, key = look_alike_chain(victim.keys, tmp_path)
    with P.C2paSigner.from_files(chain, key) as attacker:
        forged = attacker.sign(png(texture(3)), mime="image/png", manifest=forged_spec(victim))
    report = verify_image(forged.data, **victim.options)
    victims_signer = P.read_key_info(victim.keys).subject
    assert report.c2pa.signer and report.c2pa.signer in victims_signer  # the very same name
    assert_no_hallmark_claim(report)


def test_trusting_the_attackers_ca_is_the_users_decision(victim: Victim, attacker_keys: Path) -> None:
    """With the attacker's CA given as an anchor (--trust), the same file is hallmark-signed:
    the anchor, not the claims, decides."""
    with P.C2paSigner.from_keys_dir(attacker_keys) as attacker:
        forged = attacker.sign(png(texture(2)), mime="image/png", manifest=forged_spec(victim))
    trust = TrustConfig.from_files([attacker_keys / "ca.pem"], keys_dir=victim.keys)
    report = verify_image(forged.data, **{**victim.options, "trust": trust})
    assert report.verdict is Verdict.HALLMARK_SIGNED


def test_without_any_anchor_no_hallmark_verdict(victim: Victim) -> None:
    report = verify_image(victim.released, watermark_key=victim.key, lookup=victim.options["lookup"])
    assert_no_hallmark_claim(report)


def look_alike_chain(victim_keys: Path, into: Path) -> tuple[Path, Path]:
    """A CA and an ES256 signer whose subjects copy the victim's, built with ``cryptography``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    victim_leaf, victim_ca = x509.load_pem_x509_certificates((victim_keys / "signer-chain.pem").read_bytes())
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    usage = dict.fromkeys(
        (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(victim_ca.subject)
        .issuer_name(victim_ca.subject)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage), critical=True
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(victim_leaf.subject)
        .issuer_name(ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = into / "look-alike-chain.pem"
    chain.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    )
    key = into / "look-alike.key"
    key.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key.chmod(0o600)
    return chain, key
