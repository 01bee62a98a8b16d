"""Key material: the development CA and signing certificate, file permissions, refusals."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hallmark.errors import KeyMaterialError
from hallmark.provenance import ensure_keys, init_keys, load_watermark_key, read_key_info
from hallmark.provenance.c2pa._keys import check_signing_certificate, load_chain, read_secret

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("home") / "keys"
    init_keys(d, now=NOW)
    return d


def test_init_writes_every_file_with_private_permissions(keys: Path) -> None:
    assert _mode(keys) == 0o700
    for name in ("ca.key", "signer.key", "watermark.key"):
        assert _mode(keys / name) == 0o600, name
    for name in ("ca.pem", "signer-chain.pem"):
        assert _mode(keys / name) == 0o644, name
    assert not [p for p in keys.iterdir() if p.name.endswith(".tmp")]
    assert len(load_watermark_key(keys)) == 32


def test_signing_certificate_meets_c2pa_requirements(keys: Path) -> None:
    leaf, ca = load_chain(keys / "signer-chain.pem")
    assert load_chain(keys / "ca.pem") == [ca]
    assert leaf.version == x509.Version.v3
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    leaf.verify_directly_issued_by(ca)
    check_signing_certificate(leaf, key_pem=(keys / "signer.key").read_bytes())


def test_ca_has_proper_ca_extensions(keys: Path) -> None:
    (ca,) = load_chain(keys / "ca.pem")
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    ca.verify_directly_issued_by(ca)


def test_key_info_describes_certificate_without_key_bytes(keys: Path) -> None:
    info = read_key_info(keys)
    assert "hallmark development signer" in info.subject
    assert "hallmark development CA" in info.issuer
    assert info.not_before == NOW - dt.timedelta(minutes=5)
    assert info.not_after > NOW + dt.timedelta(days=365 * 4)
    assert len(info.fingerprint) == 64
    assert info.files["signer.key"] == "0600" and info.files["ca.pem"] == "0644"
    text = repr(info.to_dict())
    for name in ("ca.key", "signer.key"):
        key_body = (keys / name).read_text().splitlines()[1]
        assert key_body not in text
    assert "PRIVATE" not in text
    assert info.problems == ()


def test_key_info_lists_problems(keys: Path, tmp_path: Path) -> None:
    later = read_key_info(keys, now=NOW + dt.timedelta(days=365 * 6))
    assert any("expired on" in p for p in later.problems)
    early = read_key_info(keys, now=NOW - dt.timedelta(days=1))
    assert any("not valid before" in p for p in early.problems)
    copy = tmp_path / "keys"
    init_keys(copy)
    os.chmod(copy / "signer.key", 0o644)
    (copy / "ca.key").unlink()
    (copy / "watermark.key").unlink()
    problems = read_key_info(copy).problems
    assert "watermark.key is missing" in problems
    assert not any("ca.key" in p for p in problems)
    assert any("signer.key has permissions 0644" in p for p in problems)
    (copy / "signer-chain.pem").write_bytes((copy / "ca.pem").read_bytes())
    assert any("CA:TRUE" in p for p in read_key_info(copy).problems)


def test_ensure_keys_creates_once(tmp_path: Path) -> None:
    d = tmp_path / "keys"
    first = ensure_keys(d)
    assert first.created
    again = ensure_keys(d)
    assert not again.created and again.fingerprint == first.fingerprint


def test_refuses_to_overwrite_without_force(keys: Path) -> None:
    before = (keys / "watermark.key").read_bytes()
    with pytest.raises(KeyMaterialError, match="refusing to overwrite") as e:
        init_keys(keys)
    assert "--force" in e.value.hint
    assert (keys / "watermark.key").read_bytes() == before


def test_force_replaces_every_key(tmp_path: Path) -> None:
    d = tmp_path / "keys"
    first = init_keys(d)
    wm = load_watermark_key(d)
    second = init_keys(d, force=True)
    assert second.created and second.fingerprint != first.fingerprint
    assert second.ca_fingerprint != first.ca_fingerprint
    assert load_watermark_key(d) != wm


def test_refuses_when_one_key_file_already_exists(tmp_path: Path) -> None:
    d = tmp_path / "keys"
    d.mkdir()
    (d / "watermark.key").write_bytes(b"x" * 32)
    with pytest.raises(KeyMaterialError, match=r"watermark\.key"):
        init_keys(d)


def test_naive_now_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        init_keys(tmp_path / "keys", now=dt.datetime(2026, 1, 1))


def test_missing_watermark_key_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match=r"watermark\.key is missing"):
        load_watermark_key(tmp_path)


def test_readable_key_file_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "keys"
    init_keys(d)
    os.chmod(d / "watermark.key", 0o644)
    with pytest.raises(KeyMaterialError, match="permissions 0644") as e:
        load_watermark_key(d)
    assert "chmod 600" in e.value.hint
    secret = (d / "watermark.key").read_bytes()
    assert secret.hex() not in str(e.value)


def test_wrong_length_watermark_key(tmp_path: Path) -> None:
    path = tmp_path / "watermark.key"
    path.write_bytes(b"short")
    path.chmod(0o600)
    with pytest.raises(KeyMaterialError, match="holds 5 bytes, expected 32"):
        load_watermark_key(tmp_path)


def test_key_path_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "watermark.key").mkdir(mode=0o700)
    with pytest.raises(KeyMaterialError, match="not a regular file"):
        load_watermark_key(tmp_path)


def test_unreadable_key_path(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(KeyMaterialError, match="cannot be read"):
        read_secret(tmp_path / "file" / "signer.key")


def test_missing_and_garbage_certificate_files(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match=r"signer-chain\.pem is missing"):
        read_key_info(tmp_path)
    (tmp_path / "signer-chain.pem").write_text("not a certificate")
    with pytest.raises(KeyMaterialError, match="no readable PEM certificate"):
        read_key_info(tmp_path)
    with pytest.raises(KeyMaterialError, match="cannot be read"):
        load_chain(tmp_path / "signer-chain.pem" / "x")


# -- certificates that C2PA would refuse ---------------------------------------------------------


def _cert(
    key: object | None = None,
    *,
    ca: bool = False,
    aki: bool = True,
    key_usage: str | None = "sig",
    eku: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    """A certificate signed by a throwaway issuer, with the extension under test changed."""
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if aki:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if key_usage is not None:
        sig = key_usage == "sig"
        b = b.add_extension(
            x509.KeyUsage(sig, False, not sig, False, False, False, False, False, False), critical=True
        )
    if eku is None:
        eku = [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ca": True}, "CA:TRUE"),
        ({"aki": False}, "no Authority Key Identifier"),
        ({"key_usage": None}, "no key usage"),
        ({"key_usage": "enc"}, "lacks digitalSignature"),
        ({"eku": []}, "no extended key usage"),
        ({"eku": [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]}, "anyExtendedKeyUsage"),
        ({"key": ec.generate_private_key(ec.SECP256K1())}, "secp256k1 is not P-256"),
        ({"key": rsa.generate_private_key(public_exponent=65537, key_size=1024)}, "1024 bits"),
        ({"key": ed448.Ed448PrivateKey.generate()}, "is not supported"),
    ],
)
def test_unsuitable_certificate_names_the_requirement(kwargs: dict, message: str) -> None:
    with pytest.raises(KeyMaterialError, match=message) as e:
        check_signing_certificate(_cert(**kwargs), source="x.pem")
    assert "unsuitable for C2PA" in str(e.value) and "emailProtection" in e.value.hint


def test_certificate_and_key_must_match() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyMaterialError, match="does not match the private key"):
        check_signing_certificate(_cert(), key_pem=pem)
    with pytest.raises(KeyMaterialError, match="not an unencrypted PEM key"):
        check_signing_certificate(_cert(), key_pem=b"-----BEGIN PRIVATE KEY-----\nAAAA\n")
