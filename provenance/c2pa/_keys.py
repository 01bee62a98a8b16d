"""Key material under ``HALLMARK_HOME/keys``: a development CA, a C2PA signing certificate, the watermark key.

The signing certificate follows what c2pa-rs checks before it trusts a signer (FACTS.md): X.509 v3,
an Authority and a Subject Key Identifier, key usage digitalSignature only, no CA:TRUE, the
emailProtection extended key usage, and a P-256 key.  Private keys are written 0600 in a 0700
folder, and every loader refuses a key file that others can read, the way ssh does.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hallmark.errors import KeyMaterialError

CA_CERT = "ca.pem"
CA_KEY = "ca.key"
SIGNER_CHAIN = "signer-chain.pem"
SIGNER_KEY = "signer.key"
WATERMARK_KEY = "watermark.key"
KEY_FILES = (CA_CERT, CA_KEY, SIGNER_CHAIN, SIGNER_KEY, WATERMARK_KEY)
SECRET_FILES = frozenset({CA_KEY, SIGNER_KEY, WATERMARK_KEY})

WATERMARK_KEY_BYTES = 32
CA_VALIDITY = dt.timedelta(days=3650)
# Without a timestamp authority a manifest is judged at read time: once this certificate expires,
# images signed with it stop validating.  Five years keeps development images readable.
SIGNER_VALIDITY = dt.timedelta(days=1825)
# A little back-dating absorbs clock skew between the signing and the reading machine.
BACKDATE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class KeyInfo:
    """What ``hallmark keys show`` prints: the signing certificate and its issuer, never a key.

    ``fingerprint`` is the SHA-256 of the signing certificate's DER bytes (hex, colon-free);
    ``files`` maps each file in the keys folder to its permission bits (``"0600"``), or ``None``
    when it is absent.
    """

    keys_dir: Path
    subject: str
    issuer: str
    fingerprint: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    ca_subject: str | None
    ca_fingerprint: str | None
    files: dict[str, str | None]
    created: bool = False
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["keys_dir"] = str(self.keys_dir)
        d["not_before"] = self.not_before.isoformat()
        d["not_after"] = self.not_after.isoformat()
        return d


def init_keys(keys_dir: Path, *, force: bool = False, now: dt.datetime | None = None) -> KeyInfo:
    """Create a development CA, an ES256 C2PA signing certificate it issues and a watermark key.

    Writes ``ca.pem``, ``ca.key``, ``signer-chain.pem`` (signing certificate then CA),
    ``signer.key`` and ``watermark.key`` (32 random bytes) into ``keys_dir`` (created 0700; keys
    0600).  Refuses to replace existing key files unless ``force``: a new watermark key makes
    every earlier watermark unreadable, and a new CA makes earlier images untrusted.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    keys_dir = Path(keys_dir)
    existing = [name for name in KEY_FILES if (keys_dir / name).exists()]
    if existing and not force:
        raise KeyMaterialError(
            f"keys already exist in {keys_dir} ({', '.join(existing)}); refusing to overwrite",
            hint="Pass --force to replace them; images signed or watermarked with the old keys stop resolving.",
        )
    now = _utc(now)
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)

    # Every installation gets its own CA; a short random tag in the names tells them apart.
    tag = secrets.token_hex(4)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key, tag=tag, now=now)
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer_cert = _signer_certificate(signer_key, ca_key, ca_cert, tag=tag, now=now)

    def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    pem = serialization.Encoding.PEM
    _write(keys_dir / CA_KEY, pem_key(ca_key), mode=0o600)
    _write(keys_dir / SIGNER_KEY, pem_key(signer_key), mode=0o600)
    _write(keys_dir / WATERMARK_KEY, secrets.token_bytes(WATERMARK_KEY_BYTES), mode=0o600)
    _write(keys_dir / CA_CERT, ca_cert.public_bytes(pem), mode=0o644)
    _write(keys_dir / SIGNER_CHAIN, signer_cert.public_bytes(pem) + ca_cert.public_bytes(pem), mode=0o644)
    info = read_key_info(keys_dir, now=now)
    return KeyInfo(**{**asdict(info), "keys_dir": keys_dir, "created": True})


def ensure_keys(keys_dir: Path, *, now: dt.datetime | None = None) -> KeyInfo:
    """Create keys on first use: ``init_keys`` when ``keys_dir`` holds none of the key files,
    otherwise describe the ones there (a partial set fails later, when a file is loaded)."""
    keys_dir = Path(keys_dir)
    if not any((keys_dir / name).exists() for name in KEY_FILES):
        return init_keys(keys_dir, now=now)
    return read_key_info(keys_dir, now=now)


def read_key_info(keys_dir: Path, *, now: dt.datetime | None = None) -> KeyInfo:
    """Describe the signing certificate in ``keys_dir`` (subject, issuer, fingerprint, validity,
    file permissions, and any problem that would stop signing) without reading a private key."""
    from cryptography import x509

    keys_dir = Path(keys_dir)
    now = _utc(now)
    chain = load_chain(keys_dir / SIGNER_CHAIN)
    leaf = chain[0]
    ca_subject = ca_fingerprint = None
    ca_path = keys_dir / CA_CERT
    if ca_path.exists():
        ca = load_chain(ca_path)[0]
        ca_subject, ca_fingerprint = ca.subject.rfc4514_string(), _fingerprint(ca)
    files: dict[str, str | None] = {}
    for name in KEY_FILES:
        path = keys_dir / name
        files[name] = f"{stat.S_IMODE(path.stat().st_mode):04o}" if path.exists() else None
    assert isinstance(leaf, x509.Certificate)
    problems: list[str] = []
    try:
        check_signing_certificate(leaf, source=SIGNER_CHAIN)
    except KeyMaterialError as e:
        problems.append(str(e))
    if now > leaf.not_valid_after_utc:
        problems.append(f"the signing certificate expired on {leaf.not_valid_after_utc.isoformat()}")
    elif now < leaf.not_valid_before_utc:
        problems.append(
            f"the signing certificate is not valid before {leaf.not_valid_before_utc.isoformat()}"
        )
    for name in sorted(SECRET_FILES):
        mode = files[name]
        if mode is None:
            # ca.key is only needed to issue certificates; someone else's CA never gives us one.
            if name != CA_KEY:
                problems.append(f"{name} is missing")
        elif int(mode, 8) & 0o077:
            problems.append(f"{name} has permissions {mode}; others can read it (chmod 600)")
    return KeyInfo(
        keys_dir=keys_dir,
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        fingerprint=_fingerprint(leaf),
        serial=f"{leaf.serial_number:x}",
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        ca_subject=ca_subject,
        ca_fingerprint=ca_fingerprint,
        files=files,
        problems=tuple(problems),
    )


def load_watermark_key(keys_dir: Path) -> bytes:
    """The 32-byte watermark key from ``keys_dir/watermark.key`` (must be private to its owner)."""
    data = read_secret(Path(keys_dir) / WATERMARK_KEY)
    if len(data) != WATERMARK_KEY_BYTES:
        raise KeyMaterialError(
            f"{Path(keys_dir) / WATERMARK_KEY} holds {len(data)} bytes, expected {WATERMARK_KEY_BYTES}"
        )
    return data


def read_secret(path: Path) -> bytes:
    """Read a private key file, refusing one that is missing, unreadable or readable by others."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError as e:
        raise KeyMaterialError(f"key file {path} is missing") from e
    except OSError as e:
        raise KeyMaterialError(f"key file {path} cannot be read: {e.strerror}") from e
    if not stat.S_ISREG(st.st_mode):
        raise KeyMaterialError(f"key file {path} is not a regular file")
    if os.name == "posix" and stat.S_IMODE(st.st_mode) & 0o077:
        raise KeyMaterialError(
            f"key file {path} has permissions {stat.S_IMODE(st.st_mode):04o}; others can read it",
            hint=f"Run `chmod 600 {path}`.",
        )
    try:
        return path.read_bytes()
    except OSError as e:
        raise KeyMaterialError(f"key file {path} cannot be read: {e.strerror}") from e


def load_chain(path: Path) -> list[Any]:
    """The certificates in a PEM file, in file order (``x509.Certificate`` objects)."""
    from cryptography import x509

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise KeyMaterialError(f"certificate file {path} is missing") from e
    except OSError as e:
        raise KeyMaterialError(f"certificate file {path} cannot be read: {e.strerror}") from e
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise KeyMaterialError(f"certificate file {path} holds no readable PEM certificate") from e
    return chain


def check_signing_certificate(cert: Any, *, key_pem: bytes | None = None, source: str = "") -> None:
    """Refuse a signing certificate that c2pa-rs would reject or that readers would distrust,
    naming the first requirement it misses (FACTS.md lists them)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID

    where = f"signing certificate {source}".strip()

    def bad(why: str) -> KeyMaterialError:
        return KeyMaterialError(
            f"{where} is unsuitable for C2PA: {why}",
            hint="Use `hallmark keys init`, or a certificate with keyUsage digitalSignature, "
            "EKU emailProtection, an Authority Key Identifier and no CA:TRUE.",
        )

    if cert.version != x509.Version.v3:
        raise bad("it is not an X.509 v3 certificate")
    exts = cert.extensions
    try:
        if exts.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise bad("it is a CA certificate (CA:TRUE)")
    except x509.ExtensionNotFound:
        pass
    try:
        exts.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound as e:
        raise bad("it has no Authority Key Identifier") from e
    try:
        ku = exts.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as e:
        raise bad("it has no key usage extension") from e
    if not ku.digital_signature:
        raise bad("its key usage lacks digitalSignature")
    try:
        eku = exts.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as e:
        raise bad("it has no extended key usage (emailProtection expected)") from e
    if ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku:
        raise bad("it allows anyExtendedKeyUsage, which C2PA rejects")
    pub = cert.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        if pub.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise bad(f"its EC curve {pub.curve.name} is not P-256, P-384 or P-521")
    elif isinstance(pub, rsa.RSAPublicKey):
        if pub.key_size < 2048:
            raise bad(f"its RSA key has {pub.key_size} bits (at least 2048 needed)")
    elif not isinstance(pub, ed25519.Ed25519PublicKey):
        raise bad(f"its key type {type(pub).__name__} is not supported")
    if key_pem is not None:
        key = serialization.load_pem_private_key(pkcs8_pem(key_pem), password=None)
        pub_der = serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(serialization.Encoding.DER, pub_der) != pub.public_bytes(
            serialization.Encoding.DER, pub_der
        ):
            raise bad("it does not match the private key")


def pkcs8_pem(key_pem: bytes) -> bytes:
    """The private key as unencrypted PKCS#8 PEM, the one form c2pa-rs reads (it refuses the
    ``BEGIN EC PRIVATE KEY`` and ``BEGIN RSA PRIVATE KEY`` forms that openssl often writes)."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as e:
        raise KeyMaterialError(
            "the private key is not an unencrypted PEM key",
            hint="Convert it with `openssl pkcs8 -topk8 -nocrypt`.",
        ) from e
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def algorithm_for(cert: Any) -> tuple[str, ...]:
    """The C2PA signing algorithms that fit the certificate's key."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    pub = cert.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return {"secp256r1": ("es256",), "secp384r1": ("es384",), "secp521r1": ("es512",)}.get(
            pub.curve.name, ()
        )
    if isinstance(pub, rsa.RSAPublicKey):
        return ("ps256", "ps384", "ps512")
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return ("ed25519",)
    return ()


def _ca_certificate(key: Any, *, tag: str, now: dt.datetime) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hallmark development"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"hallmark development CA {tag}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )


def _signer_certificate(key: Any, ca_key: Any, ca_cert: Any, *, tag: str, now: dt.datetime) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hallmark development"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"hallmark development signer {tag}"),
        ]
    )
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + SIGNER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _fingerprint(cert: Any) -> str:
    from cryptography.hazmat.primitives import hashes

    return str(cert.fingerprint(hashes.SHA256()).hex())


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


def _write(path: Path, data: bytes, *, mode: int) -> None:
    """Write atomically with ``mode`` from the first byte: a key must never exist, even briefly,
    with looser permissions or half-written."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it; make it exact
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
