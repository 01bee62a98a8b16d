"""``verify_image`` wired to a HALLMARK_HOME: its development CA, watermark key, audit log and
manifest store.

``provenance`` and ``audit`` do not know each other; this is where the audit log becomes the
lookup that resolves a watermark payload to its record, and the manifest store becomes the source
of credentials recovered after stripping.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hallmark.errors import WatermarkError

from ._home import Home


@dataclass(frozen=True)
class Verifier:
    """Verifies found images with everything one hallmark home knows.

    Build it with ``Verifier.from_home()``; ``verify(path)`` checks one image in this process,
    ``verify_batch(paths, workers=N)`` checks many in worker processes with a per-file time limit.
    """

    options: Mapping[str, Any]

    @classmethod
    def from_home(
        cls,
        home: Home | str | Path | None = None,
        *,
        trust: Sequence[Path] = (),
        trust_list: Path | None = None,
        allow_network: bool = False,
        profiles: Sequence[str] = (),
        schemes: Sequence[str] | None = None,
    ) -> Verifier:
        """Trust the home's development CA (plus ``trust`` anchors), read our watermark with the
        home's key, resolve payloads through its audit log and recover from its manifest store;
        check the labelling duties of the profiles each image declares plus ``profiles``.
        Whatever the home lacks (no keys, no log yet) is reported as not checked, never created.

        ``schemes`` names the watermark schemes to read (default: ``verify_schemes()``, the keyed
        ones); an unknown id raises WatermarkError listing the known ones."""
        from hallmark.errors import InputError
        from hallmark.policies import KNOWN_PROFILES
        from hallmark.provenance import TrustConfig, watermark_schemes

        # Checked here too (verify_image checks again) so that a typo fails once, before any file.
        unknown = [p for p in profiles if p not in KNOWN_PROFILES]
        if unknown:
            raise InputError(
                f"unknown labels profile {unknown[0]!r}; known profiles: {', '.join(KNOWN_PROFILES)}",
                hint="Pass --profile with one of the known names.",
            )
        h = home if isinstance(home, Home) else Home.resolve(home)
        options: dict[str, Any] = {
            "trust": TrustConfig.from_files(
                list(trust), trust_list=trust_list, keys_dir=h.keys, allow_network=allow_network
            ),
            "watermark_key": _watermark_key(h),
            "lookup": _audit_lookup(h.audit_url),
            "manifest_lookup": _manifest_lookup(h.manifests),
            "profiles": tuple(profiles),
        }
        if schemes:
            known = watermark_schemes()
            for scheme_id in schemes:  # refuse an unknown id before any file is read
                if scheme_id not in known:
                    raise WatermarkError(
                        f"unknown watermark scheme {scheme_id!r}; known: {', '.join(known)}",
                        hint="Name one of the known schemes, or leave --scheme out to read the keyed ones.",
                    )
            options["schemes"] = list(dict.fromkeys(schemes))
        return cls(options)

    def verify(self, source: Path | str | bytes) -> Any:
        """One ``provenance.VerificationReport``."""
        from hallmark.provenance import verify_image

        return verify_image(source, **self.options)

    def verify_batch(
        self, files: Iterable[Path], *, workers: int = 1, timeout_s: float = 60.0, ordered: bool = True
    ) -> Iterator[Any]:
        """Reports in the order of ``files`` (``ordered=False``: as each finishes); a file that
        hangs or crashes becomes an error report."""
        from hallmark.provenance import verify_batch

        return iter(
            verify_batch(list(files), workers=workers, timeout_s=timeout_s, ordered=ordered, **self.options)
        )


def _watermark_key(home: Home) -> bytes | None:
    """The watermark key when this home has one; without it our watermark is reported not checked."""
    from hallmark.provenance import load_watermark_key

    if not home.watermark_key.exists():
        return None
    return load_watermark_key(home.keys)


def _audit_lookup(url: str) -> Callable[[str, str], Mapping[str, Any] | None] | None:
    """A lookup from (scheme id, payload hex) to an audit record summary (with the content
    fingerprint that binds the watermark to the released picture), or None when there is no
    log.  Verification never creates a database: a missing SQLite file means no lookup.  The log is
    opened once per process (worker processes are forked and must not share a connection)."""
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        return None
    opened: dict[int, Any] = {}

    def log() -> Any:
        from hallmark.audit import AuditLog

        if os.getpid() not in opened:
            opened[os.getpid()] = AuditLog.open(url)
        return opened[os.getpid()]

    return log_lookup(log)


def log_lookup(log: Callable[[], Any]) -> Callable[[str, str], Mapping[str, Any] | None]:
    """The lookup over the audit log ``log()`` returns (opened once per process by the caller)."""

    def lookup(scheme_id: str, payload_hex: str) -> Mapping[str, Any] | None:
        from hallmark.provenance import audit_summary

        audit = log()
        entries = [e for e in audit.find(payload=payload_hex) if e.kind == "image.released"]
        entries = [e for e in entries if e.data.get("scheme_id") in (None, scheme_id)] or entries
        if not entries:
            return None
        entry = entries[-1]
        summary = audit_summary(
            {**entry.data, "kind": entry.kind, "created": entry.created, "index": entry.index}
        )
        rid = entry.data.get("record_id")
        if rid and any(e.kind == "record.erased" for e in audit.find(record_id=str(rid))):
            summary["erased"] = True
        return summary

    return lookup


def _manifest_lookup(directory: Path) -> Callable[[str], bytes | None] | None:
    if not directory.is_dir():
        return None
    from hallmark.provenance import ManifestStore

    return ManifestStore(directory).get
