"""The ``c2pa.soft-binding`` assertion: the one place where our watermark scheme ids meet C2PA.

Inside hallmark a watermark scheme is named ``hallmark.<name>`` (the watermark registry, the audit
log and the resolver use that id).  In a manifest the spec wants ``alg`` to be a reverse-domain
name from the C2PA soft-binding algorithm list, so ``hallmark.<name>`` is written as
``io.github.hallmark.<name>``; both directions go through ``manifest_alg`` and ``scheme_for_alg``.

The spec's CDDL (2.2 §18.10.2) wants each block's ``value`` as a CBOR byte string and a ``pad``
byte string.  c2pa-python 0.38 (c2pa-rs 0.91) only takes assertions as JSON, and no JSON value
becomes a CBOR byte string (contentauth/c2pa-rs#2689): the closest it writes is an array of byte
values, which c2pa-rs's own soft-binding type (``serde_bytes``) reads back as the same bytes and its
Reader shows as base64, exactly like a byte string.  That is what ``assertion_data`` writes until
the SDK can do better.  Images released before carry ``alg: hallmark.<name>`` and the value as hex
text; ``binding_from_manifest`` still reads them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

SOFT_BINDING_LABEL = "c2pa.soft-binding"
# Our scheme ids start with this; in a manifest they carry the reverse-domain prefix instead.
SCHEME_PREFIX = "hallmark."
MANIFEST_PREFIX = "io.github.hallmark."


def manifest_alg(scheme_id: str) -> str:
    """The soft-binding ``alg`` a manifest names for our watermark ``scheme_id``
    (``hallmark.wm1`` -> ``io.github.hallmark.wm1``); any other id is already an algorithm-list
    name and is written as it is."""
    if scheme_id.startswith(SCHEME_PREFIX):
        return MANIFEST_PREFIX + scheme_id[len(SCHEME_PREFIX) :]
    return scheme_id


def scheme_for_alg(alg: str) -> str:
    """The scheme id a manifest's ``alg`` stands for: ``io.github.hallmark.wm1`` and the
    ``hallmark.wm1`` of images released before both read as ``hallmark.wm1``."""
    if alg.startswith(MANIFEST_PREFIX):
        return SCHEME_PREFIX + alg[len(MANIFEST_PREFIX) :]
    return alg


def assertion_data(scheme_id: str, payload: bytes) -> dict[str, Any]:
    """The ``c2pa.soft-binding`` assertion for one watermark payload covering the whole image."""
    return {
        "alg": manifest_alg(scheme_id),
        "blocks": [{"scope": {}, "value": list(payload)}],
        "pad": [],
    }


def binding_from_manifest(data: Any) -> list[dict[str, str]]:
    """``[{"alg": scheme id, "value": hex}]`` for each block of a soft-binding assertion as the
    Reader shows it; a block whose value cannot be decoded keeps it as it was written."""
    if not isinstance(data, dict):
        return []
    alg = data.get("alg")
    alg = alg if isinstance(alg, str) else ""
    out = []
    for block in data.get("blocks") or ():
        if not isinstance(block, dict):
            continue
        value = block.get("value")
        raw = _decode(alg, value)
        if raw is not None:
            out.append({"alg": scheme_for_alg(alg), "value": raw.hex()})
        elif isinstance(value, str):
            out.append({"alg": scheme_for_alg(alg), "value": value})
    return out


def _decode(alg: str, value: Any) -> bytes | None:
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value)
    if not isinstance(value, str):
        return None
    if alg.startswith(SCHEME_PREFIX):
        # Written before the reverse-domain alg: the value is the payload as hex text.
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None
    # A byte string (or our byte array) as the Reader shows it: base64.
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
