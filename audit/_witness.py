"""Witnesses of the log: registering them, and asking them to cosign (C2SP tlog-witness).

A witness keeps, for each log it follows, the largest checkpoint it has verified, and cosigns a
new one only with a consistency proof from it: once a witness has cosigned a checkpoint, no
rollback or fork of the log can be made to verify against it, whoever holds the log's key.
An online witness is asked over HTTP (``POST <prefix>/add-checkpoint``: ``old N``, the proof
lines, a blank line, the signed checkpoint; 409 says which size it has, 422 that the proof
failed); an offline one is registered by its key alone and its cosignatures are brought back in
a checkpoint file (``hallmark audit verify --checkpoint``).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hallmark.errors import AuditError, InputError, TamperError

from ._checkpoint import parse_checkpoint
from ._cosign import WitnessKey, cosignature_time
from ._pin import CheckpointFile

if TYPE_CHECKING:
    from ._log import AuditLog

_MAX_RESPONSE = 64 * 1024


@dataclass(frozen=True)
class Witness:
    """A registered witness: its cosigning key and, for an online witness, its submission prefix."""

    key: WitnessKey
    url: str | None = None

    @property
    def name(self) -> str:
        return self.key.name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "key": str(self.key), "url": self.url}

    @classmethod
    def from_target(cls, target: str, *, key: str | None = None) -> Witness:
        """A witness from a URL (``http(s)://...``, with ``key`` its ``NAME+ID+KEY``) or from a file
        holding its key (an offline witness)."""
        if target.startswith(("http://", "https://")):
            if key is None:
                raise InputError(
                    f"witness {target} needs its public key", hint="Pass --key NAME+KEYID+KEY (type 0x04)."
                )
            return cls(WitnessKey.parse(key), url=target.rstrip("/"))
        path = Path(target)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read witness key file {path}: {type(e).__name__}") from e
        lines = [x.strip() for x in text.splitlines() if x.strip() and not x.startswith("#")]
        if not lines:
            raise InputError(f"witness key file {path} is empty")
        return cls(WitnessKey.parse(key or lines[0]), url=None)


class WitnessList:
    """The witnesses registered in a home (``HALLMARK_HOME/witnesses.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> list[Witness]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [Witness(WitnessKey.parse(w["key"]), url=w.get("url")) for w in raw["witnesses"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise AuditError(f"the witness list {self.path} is unreadable: {type(e).__name__}") from e

    def add(self, witness: Witness) -> list[Witness]:
        """Register ``witness`` (replacing one of the same name); returns the list."""
        witnesses = [w for w in self.load() if w.name != witness.name] + [witness]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        tmp.write_text(json.dumps({"witnesses": [w.to_dict() for w in witnesses]}, indent=2) + "\n")
        os.replace(tmp, self.path)
        return witnesses


@dataclass(frozen=True)
class Submission:
    """What one witness answered: ok with the size it cosigned, or why not (``offline``: not asked)."""

    name: str
    ok: bool
    size: int | None = None
    reason: str = ""
    offline: bool = False


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str, str]:
    request = urllib.request.Request(
        url + "/add-checkpoint", data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            return (
                response.status,
                response.headers.get("Content-Type", ""),
                response.read(_MAX_RESPONSE).decode(),
            )
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read(_MAX_RESPONSE).decode(errors="replace")
    except (urllib.error.URLError, OSError, UnicodeDecodeError) as e:
        raise AuditError(f"witness at {url} is unreachable: {getattr(e, 'reason', e)}") from e


_REFUSED = {
    400: "the request was malformed",
    403: "it does not trust this log's key",
    404: "it does not follow this log (unknown origin)",
    422: "the consistency proof failed: the log is not consistent with what the witness saw",
}


def _ask(log: AuditLog, witness: Witness, note: str, size: int, timeout: float) -> tuple[Submission, str]:
    """Ask one online witness to cosign ``note``; returns the outcome and the cosignature lines."""
    assert witness.url is not None
    old = 0
    for _ in range(3):
        hashes = log.prove_consistency(old, new_size=size).hashes if 0 < old < size else []
        proof = "".join(base64.b64encode(h).decode() + "\n" for h in hashes)
        status, kind, text = _post(witness.url, f"old {old}\n{proof}\n{note}".encode(), timeout)
        if status == 409 and kind.startswith("text/x.tlog.size") and text.strip().isdigit():
            old = int(text.strip())  # the size the witness has: prove from there
            if old > size:
                reason = f"it has seen {old} entries, more than the log's {size}: the log was rolled back"
                return Submission(witness.name, False, old, f"witness {witness.name}: {reason}"), ""
            continue
        if status != 200:
            why = _REFUSED.get(status, f"HTTP {status}")
            return Submission(witness.name, False, None, f"witness {witness.name} refused: {why}"), ""
        lines = "".join(x + "\n" for x in text.splitlines() if x.startswith("\u2014 "))
        try:
            when = cosignature_time(note + lines, witness.key)
        except TamperError as e:
            return Submission(witness.name, False, None, str(e)), ""
        if when is None:
            return Submission(
                witness.name, False, None, f"witness {witness.name} sent no cosignature by its key"
            ), ""
        return Submission(witness.name, True, size), lines
    return Submission(witness.name, False, None, f"witness {witness.name} keeps answering 409"), ""


def request_cosignatures(
    log: AuditLog, witnesses: Sequence[Witness], *, checkpoint_file: Path, timeout: float = 10.0
) -> list[Submission]:
    """Ask every online witness to cosign the checkpoint in ``checkpoint_file`` (the newest the
    home has seen) and add the cosignatures to that file.  Offline witnesses are listed as such."""
    pinned = CheckpointFile(checkpoint_file)
    cp = pinned.read()
    if cp is None:
        raise AuditError(
            f"there is no checkpoint file at {checkpoint_file}",
            hint="Append to the log, or run `hallmark audit checkpoint --pin`.",
        )
    note = cp.note
    out: list[Submission] = []
    lines = ""
    for w in witnesses:
        if w.url is None:
            reason = (
                f"witness {w.name} is offline: its cosignature comes in a file (`audit verify --checkpoint`)"
            )
            out.append(Submission(w.name, False, None, reason, offline=True))
            continue
        result, got = _ask(log, w, note, cp.size, timeout)
        out.append(result)
        lines += got
    if lines and not pinned.add_signatures(parse_checkpoint(note + lines)[0].note):
        return [
            Submission(s.name, False, s.size, "the log grew meanwhile: ask again") if s.ok else s for s in out
        ]
    return out
