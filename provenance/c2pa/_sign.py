"""Sign images with a C2PA manifest that says what made them, how they are marked and what may be done with them.

A thin, typed layer over c2pa-python.  Its ``Builder.sign`` reads its arguments by position with
meanings that shift when the signer is left out, so every call here passes the signer first and
checks what comes back.  Signing is the last change to an image's bytes: anything written after
it breaks the hard binding.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hallmark import __version__
from hallmark.errors import KeyMaterialError, SigningError

from ._keys import (
    SIGNER_CHAIN,
    SIGNER_KEY,
    algorithm_for,
    check_signing_certificate,
    load_chain,
    pkcs8_pem,
    read_secret,
)
from ._softbinding import SOFT_BINDING_LABEL, assertion_data, manifest_alg

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
)
SUPPORTED_MIME_TYPES = ("image/png", "image/jpeg", "image/webp")
SUPPORTED_ALGS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
TRAINING_MINING_LABEL = "cawg.training-mining"
# The four uses the CAWG training-and-mining assertion names; one choice applies to all of them.
TRAINING_MINING_ENTRIES = (
    "cawg.ai_generative_training",
    "cawg.ai_inference",
    "cawg.ai_training",
    "cawg.data_mining",
)
POLICY_LABEL = "org.hallmark.policy"
# Assertions we write ourselves; an extra assertion may not shadow one of them.
RESERVED_LABELS = frozenset(
    {"c2pa.actions", "c2pa.actions.v2", SOFT_BINDING_LABEL, TRAINING_MINING_LABEL, POLICY_LABEL}
)


@dataclass(frozen=True)
class SoftBinding:
    """The watermark an image carries: our scheme id (``hallmark.wm1``; the manifest names it by
    its reverse-domain algorithm id) and the payload it encodes (hex)."""

    scheme_id: str
    payload_hex: str


@dataclass(frozen=True)
class Ingredient:
    """The image an edit started from, recorded as a ``parentOf`` ingredient: c2pa embeds its own
    manifest store when it has one; ``thumbnail`` (JPEG bytes) is added when it has none."""

    title: str
    mime: str
    data: bytes
    thumbnail: bytes | None = None


_INGREDIENT_ID = "input"  # pairs the c2pa.opened action with its ingredient inside the Builder


@dataclass(frozen=True)
class ManifestSpec:
    """What the manifest of one generated image declares.

    ``software_agent`` is the model that drew the image; ``claim_generator`` the tool that signs
    (``"name"`` or ``"name/version"``); ``watermark`` adds the c2pa.watermarked action and the
    c2pa.soft-binding assertion; ``training_mining`` applies to every CAWG use; ``policy_assertion``
    becomes ``org.hallmark.policy``; ``extra_assertions`` are ``{"label", "data"}`` dicts (labels
    from regulation profiles, for example).
    """

    title: str
    software_agent: str
    claim_generator: str = "hallmark"
    digital_source_type: str = TRAINED_ALGORITHMIC_MEDIA
    watermark: SoftBinding | None = None
    training_mining: str = "notAllowed"
    policy_assertion: Mapping[str, Any] = field(default_factory=dict)
    extra_assertions: Sequence[Mapping[str, Any]] = ()
    thumbnail: bool = False
    # An edit: c2pa.opened (the ingredient) and c2pa.edited replace c2pa.created.
    ingredient: Ingredient | None = None

    def to_manifest(self) -> dict[str, Any]:
        """The manifest definition c2pa's Builder takes (JSON-ready)."""
        if self.training_mining not in ("notAllowed", "allowed", "constrained"):
            raise SigningError(
                f"training_mining must be notAllowed, allowed or constrained, not {self.training_mining!r}"
            )
        name, _, version = self.claim_generator.partition("/")
        generator: dict[str, Any] = {"name": name or "hallmark"}
        version = version or (__version__ if generator["name"] == "hallmark" else "")
        if version:
            generator["version"] = version
        created: dict[str, Any] = {
            "action": "c2pa.created",
            "digitalSourceType": self.digital_source_type,
            "softwareAgent": {"name": self.software_agent},
        }
        actions: list[dict[str, Any]] = [created]
        if self.ingredient is not None:
            created["action"] = "c2pa.edited"
            opened = {"action": "c2pa.opened", "parameters": {"ingredientIds": [_INGREDIENT_ID]}}
            actions.insert(0, opened)
        assertions: list[dict[str, Any]] = []
        if self.watermark is not None:
            actions.append(
                {
                    "action": "c2pa.watermarked",
                    "softwareAgent": {"name": name or "hallmark"},
                    "parameters": {"alg": manifest_alg(self.watermark.scheme_id)},
                }
            )
        assertions.append({"label": "c2pa.actions", "data": {"actions": actions}})
        if self.watermark is not None:
            try:
                payload = bytes.fromhex(self.watermark.payload_hex)
            except ValueError as e:
                raise SigningError(
                    f"the soft-binding payload must be hex, not {self.watermark.payload_hex!r}"
                ) from e
            assertions.append(
                {"label": SOFT_BINDING_LABEL, "data": assertion_data(self.watermark.scheme_id, payload)}
            )
        assertions.append(
            {
                "label": TRAINING_MINING_LABEL,
                "data": {"entries": {use: {"use": self.training_mining} for use in TRAINING_MINING_ENTRIES}},
            }
        )
        assertions.append({"label": POLICY_LABEL, "data": dict(self.policy_assertion)})
        for extra in self.extra_assertions:
            label = extra.get("label")
            if not isinstance(label, str) or not label or "data" not in extra:
                raise SigningError("each extra assertion needs a non-empty 'label' and a 'data' entry")
            if label in RESERVED_LABELS:
                raise SigningError(f"extra assertion label {label!r} is written by hallmark itself")
            assertions.append({"label": label, "data": extra["data"]})
        return {
            "claim_generator_info": [generator],
            "title": self.title,
            "assertions": assertions,
        }


@dataclass(frozen=True)
class SignedAsset:
    """A signed image and its C2PA manifest store (the JUMBF bytes embedded in it), kept so that
    the manifest can be recovered after a re-upload strips it."""

    data: bytes
    manifest_store: bytes


class C2paSigner:
    """Signs images with one certificate chain; build it with ``from_keys_dir``, ``from_files`` or
    ``from_callback``.  The certificate is checked when the signer is built, so a bad one fails
    before any image is made.  One signer may be shared by threads."""

    def __init__(self, signer: Any, *, chain: list[Any], alg: str, tsa_url: str | None) -> None:
        self._signer = signer
        self.chain = chain
        self.alg = alg
        self.tsa_url = tsa_url
        self._contexts: dict[bool, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_keys_dir(
        cls, keys_dir: Path, *, tsa_url: str | None = None, now: dt.datetime | None = None
    ) -> C2paSigner:
        """The signer ``init_keys`` made: ``signer-chain.pem`` and ``signer.key`` in ``keys_dir``."""
        keys_dir = Path(keys_dir)
        return cls.from_files(keys_dir / SIGNER_CHAIN, keys_dir / SIGNER_KEY, tsa_url=tsa_url, now=now)

    @classmethod
    def from_files(
        cls,
        chain_pem_path: Path,
        key_path: Path,
        *,
        alg: str = "es256",
        tsa_url: str | None = None,
        now: dt.datetime | None = None,
    ) -> C2paSigner:
        """A signer from a PEM certificate chain (end-entity first, then intermediates) and an
        unencrypted PEM private key readable only by its owner."""
        chain = load_chain(Path(chain_pem_path))
        key_pem = pkcs8_pem(read_secret(Path(key_path)))
        alg = _check_alg(alg)
        _check_chain(chain, key_pem=key_pem, source=str(chain_pem_path), now=now, alg=alg)
        _check_tsa(tsa_url)
        import c2pa

        chain_pem = Path(chain_pem_path).read_bytes()
        try:
            info = c2pa.C2paSignerInfo(
                alg=alg.encode(), sign_cert=chain_pem, private_key=key_pem, ta_url=tsa_url
            )
            signer = c2pa.Signer.from_info(info)
        except (c2pa.C2paError, ValueError, TypeError) as e:
            raise KeyMaterialError(
                f"c2pa refused the signing key or certificate chain {chain_pem_path}: {_c2pa_message(e)}"
            ) from e
        return cls(signer, chain=chain, alg=alg, tsa_url=tsa_url)

    @classmethod
    def from_callback(
        cls,
        sign: Callable[[bytes], bytes],
        *,
        chain_pem: bytes,
        alg: str = "es256",
        tsa_url: str | None = None,
        now: dt.datetime | None = None,
    ) -> C2paSigner:
        """A signer whose private key stays elsewhere (an HSM or KMS): ``sign(data)`` returns the
        raw signature over ``data`` (for ECDSA, r || s as fixed-size big-endian integers)."""
        from cryptography import x509

        try:
            chain = x509.load_pem_x509_certificates(chain_pem)
        except ValueError as e:
            raise KeyMaterialError("the certificate chain holds no readable PEM certificate") from e
        alg = _check_alg(alg)
        _check_chain(chain, key_pem=None, source="(callback signer)", now=now, alg=alg)
        _check_tsa(tsa_url)
        import c2pa

        try:
            signer = c2pa.Signer.from_callback(
                sign, getattr(c2pa.C2paSigningAlg, alg.upper()), chain_pem, tsa_url
            )
        except c2pa.C2paError as e:
            raise KeyMaterialError(f"c2pa refused the callback signer: {_c2pa_message(e)}") from e
        return cls(signer, chain=chain, alg=alg, tsa_url=tsa_url)

    @property
    def subject(self) -> str:
        """The signing certificate's subject (RFC 4514)."""
        return str(self.chain[0].subject.rfc4514_string())

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the signing certificate (hex), as ``hallmark keys show`` prints it."""
        from cryptography.hazmat.primitives import hashes

        return str(self.chain[0].fingerprint(hashes.SHA256()).hex())

    def sign(self, data: bytes, *, mime: str, manifest: ManifestSpec) -> SignedAsset:
        """Embed a signed manifest in an encoded image (PNG, JPEG or WebP) and return the signed
        bytes with the manifest store; any c2pa failure becomes a ``SigningError``."""
        import c2pa

        if mime not in SUPPORTED_MIME_TYPES:
            raise SigningError(f"cannot sign {mime!r}; supported: {', '.join(SUPPORTED_MIME_TYPES)}")
        if not data:
            raise SigningError("cannot sign an empty image")
        definition = manifest.to_manifest()
        dest = io.BytesIO()
        try:
            builder = c2pa.Builder(definition, context=self._context(thumbnail=manifest.thumbnail))
            with builder:
                if manifest.ingredient is not None:
                    _add_ingredient(builder, manifest.ingredient)
                # Signer first: Builder.sign reads (signer, format, source, dest) only in that order.
                store = builder.sign(self._signer, mime, io.BytesIO(data), dest)
        except c2pa.C2paError as e:
            raise SigningError(f"C2PA signing failed for {mime}: {_c2pa_message(e)}") from e
        signed = dest.getvalue()
        if not isinstance(store, bytes) or not store:
            raise SigningError("C2PA signing returned no manifest store")
        if len(signed) <= len(data):
            raise SigningError("C2PA signing returned an image without an embedded manifest")
        return SignedAsset(data=signed, manifest_store=store)

    def close(self) -> None:
        """Release the native signer and contexts."""
        for ctx in self._contexts.values():
            ctx.close()
        self._contexts.clear()
        self._signer.close()

    def __enter__(self) -> C2paSigner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _context(self, *, thumbnail: bool) -> Any:
        import c2pa

        with self._lock:
            ctx = self._contexts.get(thumbnail)
            if ctx is None:
                # Thumbnails add 240-515 KiB and ~80 ms per image; off unless the manifest asks.
                ctx = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": thumbnail}}})
                self._contexts[thumbnail] = ctx
            return ctx


def _add_ingredient(builder: Any, ingredient: Ingredient) -> None:
    spec: dict[str, Any] = {"title": ingredient.title, "relationship": "parentOf", "label": _INGREDIENT_ID}
    if ingredient.thumbnail:
        spec["thumbnail"] = {"format": "image/jpeg", "identifier": "input-thumbnail.jpg"}
        builder.add_resource("input-thumbnail.jpg", io.BytesIO(ingredient.thumbnail))
    builder.add_ingredient(spec, ingredient.mime, io.BytesIO(ingredient.data))


def _check_alg(alg: str) -> str:
    alg = alg.lower()
    if alg not in SUPPORTED_ALGS:
        raise KeyMaterialError(f"unknown signing algorithm {alg!r}; known: {', '.join(SUPPORTED_ALGS)}")
    return alg


def _check_tsa(tsa_url: str | None) -> None:
    if tsa_url is not None and not tsa_url.startswith(("http://", "https://")):
        raise KeyMaterialError(f"timestamp authority URL {tsa_url!r} is not an http(s) URL")


def _check_chain(
    chain: list[Any], *, key_pem: bytes | None, source: str, now: dt.datetime | None, alg: str
) -> None:
    """The end-entity certificate meets C2PA's rules, fits ``alg``, is in force now, and each
    certificate is issued by the next one (end-entity first)."""
    from cryptography.exceptions import InvalidSignature

    leaf = chain[0]
    check_signing_certificate(leaf, key_pem=key_pem, source=source)
    fits = algorithm_for(leaf)
    if alg not in fits:
        raise KeyMaterialError(
            f"signing algorithm {alg} does not fit the key of signing certificate {source}"
            + (f"; use {' or '.join(fits)}" if fits else "")
        )
    now = now or dt.datetime.now(dt.UTC)
    if now < leaf.not_valid_before_utc:
        raise KeyMaterialError(
            f"signing certificate {source} is not valid before {leaf.not_valid_before_utc.isoformat()}"
        )
    if now > leaf.not_valid_after_utc:
        raise KeyMaterialError(
            f"signing certificate {source} expired on {leaf.not_valid_after_utc.isoformat()}",
            hint="Run `hallmark keys init --force` or install a renewed certificate.",
        )
    for child, parent in zip(chain, chain[1:], strict=False):
        try:
            child.verify_directly_issued_by(parent)
            issued = True
        except (ValueError, TypeError, InvalidSignature):
            issued = False
        if not issued:
            raise KeyMaterialError(
                f"certificate chain {source} is out of order: "
                f"{child.subject.rfc4514_string()} is not issued by {parent.subject.rfc4514_string()}",
                hint="Put the signing certificate first, then each issuer in turn.",
            )


def _c2pa_message(e: BaseException) -> str:
    return " ".join(str(e).split())[:300] or type(e).__name__
