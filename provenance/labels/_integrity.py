"""Integrity codes of the TC260 implicit label (``ReservedCode1``/``ReservedCode2``) and the key
that makes them HMACs.

A plain hash shows the label's fields were not altered by accident; an HMAC under a key derived
from the operator's watermark key also shows who wrote them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..c2pa import load_watermark_key

_TC260_PRODUCER_FIELDS = ("Label", "ContentProducer", "ProduceID")
_TC260_PROPAGATOR_FIELDS = ("ContentPropagator", "PropagateID")
# Derivation label of the integrity key: changing it orphans every HMAC check code written so far.
_INTEGRITY_KEY_LABEL = b"hallmark.labels.integrity"


def labels_integrity_key(keys_dir: Path) -> bytes:
    """The 32-byte key under which TC260 check codes (``ReservedCode1``/``2``) are HMACs, so that
    a code proves who wrote the label, not only that it is intact: HMAC-SHA256 of a fixed label
    under the operator's watermark key in ``keys_dir`` (one-way, so whoever is given this key to
    check labels learns nothing of the watermark key).  Pass it to ``Labeler.from_policy(...,
    integrity_key=)`` to write codes and to ``read_labels(..., key=)`` to check them; a missing
    or unsafe key file raises ``KeyMaterialError`` as ``load_watermark_key`` does."""
    return hmac.new(load_watermark_key(keys_dir), _INTEGRITY_KEY_LABEL, hashlib.sha256).digest()


def _canonical(fields: Mapping[str, Any], names: Sequence[str]) -> bytes:
    return json.dumps({n: str(fields.get(n, "")) for n in names}, sort_keys=True, ensure_ascii=False).encode()


def integrity_code(fields: Mapping[str, Any], names: Sequence[str], *, key: bytes | None = None) -> str:
    """``sha256:<hex>`` over the named fields' canonical JSON, or ``hmac-sha256:<hex>`` with ``key``.

    A plain hash shows the fields were not altered by accident; only the keyed form shows who
    wrote them (the reader needs the key).
    """
    body = _canonical(fields, names)
    if key is not None:
        return "hmac-sha256:" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _check_code(fields: Mapping[str, Any], names: Sequence[str], code: Any, key: bytes | None) -> str:
    if not isinstance(code, str) or not code:
        return "unverified"
    if code.startswith("sha256:"):
        return "ok" if hmac.compare_digest(code, integrity_code(fields, names)) else "mismatch"
    if code.startswith("hmac-sha256:") and key is not None:
        return "ok" if hmac.compare_digest(code, integrity_code(fields, names, key=key)) else "mismatch"
    return "unverified"
