"""C2PA signing: read back with c2pa's own Reader, trust through the development CA, tampering."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import c2pa
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from hallmark.errors import KeyMaterialError, SigningError
from hallmark.provenance import (
    C2paSigner,
    ManifestSpec,
    ManifestStore,
    SignedAsset,
    SoftBinding,
    init_keys,
    read_key_info,
)

MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
SPEC = ManifestSpec(
    title="0190f0e4-7b1c-7000-8000-000000000001.png",
    software_agent="tiny-sd",
    claim_generator="hallmark/0.1.0",
    watermark=SoftBinding("hallmark.dwtdctsvd.v1", "a1b2c3d4e5f6"),
    policy_assertion={"id": "default", "version": 1, "digest": "ab" * 32, "record_id": "r1"},
    extra_assertions=[{"label": "org.example.label", "data": {"Label": "1"}}],
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("home") / "keys"
    init_keys(d)
    return d


@pytest.fixture(scope="module")
def signer(keys: Path) -> Iterator[C2paSigner]:
    with C2paSigner.from_keys_dir(keys) as s:
        yield s


def _image(fmt: str, size: int = 96) -> bytes:
    img = Image.new("RGB", (size, size))
    img.putdata([((x * 7) % 256, (y * 3) % 256, (x * y) % 256) for y in range(size) for x in range(size)])
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def _read(
    data: bytes, mime: str, *, anchors: Path | None = None, store: bytes | None = None
) -> tuple[str, dict[str, Any]]:
    ctx = c2pa.Context.from_dict({"trust": {"user_anchors": anchors.read_text()}} if anchors else {})
    with c2pa.Reader(mime, io.BytesIO(data), store, context=ctx) as reader:
        report = json.loads(reader.json())
    return report["validation_state"], report


def _failures(report: dict[str, Any]) -> set[str]:
    return {f["code"] for f in report["validation_results"]["activeManifest"]["failure"]}


def _active(report: dict[str, Any]) -> dict[str, Any]:
    return report["manifests"][report["active_manifest"]]


def _assertions(report: dict[str, Any]) -> dict[str, Any]:
    return {a["label"]: a["data"] for a in _active(report)["assertions"]}


@pytest.mark.parametrize("fmt", list(MIMES))
def test_signed_image_is_trusted_with_the_dev_ca(signer: C2paSigner, keys: Path, fmt: str) -> None:
    data = _image(fmt)
    signed = signer.sign(data, mime=MIMES[fmt], manifest=SPEC)
    assert isinstance(signed, SignedAsset) and signed.data != data
    state, report = _read(signed.data, MIMES[fmt], anchors=keys / "ca.pem")
    assert state == "Trusted", _failures(report)
    state, report = _read(signed.data, MIMES[fmt])
    assert state == "Valid"
    assert _failures(report) == {"signingCredential.untrusted"}
    # The returned store is the manifest that was embedded, and validates the asset on its own.
    assert (
        _read(signed.data, MIMES[fmt], anchors=keys / "ca.pem", store=signed.manifest_store)[0] == "Trusted"
    )
    assert 1000 < len(signed.manifest_store) < 20_000
    reopened = Image.open(io.BytesIO(signed.data))
    reopened.load()
    assert reopened.size == (96, 96)


def test_manifest_carries_every_assertion(signer: C2paSigner) -> None:
    _, report = _read(signer.sign(_image("PNG"), mime="image/png", manifest=SPEC).data, "image/png")
    manifest = _active(report)
    assert manifest["title"] == SPEC.title
    assert manifest["claim_generator_info"][0]["name"] == "hallmark"
    assert manifest["claim_generator_info"][0]["version"] == "0.1.0"
    assert manifest["signature_info"]["common_name"].startswith("hallmark development signer ")
    assert "thumbnail" not in manifest
    found = _assertions(report)
    created, watermarked = found["c2pa.actions.v2"]["actions"]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
    assert created["softwareAgent"]["name"] == "tiny-sd"
    assert watermarked["action"] == "c2pa.watermarked"
    # Our scheme ids appear in the manifest under their reverse-domain algorithm ids.
    assert watermarked["parameters"]["alg"] == "io.github.hallmark.dwtdctsvd.v1"
    assert found["c2pa.soft-binding"] == {
        "alg": "io.github.hallmark.dwtdctsvd.v1",
        "blocks": [{"scope": {}, "value": "obLD1OX2"}],  # the Reader shows the payload's bytes as base64
        "pad": [],
    }
    entries = found["cawg.training-mining"]["entries"]
    assert set(entries) == {
        "cawg.ai_generative_training",
        "cawg.ai_inference",
        "cawg.ai_training",
        "cawg.data_mining",
    }
    assert {e["use"] for e in entries.values()} == {"notAllowed"}
    assert found["org.hallmark.policy"] == dict(SPEC.policy_assertion)
    assert found["org.example.label"] == {"Label": "1"}


def test_without_a_watermark_no_watermark_claims(signer: C2paSigner) -> None:
    spec = ManifestSpec(title="t", software_agent="m", training_mining="allowed")
    _, report = _read(signer.sign(_image("PNG"), mime="image/png", manifest=spec).data, "image/png")
    found = _assertions(report)
    assert [a["action"] for a in found["c2pa.actions.v2"]["actions"]] == ["c2pa.created"]
    assert "c2pa.soft-binding" not in found
    assert {e["use"] for e in found["cawg.training-mining"]["entries"].values()} == {"allowed"}


def test_thumbnail_only_when_asked(signer: C2paSigner) -> None:
    data = _image("JPEG")
    spec = ManifestSpec(title="t", software_agent="m", thumbnail=True)
    _, report = _read(signer.sign(data, mime="image/jpeg", manifest=spec).data, "image/jpeg")
    assert "thumbnail" in _active(report)


def _flip_pixel_byte(png: bytes) -> bytes:
    """Flip one byte inside the first IDAT chunk (the compressed pixels)."""
    at = png.index(b"IDAT") + 4 + 10
    return png[:at] + bytes([png[at] ^ 0x01]) + png[at + 1 :]


def test_one_flipped_pixel_byte_breaks_the_data_hash(signer: C2paSigner, keys: Path) -> None:
    signed = signer.sign(_image("PNG"), mime="image/png", manifest=SPEC)
    tampered = _flip_pixel_byte(signed.data)
    state, report = _read(tampered, "image/png", anchors=keys / "ca.pem")
    assert state == "Invalid"
    assert "assertion.dataHash.mismatch" in _failures(report)


def test_stored_manifest_recovers_credentials_for_a_stripped_image(
    signer: C2paSigner, keys: Path, tmp_path: Path
) -> None:
    data = _image("PNG")
    signed = signer.sign(data, mime="image/png", manifest=SPEC)
    store = ManifestStore(tmp_path / "manifests")
    record_id = "0190f0e4-7b1c-7000-8000-000000000001"
    store.put(record_id, signed.manifest_store)
    kept = store.get(record_id)
    assert kept == signed.manifest_store
    with pytest.raises(c2pa.C2paError.ManifestNotFound):
        _read(data, "image/png")
    # The original pixels without the manifest: the claim and signature still verify; the hard
    # binding no longer matches the bytes, which is what "altered after signing" means.
    state, report = _read(data, "image/png", anchors=keys / "ca.pem", store=kept)
    assert state == "Invalid"
    assert "signingCredential.trusted" in {
        s["code"] for s in report["validation_results"]["activeManifest"]["success"]
    }
    assert "assertion.dataHash.mismatch" in _failures(report)
    assert _assertions(report)["c2pa.soft-binding"]["blocks"][0]["value"] == "obLD1OX2"  # a1b2c3d4e5f6


def test_one_signer_shared_by_threads(signer: C2paSigner) -> None:
    data = _image("JPEG", size=64)
    results: list[SignedAsset] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                results.append(signer.sign(data, mime="image/jpeg", manifest=SPEC))
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 12
    assert {_read(r.data, "image/jpeg")[0] for r in results} == {"Valid"}


def test_callback_signer_for_keys_held_elsewhere(keys: Path) -> None:
    key = serialization.load_pem_private_key((keys / "signer.key").read_bytes(), password=None)
    calls: list[int] = []

    def sign(data: bytes) -> bytes:
        calls.append(len(data))
        return key.sign(data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg,union-attr]

    with C2paSigner.from_callback(sign, chain_pem=(keys / "signer-chain.pem").read_bytes()) as s:
        signed = s.sign(_image("PNG"), mime="image/png", manifest=SPEC)
    assert calls
    assert _read(signed.data, "image/png", anchors=keys / "ca.pem")[0] == "Trusted"


def test_failing_callback_is_a_signing_error(keys: Path) -> None:
    def sign(data: bytes) -> bytes:
        raise RuntimeError("kms unavailable")

    s = C2paSigner.from_callback(sign, chain_pem=(keys / "signer-chain.pem").read_bytes())
    with pytest.raises(SigningError, match="C2PA signing failed"):
        s.sign(_image("PNG"), mime="image/png", manifest=SPEC)


def test_callback_signer_needs_a_chain() -> None:
    with pytest.raises(KeyMaterialError, match="no readable PEM certificate"):
        C2paSigner.from_callback(lambda d: d, chain_pem=b"nope")


# -- refusals ------------------------------------------------------------------------------------


def test_unsupported_mime_and_empty_input(signer: C2paSigner) -> None:
    with pytest.raises(SigningError, match="cannot sign 'image/gif'; supported: image/png"):
        signer.sign(b"GIF89a", mime="image/gif", manifest=SPEC)
    with pytest.raises(SigningError, match="empty image"):
        signer.sign(b"", mime="image/png", manifest=SPEC)


@pytest.mark.parametrize(("data", "mime"), [(b"garbage" * 20, "image/png"), (_image("PNG"), "image/jpeg")])
def test_c2pa_failure_becomes_signing_error(signer: C2paSigner, data: bytes, mime: str) -> None:
    with pytest.raises(SigningError, match="asset could not be parsed") as e:
        signer.sign(data, mime=mime, manifest=SPEC)
    assert isinstance(e.value.__cause__, c2pa.C2paError)


def test_unreachable_timestamp_authority_fails_closed(keys: Path) -> None:
    # A closed local port: the TSA path is exercised without touching the network.
    s = C2paSigner.from_keys_dir(keys, tsa_url="http://127.0.0.1:9/")
    assert s.tsa_url == "http://127.0.0.1:9/"
    with pytest.raises(SigningError, match="127.0.0.1:9"):
        s.sign(_image("PNG"), mime="image/png", manifest=SPEC)


def test_bad_tsa_url_and_algorithm(keys: Path) -> None:
    with pytest.raises(KeyMaterialError, match="not an http"):
        C2paSigner.from_keys_dir(keys, tsa_url="ftp://tsa.example")
    with pytest.raises(KeyMaterialError, match="unknown signing algorithm 'rs1'; known: es256"):
        C2paSigner.from_files(keys / "signer-chain.pem", keys / "signer.key", alg="rs1")


def test_algorithm_that_does_not_fit_the_key(keys: Path) -> None:
    with pytest.raises(KeyMaterialError, match="ps256 does not fit the key .* use es256"):
        C2paSigner.from_files(keys / "signer-chain.pem", keys / "signer.key", alg="ps256")
    with pytest.raises(KeyMaterialError, match="ed25519 does not fit"):
        C2paSigner.from_callback(
            lambda d: d, chain_pem=(keys / "signer-chain.pem").read_bytes(), alg="ed25519"
        )


def test_openssl_style_ec_key_is_accepted(keys: Path, tmp_path: Path) -> None:
    # `openssl ecparam -genkey` writes SEC1 ("BEGIN EC PRIVATE KEY"), which c2pa-rs refuses alone.
    key = serialization.load_pem_private_key((keys / "signer.key").read_bytes(), password=None)
    sec1 = tmp_path / "sec1.key"
    sec1.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    sec1.chmod(0o600)
    assert b"BEGIN EC PRIVATE KEY" in sec1.read_bytes()
    with C2paSigner.from_files(keys / "signer-chain.pem", sec1) as s:
        signed = s.sign(_image("PNG"), mime="image/png", manifest=SPEC)
    assert _read(signed.data, "image/png", anchors=keys / "ca.pem")[0] == "Trusted"


def test_c2pa_refusing_the_credentials_is_a_key_error(keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(info: object) -> None:
        raise c2pa.C2paError.Signature("Signature: invalid signing credentials")

    monkeypatch.setattr(c2pa.Signer, "from_info", refuse)
    with pytest.raises(KeyMaterialError, match="c2pa refused the signing key .*invalid signing credentials"):
        C2paSigner.from_keys_dir(keys)

    def refuse_callback(*args: object) -> None:
        raise c2pa.C2paError("Invalid certificate data")

    monkeypatch.setattr(c2pa.Signer, "from_callback", refuse_callback)
    with pytest.raises(KeyMaterialError, match="c2pa refused the callback signer"):
        C2paSigner.from_callback(lambda d: d, chain_pem=(keys / "signer-chain.pem").read_bytes())


def test_policy_assertion_must_be_json(signer: C2paSigner) -> None:
    spec = ManifestSpec(title="t", software_agent="m", policy_assertion={"when": dt.datetime(2026, 1, 1)})
    with pytest.raises(SigningError, match="not JSON serializable"):
        signer.sign(_image("PNG"), mime="image/png", manifest=spec)


def test_ca_certificate_as_signer_is_refused(keys: Path) -> None:
    with pytest.raises(KeyMaterialError, match="CA:TRUE"):
        C2paSigner.from_files(keys / "ca.pem", keys / "ca.key")


def test_missing_or_readable_key_is_refused(keys: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match=r"signer-chain\.pem is missing"):
        C2paSigner.from_keys_dir(tmp_path)
    shutil.copy(keys / "signer-chain.pem", tmp_path / "signer-chain.pem")
    with pytest.raises(KeyMaterialError, match=r"signer\.key is missing"):
        C2paSigner.from_keys_dir(tmp_path)
    shutil.copy(keys / "signer.key", tmp_path / "signer.key")
    (tmp_path / "signer.key").chmod(0o640)
    with pytest.raises(KeyMaterialError, match="permissions 0640"):
        C2paSigner.from_keys_dir(tmp_path)


def test_expired_and_future_certificates(keys: Path) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * 6)
    with pytest.raises(KeyMaterialError, match="expired on"):
        C2paSigner.from_keys_dir(keys, now=later)
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with pytest.raises(KeyMaterialError, match="not valid before"):
        C2paSigner.from_keys_dir(keys, now=earlier)


def test_chain_out_of_order_or_key_mismatch(keys: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    init_keys(other)
    leaf = (keys / "signer-chain.pem").read_text().split("-----END CERTIFICATE-----")[0]
    mixed = tmp_path / "mixed.pem"
    mixed.write_text(leaf + "-----END CERTIFICATE-----\n" + (other / "ca.pem").read_text())
    with pytest.raises(KeyMaterialError, match="out of order"):
        C2paSigner.from_files(mixed, keys / "signer.key")
    with pytest.raises(KeyMaterialError, match="does not match the private key"):
        C2paSigner.from_files(keys / "signer-chain.pem", other / "signer.key")


def test_users_own_leaf_only_chain_is_accepted(keys: Path, tmp_path: Path) -> None:
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(
        (keys / "signer-chain.pem").read_text().split("-----END CERTIFICATE-----")[0]
        + "-----END CERTIFICATE-----\n"
    )
    with C2paSigner.from_files(leaf, keys / "signer.key") as s:
        assert "hallmark development signer" in s.subject
        assert s.fingerprint == read_key_info(keys).fingerprint
        signed = s.sign(_image("WEBP"), mime="image/webp", manifest=SPEC)
    assert _read(signed.data, "image/webp", anchors=keys / "ca.pem")[0] == "Trusted"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ManifestSpec(title="t", software_agent="m", training_mining="maybe"), "training_mining must be"),
        (
            ManifestSpec(
                title="t", software_agent="m", extra_assertions=[{"label": "c2pa.soft-binding", "data": {}}]
            ),
            "written by hallmark itself",
        ),
        (
            ManifestSpec(title="t", software_agent="m", extra_assertions=[{"label": "x"}]),
            "needs a non-empty 'label'",
        ),
    ],
)
def test_bad_manifest_spec(signer: C2paSigner, spec: ManifestSpec, message: str) -> None:
    with pytest.raises(SigningError, match=message):
        signer.sign(_image("PNG"), mime="image/png", manifest=spec)


@pytest.mark.parametrize(
    ("returned", "written", "message"),
    [(b"", b"x" * 10_000, "returned no manifest store"), (b"jumbf", b"", "without an embedded manifest")],
)
def test_signing_that_returns_nothing_usable_fails_closed(
    signer: C2paSigner, monkeypatch: pytest.MonkeyPatch, returned: bytes, written: bytes, message: str
) -> None:
    def fake_sign(self: object, signer: object, mime: str, source: object, dest: io.BytesIO) -> bytes:
        dest.write(written)
        return returned

    monkeypatch.setattr(c2pa.Builder, "sign", fake_sign)
    with pytest.raises(SigningError, match=message):
        signer.sign(_image("PNG"), mime="image/png", manifest=SPEC)


# -- a timestamp authority on localhost ----------------------------------------------------------
# A real RFC 3161 responder, small enough to read: it parses the request's message imprint and
# nonce and answers a CMS SignedData over a TSTInfo, signed by a TSA certificate that the
# development CA issues.  DER is written by hand because no ASN.1 package is a dependency.


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _seq(*parts: bytes) -> bytes:
    return _der(0x30, b"".join(parts))


def _set(*parts: bytes) -> bytes:
    return _der(0x31, b"".join(sorted(parts)))  # DER sorts SET OF members


def _int(v: int) -> bytes:
    return _der(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big", signed=True))


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(x) for x in dotted.split("."))
    body = bytes([40 * first + second])
    for p in rest:
        chunk = [p & 0x7F]
        while p := p >> 7:
            chunk.append(0x80 | (p & 0x7F))
        body += bytes(reversed(chunk))
    return _der(0x06, body)


def _children(body: bytes) -> list[tuple[int, bytes]]:
    """(tag, whole element) of each element in a constructed DER body."""
    out, i = [], 0
    while i < len(body):
        start, tag, n = i, body[i], body[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n, i = int.from_bytes(body[i : i + k], "big"), i + k
        i += n
        out.append((tag, body[start:i]))
    return out


def _contents(element: bytes) -> bytes:
    (_, whole), n = _children(element)[0], element[1]
    return whole[2 + (n & 0x7F if n & 0x80 else 0) :]


SHA256_OID, TSTINFO_OID = "2.16.840.1.101.3.4.2.1", "1.2.840.113549.1.9.16.1.4"


class LocalTsa:
    """An RFC 3161 timestamp authority on 127.0.0.1 (no network involved)."""

    def __init__(self, keys: Path) -> None:
        from cryptography import x509
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        self.ca_key = serialization.load_pem_private_key((keys / "ca.key").read_bytes(), password=None)
        self.ca = x509.load_pem_x509_certificate((keys / "ca.pem").read_bytes())
        self.key = ec.generate_private_key(ec.SECP256R1())
        ca_ski = self.ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hallmark test TSA")]))
            .issuer_name(self.ca.subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.ca.not_valid_before_utc)
            .not_valid_after(self.ca.not_valid_after_utc)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
            .sign(self.ca_key, hashes.SHA256())  # type: ignore[arg-type]
        )
        self.requests = 0

    def respond(self, request: bytes) -> bytes:
        import hashlib

        self.requests += 1
        fields = _children(_contents(request))  # version, messageImprint, [policy], [nonce], ...
        imprint = fields[1][1]
        nonce = next((whole for tag, whole in fields[2:] if tag == 0x02), b"")
        gen_time = _der(0x18, dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%SZ").encode())
        tst_info = _seq(_int(1), _oid("1.2.3.4.1"), imprint, _int(self.requests), gen_time, nonce)
        cert_der = self.cert.public_bytes(serialization.Encoding.DER)
        signed_attrs = _set(
            _seq(_oid("1.2.840.113549.1.9.3"), _set(_oid(TSTINFO_OID))),
            _seq(_oid("1.2.840.113549.1.9.4"), _set(_der(0x04, hashlib.sha256(tst_info).digest()))),
            _seq(  # signingCertificateV2: binds the TSA certificate into the signature
                _oid("1.2.840.113549.1.9.16.2.47"),
                _set(_seq(_seq(_seq(_der(0x04, hashlib.sha256(cert_der).digest()))))),
            ),
        )
        signature = self.key.sign(signed_attrs, ec.ECDSA(hashes.SHA256()))
        signer_info = _seq(
            _int(1),
            _seq(self.cert.issuer.public_bytes(), _int(self.cert.serial_number)),
            _seq(_oid(SHA256_OID)),
            _der(0xA0, _contents(signed_attrs)),  # [0] IMPLICIT: same contents, context tag
            _seq(_oid("1.2.840.10045.4.3.2")),
            _der(0x04, signature),
        )
        signed_data = _seq(
            _int(3),
            _set(_seq(_oid(SHA256_OID))),
            _seq(_oid(TSTINFO_OID), _der(0xA0, _der(0x04, tst_info))),
            _der(0xA0, cert_der + self.ca.public_bytes(serialization.Encoding.DER)),
            _set(signer_info),
        )
        token = _seq(_oid("1.2.840.113549.1.7.2"), _der(0xA0, signed_data))
        return _seq(_seq(_int(0)), token)  # status granted, then the token

    def __enter__(self) -> LocalTsa:
        import http.server

        tsa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                reply = tsa.respond(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_timestamp_authority_countersigns_the_manifest(keys: Path, signer: C2paSigner) -> None:
    with LocalTsa(keys) as tsa:
        with C2paSigner.from_keys_dir(keys, tsa_url=tsa.url) as s:
            signed = s.sign(_image("PNG"), mime="image/png", manifest=SPEC)
        assert tsa.requests == 1
    state, report = _read(signed.data, "image/png", anchors=keys / "ca.pem")
    assert state == "Trusted", _failures(report)
    codes = {c["code"] for c in report["validation_results"]["activeManifest"]["success"]}
    assert {"timeStamp.validated", "timeStamp.trusted"} <= codes
    assert "time" in _active(report)["signature_info"]
    # The same manifest signed without a timestamp authority carries no timestamp.
    _, plain = _read(signer.sign(_image("PNG"), mime="image/png", manifest=SPEC).data, "image/png")
    plain_codes = {c["code"] for c in plain["validation_results"]["activeManifest"]["success"]}
    assert not any(code.startswith("timeStamp.") for code in plain_codes)
