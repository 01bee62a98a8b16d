"""The C2PA Soft Binding Resolution API over one home: watermark payload -> audit record ->
manifest store, and a manifest identifier -> its store.

The API (C2PA 2.2, "Soft Binding Resolution API") names manifests by their C2PA identifier (the
label of the active manifest, ``urn:c2pa:...``); hallmark keeps each store under its record id
(``ManifestStore``).  This module joins the two: a watermark payload is found in the audit log
(the ``image.released`` entry that recorded it), the record's stored manifest gives the
identifier, and an in-memory index from identifier to record id answers ``/manifests/{id}``.
It reads the stores' JUMBF box headers only; validating a manifest is the client's job (and
``hallmark verify``'s), as the spec intends.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hallmark.errors import AuditError

from .._home import Home
from ._errors import ApiError

# A manifest identifier as a path segment: a URN of letters, digits and ``:._-`` (C2PA 2.x
# writes ``urn:c2pa:<uuid>[:<generator>][:<version>_<reason>]``, 1.x ``urn:uuid:<uuid>``).
_MANIFEST_ID = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9:._-]{0,254}$")
# A soft-binding value is a few bytes for a watermark; anything this long is not a query.
MAX_VALUE_CHARS = 4096
MAX_RESULTS = 100
# The JUMBF content type of a C2PA manifest store's superbox (ISO 19566-5, C2PA 2.2 §11.1).
_JUMD = b"jumd"
_JUMB = b"jumb"


class SoftBindingResolver:
    """Soft-binding queries answered from ``home``'s audit log and manifest store.

    ``algs`` maps each soft-binding algorithm name served (the manifests' ``alg``, e.g.
    ``io.github.hallmark.wm1``) to hallmark's scheme id (``hallmark.wm1``).  Thread-safe."""

    def __init__(self, home: Home, *, algs: dict[str, str]) -> None:
        self.home = home
        self.algs = dict(algs)
        self._index: dict[str, str] = {}  # manifest id -> record id
        self._indexed: set[str] = set()  # store file names already read
        self._lock = threading.Lock()

    @classmethod
    def for_home(cls, home: Home, *, schemes: Sequence[str] | None = None) -> SoftBindingResolver:
        """Serve the keyed watermark schemes hallmark verifies with (or ``schemes``)."""
        from hallmark.provenance import manifest_alg, verify_schemes

        return cls(home, algs={manifest_alg(s): s for s in (schemes or verify_schemes())})

    def supported_algorithms(self) -> dict[str, Any]:
        """The ``c2pa.softBindingAlgList`` document: our watermark algorithms, no fingerprints."""
        return {"watermarks": [{"alg": alg} for alg in self.algs]}

    def scheme_for(self, alg: str | None) -> str | None:
        """The scheme id of a served ``alg`` (None when ``alg`` is None); 400 for any other name."""
        if alg is None:
            return None
        scheme = self.algs.get(alg)
        if scheme is None:
            served = ", ".join(self.algs) or "none"
            raise ApiError(
                400,
                "unsupported-algorithm",
                f"this resolver does not serve soft-binding algorithm {alg[:100]!r}; served: {served}",
            )
        return scheme

    def by_binding(self, alg: str, value: str, *, max_results: int) -> dict[str, Any]:
        """The ``c2pa.softBindingQueryResult`` of a soft binding: every manifest released under
        the watermark payload ``value`` (base64), newest first, at most ``max_results``."""
        scheme = self.scheme_for(alg)
        assert scheme is not None
        payload = decode_value(value)
        return {"matches": self._matches(scheme, payload.hex(), score=100, max_results=max_results)}

    def by_content(self, report: dict[str, Any], *, alg: str | None, max_results: int) -> dict[str, Any]:
        """The matches for an uploaded asset, from hallmark's verification report on it: the
        record its keyed watermark resolved to.  A watermark whose picture does not match the one
        released under it (the binding check failed: a copied mark) matches nothing; one whose
        picture could not be compared scores 50, a confirmed one 100."""
        wanted = self.scheme_for(alg)
        record = report.get("record") or {}
        scheme = record.get("scheme_id")
        if record.get("kind") != "image.released" or not scheme or record.get("erased"):
            return {"matches": []}
        if (wanted is not None and scheme != wanted) or scheme not in self.algs.values():
            return {"matches": []}
        checks = {c["name"]: c["status"] for c in report.get("checks", ())}
        if checks.get(f"watermark:{scheme}") != "passed" or checks.get("audit") != "passed":
            return {"matches": []}
        binding = checks.get("binding")
        if binding not in ("passed", "not_checked", None):
            return {"matches": []}
        score = 100 if binding == "passed" else 50
        found = self._record_match(str(record.get("record_id")), score=score)
        return {"matches": found[:max_results]}

    def manifest(self, manifest_id: str, *, active_only: bool) -> bytes:
        """The manifest store whose active manifest is ``manifest_id`` (``active_only``: a store
        holding that manifest alone); 400 for a malformed identifier, 404 for an unknown one."""
        if not _MANIFEST_ID.fullmatch(manifest_id):
            raise ApiError(400, "bad-request", "a C2PA manifest identifier is a URN such as urn:c2pa:<uuid>")
        record_id = self._lookup(manifest_id)
        store = self._store().get(record_id) if record_id else None
        if store is None:
            raise ApiError(404, "unknown-manifest", f"no manifest {manifest_id} in this manifest store")
        return active_manifest_store(store) if active_only else store

    # --- lookups -------------------------------------------------------------------------

    def _store(self) -> Any:
        from hallmark.provenance import ManifestStore

        return ManifestStore(self.home.manifests)

    def _matches(
        self, scheme: str, payload_hex: str, *, score: int, max_results: int
    ) -> list[dict[str, Any]]:
        try:
            log = self.home.open_audit_log(create=False)
        except AuditError as e:
            if str(e).startswith("no audit log"):  # nothing released yet
                return []
            raise
        with log:
            released = [e for e in log.find(payload=payload_hex, kind="image.released")]
            released = [e for e in released if e.data.get("scheme_id") in (None, scheme)]
            out: list[dict[str, Any]] = []
            for entry in reversed(released):
                rid = str(entry.data.get("record_id") or "")
                if not rid or any(e.kind == "record.erased" for e in log.find(record_id=rid)):
                    continue
                for match in self._record_match(rid, score=score):
                    if match not in out:
                        out.append(match)
                if len(out) >= max_results:
                    break
        return out[:max_results]

    def _record_match(self, record_id: str, *, score: int) -> list[dict[str, Any]]:
        """The match of one record: its stored manifest's active identifier, or none."""
        from hallmark.errors import ProvenanceError

        try:
            store = self._store().get(record_id)
        except ProvenanceError:
            return []
        label = active_manifest_label(store) if store else None
        if label is None:
            return []
        with self._lock:
            self._index[label] = record_id
        return [{"manifestId": label, "similarityScore": score}]

    def _lookup(self, manifest_id: str) -> str | None:
        """The record id of ``manifest_id``: from the index, else after reading the stores not
        read yet (new releases), each once per process."""
        with self._lock:
            found = self._index.get(manifest_id)
            if found is not None:
                return found
            directory = self.home.manifests
            if not directory.is_dir():
                return None
            for path in sorted(directory.glob("*.c2pa")):
                if path.name in self._indexed:
                    continue
                label = _label_of_file(path)
                self._indexed.add(path.name)
                if label is not None:
                    self._index[label] = path.stem
            return self._index.get(manifest_id)


def decode_value(value: str) -> bytes:
    """A soft-binding value as the API sends it (base64; URL-safe base64 and a ``+`` that a
    query string turned into a space are accepted too); 400 for anything else."""
    if len(value) > MAX_VALUE_CHARS:
        raise ApiError(400, "bad-request", f"the soft-binding value is over {MAX_VALUE_CHARS} characters")
    text = value.strip().replace(" ", "+").replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw:
        raise ApiError(400, "bad-request", "the soft-binding value is not base64 of at least one byte")
    return raw


# --- JUMBF ----------------------------------------------------------------------------------


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, box start, content start, box end) of each ISO BMFF box in ``data[start:end]``."""
    i = start
    while i + 8 <= end:
        size = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        header = 8
        if size == 1:
            if i + 16 > end:
                raise ValueError("truncated box header")
            size, header = int.from_bytes(data[i + 8 : i + 16], "big"), 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            raise ValueError("box size out of range")
        yield kind, i, i + header, i + size
        i += size


def _description_label(data: bytes, start: int, end: int) -> str | None:
    """The label of a JUMBF description box's content (16-byte type, toggles, label)."""
    if end - start < 17 or not data[start + 16] & 0x02:
        return None
    stop = data.find(b"\x00", start + 17, end)
    if stop < 0:
        return None
    return data[start + 17 : stop].decode("utf-8", "replace")


def _manifests(store: bytes) -> tuple[tuple[int, int], list[tuple[str | None, int, int]]]:
    """The store's description box span and its manifest superboxes (label, start, end)."""
    (kind, _, content, end), *_ = list(_boxes(store, 0, len(store)))
    if kind != _JUMB:
        raise ValueError("not a JUMBF superbox")
    children = list(_boxes(store, content, end))
    if not children or children[0][0] != _JUMD:
        raise ValueError("no JUMBF description box")
    description = (children[0][1], children[0][3])
    manifests = []
    for kind, start, inner, stop in children[1:]:
        if kind != _JUMB:
            continue
        first = next(_boxes(store, inner, stop), None)
        label = _description_label(store, first[2], first[3]) if first and first[0] == _JUMD else None
        manifests.append((label, start, stop))
    return description, manifests


def active_manifest_label(store: bytes) -> str | None:
    """The identifier of a manifest store's active (last) manifest; None when it is not one."""
    try:
        _, manifests = _manifests(store)
    except (ValueError, IndexError):
        return None
    return manifests[-1][0] if manifests else None


def active_manifest_store(store: bytes) -> bytes:
    """A manifest store holding only the active manifest of ``store`` (the store itself when it
    holds one manifest)."""
    (d_start, d_end), manifests = _manifests(store)
    _, start, end = manifests[-1]
    body = store[d_start:d_end] + store[start:end]
    return (8 + len(body)).to_bytes(4, "big") + _JUMB + body


def _label_of_file(path: Path) -> str | None:
    try:
        return active_manifest_label(path.read_bytes())
    except OSError:
        return None
