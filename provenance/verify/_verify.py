"""Verify a found image: C2PA, every watermark we know, the audit record, manifest recovery, one verdict.

``verify_image`` runs each check and records it as passed, failed, not found or not checked,
with the codes the underlying library gave, then reduces them to one ``Verdict`` from a small
fixed set, each with a sentence a non-expert can read.  It never raises for a bad image (a
zero-byte, truncated, garbage or oversized file becomes a report with verdict ``error`` and a
reason); it raises ``InputError`` only when the path itself cannot be read.  provenance does not
import audit: the audit log arrives as a ``lookup`` callable that the pipeline wires in.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import io
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hallmark.checks import CheckStatus
from hallmark.errors import InputError

from ..c2pa._read import (
    STATE_ABSENT,
    STATE_INVALID,
    STATE_REMOTE,
    STATE_TRUSTED,
    STATE_UNSUPPORTED,
    C2paReading,
    read_c2pa,
)
from ..c2pa._trust import TrustConfig
from ..watermark._types import WatermarkReading

# A decompression bomb is a small file that decodes to billions of pixels; Pillow only warns
# below twice its own limit, so we check the declared size before decoding anything.
DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_MAX_BYTES = 512 * 1024 * 1024

AuditLookup = Callable[[str, str], Mapping[str, Any] | None]
ManifestLookup = Callable[[str], bytes | None]

_FORMAT_MIME = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "AVIF": "image/avif",
    "HEIF": "image/heif",
    "JXL": "image/jxl",
}
_EXTENSION_FORMAT = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".gif": "GIF",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".avif": "AVIF",
    ".heic": "HEIF",
    ".heif": "HEIF",
}
# What may leave the audit record in a report: never the prompt, the user or the raw parameters.
_RECORD_FIELDS = (
    "record_id",
    "kind",
    "created",
    "index",
    "model",
    "seed",
    "policy",
    "sha256",
    "scheme_id",
    "payload",
)


class Verdict(enum.Enum):
    """The one answer a verification gives, from a small fixed set (see ``VERDICTS``)."""

    HALLMARK_SIGNED = "hallmark-signed"
    HALLMARK_RECOVERED = "hallmark-recovered"
    HALLMARK_WATERMARK = "hallmark-watermark"
    C2PA_AI_GENERATED = "c2pa-ai-generated"
    C2PA_SIGNED = "c2pa-signed"
    TAMPERED = "tampered"
    INVALID_CREDENTIALS = "invalid-credentials"
    THIRD_PARTY_WATERMARK = "third-party-watermark"
    NO_PROVENANCE_FOUND = "no-provenance-found"
    ERROR = "error"

    @property
    def failing(self) -> bool:
        """Whether this verdict makes ``hallmark verify`` exit 1 (or 2 for ``error``)."""
        return self in (Verdict.TAMPERED, Verdict.INVALID_CREDENTIALS, Verdict.ERROR)

    @property
    def meaning(self) -> str:
        return VERDICTS[self]


# The documented verdict set: what each one means, in words a non-expert understands.  The
# report's ``explanation`` fills in the specifics (issuer, reason) for the image at hand.
VERDICTS: dict[Verdict, str] = {
    Verdict.HALLMARK_SIGNED: "Made by an AI system using hallmark; its signed Content Credentials are intact.",
    Verdict.HALLMARK_RECOVERED: (
        "Made by an AI system using hallmark; its Content Credentials were removed or damaged, "
        "but its invisible watermark led back to the original signed record."
    ),
    Verdict.HALLMARK_WATERMARK: (
        "Carries hallmark's invisible watermark made with your key, but no record of it was found."
    ),
    Verdict.C2PA_AI_GENERATED: "Carries valid Content Credentials from another issuer that declare it AI-generated.",
    Verdict.C2PA_SIGNED: "Carries valid Content Credentials that do not declare it AI-generated.",
    Verdict.TAMPERED: "The image or its Content Credentials were changed after signing; they cannot be relied on.",
    Verdict.INVALID_CREDENTIALS: (
        "Carries Content Credentials whose signature cannot be accepted (for example an expired certificate)."
    ),
    Verdict.THIRD_PARTY_WATERMARK: (
        "No Content Credentials, but an invisible watermark that an AI image generator adds was found."
    ),
    Verdict.NO_PROVENANCE_FOUND: (
        "No Content Credentials and no known watermark were found; that alone says nothing about authenticity."
    ),
    Verdict.ERROR: "The file could not be checked.",
}


@dataclass(frozen=True)
class Check:
    """One check of a verification: its name, outcome, a sentence, the library's codes and details."""

    name: str
    status: CheckStatus
    summary: str
    codes: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "codes": list(self.codes),
            "details": self.details,
        }


@dataclass(frozen=True)
class ImageInfo:
    """What the file is: format (from its bytes, not its name), size, hash."""

    format: str | None
    mime: str | None
    width: int | None
    height: int | None
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class VerificationReport:
    """Everything ``verify_image`` found about one image, and its verdict.

    ``checks`` hold each check's outcome in a fixed order (c2pa, our watermarks, third-party
    watermarks, audit, recovery, consistency); ``warnings`` things a reader should know that do
    not change the verdict (an untrusted signer, a mislabelled file, an ingredient error).
    """

    source: str
    verdict: Verdict
    explanation: str
    checks: tuple[Check, ...] = ()
    warnings: tuple[str, ...] = ()
    image: ImageInfo | None = None
    c2pa: C2paReading | None = None
    watermarks: tuple[WatermarkReading, ...] = ()
    record: dict[str, Any] | None = None
    recovered: C2paReading | None = None
    compliance: tuple[Any, ...] = ()  # provenance.ComplianceRow per duty of each labelling profile
    error: str = ""
    checked_at: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """False when the image is tampered, its credentials are invalid, a check failed, or
        it could not be checked."""
        return not self.verdict.failing and all(c.status is not CheckStatus.FAILED for c in self.checks)

    def check(self, name: str) -> Check | None:
        """The check called ``name`` (``"c2pa"``, ``"watermark:<scheme>"``, ``"audit"``...)."""
        return next((c for c in self.checks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (no bytes, no enums, never a prompt)."""
        return {
            "source": self.source,
            "verdict": self.verdict.value,
            "explanation": self.explanation,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "warnings": list(self.warnings),
            "image": self.image.to_dict() if self.image else None,
            "c2pa": self.c2pa.to_dict() if self.c2pa else None,
            "watermarks": [w.to_dict() for w in self.watermarks],
            "record": self.record,
            "recovered": self.recovered.to_dict() if self.recovered else None,
            "compliance": [row.to_dict() for row in self.compliance],
            "error": self.error,
            "checked_at": self.checked_at,
            "seconds": round(self.seconds, 4),
        }


def verify_image(
    source: Path | str | bytes,
    *,
    trust: TrustConfig | None = None,
    watermark_key: bytes | None = None,
    lookup: AuditLookup | None = None,
    manifest_lookup: ManifestLookup | None = None,
    schemes: Sequence[str] | None = None,
    now: dt.datetime | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> VerificationReport:
    """Check where an image came from: validate its C2PA manifest against ``trust``, read each
    of our watermark ``schemes`` with ``watermark_key`` and the known third-party marks, compare
    the manifest's soft binding with the decoded payload, resolve the payload through
    ``lookup(scheme_id, payload_hex)`` to an audit record summary, and when the manifest is
    missing or broken recover the stored one through ``manifest_lookup(record_id)``.  Returns a
    report with one verdict; a path that cannot be read raises ``InputError``.  Images declaring
    more than ``max_pixels`` pixels are not decoded, files over ``max_bytes`` not read."""
    started = time.perf_counter()
    checked_at = (now or dt.datetime.now(dt.UTC)).isoformat()
    trust = trust or TrustConfig.offline()
    label, data, suffix = _read_source(source, max_bytes=max_bytes)
    run = _Run(label=label, checked_at=checked_at, started=started)
    if data is None:
        return run.error(f"the file is larger than the {max_bytes}-byte limit", image=None)
    info, image, pixel_error = _decode(data, max_pixels=max_pixels)
    if suffix and info.format and _EXTENSION_FORMAT.get(suffix) not in (None, info.format):
        if not (suffix in (".jpg", ".jpeg", ".jpe") and info.format == "MPO"):
            run.warnings.append(f"the file is named {suffix} but its content is {info.format}")
    if not data:
        return run.error("the file is empty (zero bytes)", image=info)

    # 1. C2PA, on the bytes as they are.
    mime = info.mime or _guess_mime(suffix)
    c2pa = read_c2pa(data, mime=mime, trust=trust)
    run.c2pa = c2pa
    if image is None and not c2pa.present:
        return run.error(pixel_error or "not an image that can be read", image=info)
    run.checks.append(_c2pa_check(c2pa, run.warnings))
    if pixel_error:
        run.warnings.append(f"the pixels could not be decoded ({pixel_error}); watermarks were not checked")

    # 2. Watermarks: ours with the key, then the marks other generators add.
    ours = _read_our_watermarks(image, key=watermark_key, schemes=schemes, run=run)
    third = _read_third_party(image, run=run)

    # 3. Audit: decoded payloads first, then the manifest's own soft binding.
    _audit(c2pa, ours, lookup=lookup, sha256=info.sha256, run=run)

    # 4. Recovery, when the manifest is missing or broken but a record was found.
    if not c2pa.valid or not c2pa.present:
        _recover(data, mime=mime, trust=trust, manifest_lookup=manifest_lookup, run=run)
    else:
        run.checks.append(
            Check("recovery", CheckStatus.NOT_CHECKED, "Not needed: the embedded manifest is intact.")
        )

    # 5. Consistency: the soft binding the (embedded or recovered) manifest signed against the
    # payload actually decoded.
    _consistency(c2pa if c2pa.present else (run.recovered or c2pa), ours, run=run)

    verdict, explanation = _decide(c2pa, ours, third, run=run)
    compliance = _compliance(data, c2pa, ours, third, key=watermark_key, lookup=lookup, run=run)
    return VerificationReport(
        source=label,
        verdict=verdict,
        explanation=explanation,
        checks=tuple(run.checks),
        warnings=tuple(dict.fromkeys(run.warnings)),
        image=info,
        c2pa=c2pa,
        watermarks=tuple(ours + third),
        record=run.record,
        recovered=run.recovered,
        compliance=compliance,
        checked_at=checked_at,
        seconds=time.perf_counter() - started,
    )


def _compliance(
    data: bytes,
    c2pa: C2paReading,
    ours: list[WatermarkReading],
    third: list[WatermarkReading],
    *,
    key: bytes | None,
    lookup: AuditLookup | None,
    run: _Run,
) -> tuple[Any, ...]:
    """Which labelling duties (EU AI Act art. 50, China's GB 45438, ...) the file as found meets:
    its own manifest, watermark, metadata labels and audit record; never the recovered manifest,
    which the file no longer carries."""
    from ..labels._profiles import check_compliance, read_labels

    c2pa_facts: dict[str, Any] = {"present": False, "state": c2pa.state}
    if c2pa.present:
        c2pa_facts = {**c2pa.to_dict(), "valid": c2pa.valid, "assertions": list(c2pa.assertions)}
    found = next((r for r in ours if r.found), None) or next((r for r in third if r.found), None)
    watermark: dict[str, Any] | None = None
    if found is not None:
        payload = found.payload.hex() if found.payload else None
        watermark = {"found": True, "scheme_id": found.scheme_id, "payload": payload}
    elif key is not None and ours:
        watermark = {"found": False}
    audit: dict[str, Any] | None = None
    if run.record:
        audit = {"found": True, **run.record}
    elif lookup is not None:
        audit = {"found": False}
    try:
        labels = read_labels(data)
        return tuple(check_compliance(None, c2pa=c2pa_facts, watermark=watermark, audit=audit, labels=labels))
    except Exception as e:  # compliance is advice on top of the verdict, never a reason to fail it
        run.warnings.append(f"the labelling compliance check failed: {type(e).__name__}")
        return ()


@dataclass
class _Run:
    """What one verification has gathered so far."""

    label: str
    checked_at: str
    started: float
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    c2pa: C2paReading | None = None
    record: dict[str, Any] | None = None
    record_scheme: str | None = None
    recovered: C2paReading | None = None
    recovery_ok: bool = False

    def error(self, reason: str, *, image: ImageInfo | None) -> VerificationReport:
        return VerificationReport(
            source=self.label,
            verdict=Verdict.ERROR,
            explanation=f"The file could not be checked: {reason}.",
            checks=tuple(self.checks),
            warnings=tuple(dict.fromkeys(self.warnings)),
            image=image,
            c2pa=self.c2pa,
            error=reason,
            checked_at=self.checked_at,
            seconds=time.perf_counter() - self.started,
        )


def _read_source(source: Path | str | bytes, *, max_bytes: int) -> tuple[str, bytes | None, str]:
    """(label, bytes or None when over ``max_bytes``, lower-case suffix)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return "<bytes>", data if len(data) <= max_bytes else None, ""
    path = Path(source)
    try:
        if path.stat().st_size > max_bytes:
            # Do not read a huge file into memory just to say it is too big.
            return str(path), None, path.suffix.lower()
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise InputError(f"no such file: {path}", hint="Check the path.") from e
    except IsADirectoryError as e:
        raise InputError(
            f"{path} is a directory", hint="Use `hallmark verify DIR` to verify a folder."
        ) from e
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from e
    return str(path), data, path.suffix.lower()


def _guess_mime(suffix: str) -> str | None:
    fmt = _EXTENSION_FORMAT.get(suffix)
    return _FORMAT_MIME.get(fmt) if fmt else None


def _decode(data: bytes, *, max_pixels: int) -> tuple[ImageInfo, Any, str]:
    """Identify the format from the bytes and decode the first frame as RGB, refusing images
    whose declared size exceeds ``max_pixels`` before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    digest = hashlib.sha256(data).hexdigest()
    fmt = mime = None
    width = height = None
    if not data:
        return ImageInfo(None, None, None, None, 0, digest), None, "the file is empty"
    try:
        with warnings.catch_warnings():
            # We enforce our own limit below; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
        fmt = im.format
        mime = _FORMAT_MIME.get(fmt or "") or (Image.MIME.get(fmt) if fmt else None)
        width, height = im.size
        info = ImageInfo(fmt, mime, width, height, len(data), digest)
        if width * height > max_pixels:
            return (
                info,
                None,
                f"the image declares {width}x{height} = {width * height} pixels, over the limit of "
                f"{max_pixels} (a decompression bomb?)",
            )
        if width <= 0 or height <= 0:
            return info, None, "the image has no pixels"
        im.load()
        rgb = im.convert("RGB")
        return info, rgb, ""
    except Image.DecompressionBombError as e:
        return (
            ImageInfo(fmt, mime, width, height, len(data), digest),
            None,
            f"decompression bomb refused: {e}",
        )
    except UnidentifiedImageError:
        return (
            ImageInfo(None, None, None, None, len(data), digest),
            None,
            "not an image format Pillow can read (unsupported format, or not an image at all)",
        )
    except MemoryError:
        return (
            ImageInfo(fmt, mime, width, height, len(data), digest),
            None,
            "the image is too large to decode",
        )
    except Exception as e:  # Pillow's decoders raise OSError, SyntaxError, ValueError, struct.error...
        why = " ".join(str(e).split())[:160] or type(e).__name__
        return (
            ImageInfo(fmt, mime, width, height, len(data), digest),
            None,
            f"truncated or corrupt image data: {why}",
        )


def _c2pa_check(c2pa: C2paReading, warnings_: list[str]) -> Check:
    details = {
        "state": c2pa.state,
        "signer": c2pa.signer,
        "issuer": c2pa.issuer,
        "claim_generator": c2pa.claim_generator,
        "ai_generated": c2pa.ai_generated,
    }
    codes = c2pa.failure_codes
    if c2pa.state == STATE_ABSENT:
        return Check("c2pa", CheckStatus.NOT_FOUND, "No Content Credentials (C2PA manifest) in the file.")
    if c2pa.state == STATE_REMOTE:
        warnings_.append(
            f"the Content Credentials are stored online at {c2pa.remote_url}; they were not fetched "
            "because network access is off (--allow-network)"
        )
        return Check(
            "c2pa",
            CheckStatus.NOT_CHECKED,
            "The file points at a remote manifest that was not fetched.",
            details={**details, "remote_url": c2pa.remote_url},
        )
    if c2pa.state == STATE_UNSUPPORTED:
        return Check("c2pa", CheckStatus.NOT_CHECKED, f"c2pa cannot read this format ({c2pa.error}).")
    if c2pa.untrusted and c2pa.valid:
        warnings_.append(
            f"the signer ({c2pa.signer or 'unknown'}, issued by {c2pa.issuer or 'unknown'}) is not in your "
            "trust anchors: the signature is valid but says nothing about who the signer is"
        )
    if c2pa.ingredient_errors:
        warnings_.append(
            "an ingredient (an earlier image this one was made from) carries credential errors: "
            + ", ".join(c2pa.ingredient_errors)
        )
    if c2pa.content_failures:
        return Check(
            "c2pa",
            CheckStatus.FAILED,
            "The credentials do not match the file: it was changed after signing ("
            + ", ".join(c2pa.content_failures)
            + ").",
            codes,
            details,
        )
    if c2pa.credential_failures:
        return Check(
            "c2pa",
            CheckStatus.FAILED,
            "The signing certificate cannot be accepted (" + ", ".join(c2pa.credential_failures) + ").",
            codes,
            details,
        )
    who = "a trusted signer" if c2pa.state == STATE_TRUSTED else "an untrusted signer"
    summary = f"The credentials validate ({c2pa.state}), signed by {who}: {c2pa.signer or 'unknown'}."
    if c2pa.state == STATE_INVALID:
        summary = "The image's own credentials validate; only an ingredient's credentials do not."
    return Check("c2pa", CheckStatus.PASSED, summary, codes, details)


def _read_our_watermarks(
    image: Any, *, key: bytes | None, schemes: Sequence[str] | None, run: _Run
) -> list[WatermarkReading]:
    from ..watermark._registry import watermark_scheme, watermark_schemes

    ids = list(schemes) if schemes is not None else watermark_schemes()
    # Read the scheme the manifest names first; once one scheme decodes a payload (a keyed check
    # makes a false decode ~1e-15 likely) the slower ones add nothing but time.
    named = [b["alg"] for b in (run.c2pa.soft_bindings if run.c2pa else ()) if b["alg"] in ids]
    ids = list(dict.fromkeys(named + ids))
    readings: list[WatermarkReading] = []
    for scheme_id in ids:
        name = f"watermark:{scheme_id}"
        decoded = next((r.scheme_id for r in readings if r.found), None)
        if decoded is not None:
            run.checks.append(
                Check(name, CheckStatus.NOT_CHECKED, f"Skipped: {decoded} already decoded a payload.")
            )
            continue
        if key is None:
            run.checks.append(Check(name, CheckStatus.NOT_CHECKED, "No watermark key was given."))
            continue
        if image is None:
            run.checks.append(Check(name, CheckStatus.NOT_CHECKED, "The pixels could not be decoded."))
            continue
        scheme = watermark_scheme(scheme_id, key=key)
        # No size gate here: ``min_size`` is what a scheme needs to *embed*; detectors read
        # smaller images (crops, downscaled copies) and report "too small" themselves.
        try:
            reading = scheme.detect(image)
        except Exception as e:  # a detector crash must not take the whole verification down
            run.warnings.append(f"watermark detector {scheme_id} failed: {type(e).__name__}")
            run.checks.append(
                Check(name, CheckStatus.NOT_CHECKED, f"The detector failed ({type(e).__name__}).")
            )
            continue
        readings.append(reading)
        run.checks.append(_reading_check(name, reading, ours=True))
    return readings


def _read_third_party(image: Any, *, run: _Run) -> list[WatermarkReading]:
    from ..watermark._thirdparty import detect_third_party

    if image is None:
        run.checks.append(Check("third-party", CheckStatus.NOT_CHECKED, "The pixels could not be decoded."))
        return []
    try:
        readings = list(detect_third_party(image))
    except Exception as e:  # a detector crash must not take the whole verification down
        run.warnings.append(f"third-party watermark detection failed: {type(e).__name__}")
        run.checks.append(
            Check("third-party", CheckStatus.NOT_CHECKED, f"The detectors failed ({type(e).__name__}).")
        )
        return []
    for reading in readings:
        run.checks.append(_reading_check(f"third-party:{reading.scheme_id}", reading, ours=False))
    return readings


def _reading_check(name: str, reading: WatermarkReading, *, ours: bool) -> Check:
    details = reading.to_dict()
    fpp = reading.false_positive_probability
    strength = f"confidence {reading.confidence:.2f}"
    if reading.bit_errors is not None:
        strength += f", {reading.bit_errors} bit errors"
    if fpp is not None:
        strength += f", false-positive probability {fpp:.2g}"
    if reading.found:
        what = f"payload {reading.payload.hex()}" if ours and reading.payload else "mark present"
        return Check(name, CheckStatus.PASSED, f"Watermark found ({what}; {strength}).", details=details)
    if reading.bit_errors is None and any(w in reading.detail for w in ("small", "not readable")):
        return Check(name, CheckStatus.NOT_CHECKED, f"Not read: {reading.detail}.", details=details)
    return Check(name, CheckStatus.NOT_FOUND, "No watermark found.", details=details)


def _consistency(c2pa: C2paReading, ours: list[WatermarkReading], *, run: _Run) -> None:
    decoded = {r.scheme_id: r.payload.hex() for r in ours if r.found and r.payload}
    bindings = [b for b in c2pa.soft_bindings if b["alg"]] if c2pa.present else []
    if not bindings or not decoded:
        why = "no soft binding in the manifest" if not bindings else "no watermark payload was decoded"
        run.checks.append(Check("consistency", CheckStatus.NOT_CHECKED, f"Nothing to compare: {why}."))
        return
    comparable = [b for b in bindings if b["alg"] in decoded]
    if not comparable:
        run.checks.append(
            Check(
                "consistency",
                CheckStatus.NOT_CHECKED,
                "The manifest's soft binding names a scheme whose watermark was not decoded.",
                details={"bindings": bindings, "decoded": decoded},
            )
        )
        return
    mismatched = [b for b in comparable if _normalise_payload(b["value"]) != decoded[b["alg"]]]
    details = {"bindings": comparable, "decoded": decoded}
    if mismatched:
        run.checks.append(
            Check(
                "consistency",
                CheckStatus.FAILED,
                "The watermark in the pixels carries a different payload than the manifest declares.",
                ("softBinding.mismatch",),
                details,
            )
        )
    else:
        run.checks.append(
            Check(
                "consistency",
                CheckStatus.PASSED,
                "The watermark payload matches the manifest's soft binding.",
                (),
                details,
            )
        )


def _normalise_payload(value: str) -> str:
    """Soft-binding values are hex in our manifests; accept base64 from other writers."""
    v = value.strip().lower()
    try:
        bytes.fromhex(v)
        return v
    except ValueError:
        import base64
        import binascii

        try:
            return base64.b64decode(value, validate=True).hex()
        except (binascii.Error, ValueError):
            return v


def _audit(
    c2pa: C2paReading, ours: list[WatermarkReading], *, lookup: AuditLookup | None, sha256: str, run: _Run
) -> None:
    keys: list[tuple[str, str]] = [(r.scheme_id, r.payload.hex()) for r in ours if r.found and r.payload]
    if c2pa.valid:
        keys += [(b["alg"], _normalise_payload(b["value"])) for b in c2pa.soft_bindings if b["alg"]]
    keys = list(dict.fromkeys(keys))
    if lookup is None:
        run.checks.append(Check("audit", CheckStatus.NOT_CHECKED, "No audit log was given."))
        return
    if not keys:
        run.checks.append(
            Check("audit", CheckStatus.NOT_CHECKED, "No watermark payload or soft binding to look up.")
        )
        return
    for scheme_id, payload_hex in keys:
        try:
            found = lookup(scheme_id, payload_hex)
        except Exception as e:
            run.warnings.append(f"the audit log lookup failed: {type(e).__name__}")
            run.checks.append(
                Check("audit", CheckStatus.NOT_CHECKED, f"The audit log lookup failed ({type(e).__name__}).")
            )
            return
        if found:
            record = audit_summary(found)
            record.setdefault("scheme_id", scheme_id)
            record.setdefault("payload", payload_hex)
            matches = record.get("sha256") == sha256 if record.get("sha256") else None
            record["file_matches_record"] = matches
            run.record = record
            run.record_scheme = scheme_id
            tail = ""
            if matches is True:
                tail = " The file is byte-for-byte the released image."
            elif matches is False:
                tail = " The file differs from the released bytes (re-saved or edited since)."
            run.checks.append(
                Check(
                    "audit",
                    CheckStatus.PASSED,
                    f"Audit record {record.get('record_id')} ({record.get('kind')}, {record.get('created')}).{tail}",
                    details=record,
                )
            )
            return
    run.checks.append(
        Check(
            "audit",
            CheckStatus.NOT_FOUND,
            "No audit record matches the payload.",
            details={"looked_up": keys},
        )
    )


def audit_summary(record: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The part of an audit record a verification report may show: ids, time, model, policy, a
    decision summary (actions, rule ids, categories) and the image hash; never the prompt, the
    user, the generation parameters or a matched span of text."""
    if not isinstance(record, Mapping):
        record = {
            k: getattr(record, k) for k in (*_RECORD_FIELDS, "decisions", "erased") if hasattr(record, k)
        }
    out: dict[str, Any] = {k: record[k] for k in _RECORD_FIELDS if k in record and _plain(record[k])}
    if isinstance(record.get("decisions"), Mapping):
        out["decisions"] = {str(stage): _decision_summary(d) for stage, d in record["decisions"].items()}
    if record.get("erased"):
        out["erased"] = True
    return out


def _plain(value: Any) -> bool:
    if isinstance(value, str | int | float | bool) or value is None:
        return True
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return False


def _decision_summary(decision: Any) -> dict[str, Any]:
    if isinstance(decision, str):
        return {"action": decision}
    if not isinstance(decision, Mapping):
        return {}
    out: dict[str, Any] = {}
    if isinstance(decision.get("action"), str):
        out["action"] = decision["action"]
    rules: list[str] = []
    categories: list[str] = []
    for finding in decision.get("findings") or ():
        if isinstance(finding, Mapping):
            if isinstance(finding.get("rule_id"), str):
                rules.append(finding["rule_id"])
            if isinstance(finding.get("category"), str):
                categories.append(finding["category"])
    if rules:
        out["rules"] = list(dict.fromkeys(rules))
    if categories:
        out["categories"] = list(dict.fromkeys(categories))
    scores = decision.get("scores")
    if isinstance(scores, Mapping):
        out["scores"] = {str(k): round(float(v), 4) for k, v in scores.items() if isinstance(v, int | float)}
    return out


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
    tolerated = {"assertion.dataHash.mismatch", "assertion.boxesHash.mismatch", "assertion.bmffHash.mismatch"}
    other = [c for c in recovered.content_failures if c not in tolerated]
    policy_rid = (recovered.hallmark_policy or {}).get("record_id")
    details = {"record_id": record_id, "state": recovered.state, "codes": list(recovered.failure_codes)}
    if (
        recovered.signature_validated
        and not other
        and not recovered.credential_failures
        and policy_rid
        in (
            None,
            record_id,
        )
    ):
        run.recovery_ok = True
        altered = "assertion.dataHash.mismatch" in recovered.content_failures
        summary = "Recovered the stored credentials; their signature validates."
        if altered:
            summary = (
                "Recovered credentials; the image was altered after signing (re-saved, resized or edited)."
            )
        run.checks.append(Check("recovery", CheckStatus.PASSED, summary, recovered.failure_codes, details))
        return
    why = (
        ", ".join(other + list(recovered.credential_failures)) or recovered.error or "signature not validated"
    )
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
    # Precedence: an embedded manifest that fails its content checks (tampered) or its credential
    # checks comes first; one that validates decides between hallmark-signed, c2pa-ai-generated
    # and c2pa-signed; without one, our watermark (recovered record, or the mark alone), then
    # third-party marks, then nothing.
    issuer = c2pa.issuer or c2pa.signer or "an unknown issuer"
    recovery_note = ""
    if run.recovery_ok and run.record:
        recovery_note = (
            f" Its watermark leads to hallmark record {run.record.get('record_id')}, whose stored credentials"
            " were recovered: the image was altered after signing."
        )
    if c2pa.present and c2pa.content_failures:
        return Verdict.TAMPERED, (
            "This image carries Content Credentials, but the image or its credentials were changed after "
            f"signing ({', '.join(c2pa.content_failures)}), so they cannot be relied on.{recovery_note}"
        )
    if c2pa.present and c2pa.credential_failures:
        reason = ", ".join(c2pa.credential_failures)
        plain = "the signing certificate has expired" if "signingCredential.expired" in reason else reason
        return Verdict.INVALID_CREDENTIALS, (
            f"This image carries Content Credentials from {issuer} that cannot be accepted: {plain}. "
            "The image may be unaltered, but its origin cannot be confirmed."
        )
    if c2pa.present:
        hallmark_claimed = c2pa.hallmark_policy is not None
        consistency = next((c for c in run.checks if c.name == "consistency"), None)
        confirmed = (
            c2pa.state == STATE_TRUSTED
            or (consistency is not None and consistency.status is CheckStatus.PASSED)
            or bool(run.record and run.record.get("file_matches_record"))
        )
        if hallmark_claimed and confirmed:
            return Verdict.HALLMARK_SIGNED, (
                f"This image was made by an AI system ({_agent(c2pa)}) using hallmark; its signed Content "
                "Credentials are intact and say how it was made."
            )
        if not hallmark_claimed and run.record and any(r.found for r in ours):
            run.warnings.append(
                f"the image also carries hallmark's watermark for record {run.record.get('record_id')}: it was "
                f"made with hallmark and later signed again by {issuer}"
            )
        if hallmark_claimed:
            run.warnings.append(
                "the credentials name hallmark, but the signer is not trusted and neither the watermark nor "
                "the audit log confirms it"
            )
        if c2pa.ai_generated:
            return Verdict.C2PA_AI_GENERATED, (
                f"This image carries valid Content Credentials from {issuer} declaring that it was generated by AI."
            )
        return Verdict.C2PA_SIGNED, (
            f"This image carries valid Content Credentials from {issuer}; they do not declare it AI-generated."
        )
    if run.record:
        if run.recovery_ok:
            return Verdict.HALLMARK_RECOVERED, (
                "This image was made by an AI system using hallmark. Its Content Credentials were removed, but "
                f"its invisible watermark led to record {run.record.get('record_id')}, whose stored credentials "
                "were recovered: the image was altered after signing (for example re-saved or resized)."
            )
        recovery = next((c for c in run.checks if c.name == "recovery"), None)
        tail = ""
        if recovery is not None and recovery.status is CheckStatus.FAILED:
            tail = (
                " The credentials stored for that record do not validate, so treat the record with caution."
            )
        return Verdict.HALLMARK_RECOVERED, (
            "This image was made by an AI system using hallmark. Its Content Credentials were removed, but its "
            f"invisible watermark led to audit record {run.record.get('record_id')}.{tail}"
        )
    if any(r.found for r in ours):
        return Verdict.HALLMARK_WATERMARK, (
            "This image carries hallmark's invisible watermark made with your key, but no record of it was "
            "found, so nothing more can be said about how it was made."
        )
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


def _agent(c2pa: C2paReading) -> str:
    agents = [
        a["software_agent"]
        for a in c2pa.actions
        if a.get("action") == "c2pa.created" and a.get("software_agent")
    ]
    return agents[0] if agents else "unknown model"


def _maker(reading: WatermarkReading) -> str:
    """'Stable Diffusion XL's reference pipeline' from a detail like 'made by ... (41/48 bits match)'."""
    if reading.detail.startswith("made by "):
        return reading.detail[len("made by ") :].split(" (")[0]
    return reading.scheme_id
