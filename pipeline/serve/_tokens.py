"""Operators' bearer tokens: made by ``hallmark tokens create NAME``, shown once, kept hashed.

A token is 256 random bits (``hm_`` + URL-safe base64); the home keeps only its SHA-256
(``HALLMARK_HOME/api-tokens.json``, mode 0600), so a copy of the file does not let anyone in.
Checking a token hashes it and compares the digest with every live entry in constant time.  A
revoked entry stays in the file (when, and who it was) but no longer authenticates; a running
server sees a revocation on its next request (the file is re-read when it changes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hallmark.errors import InputError

TOKENS_FILE = "api-tokens.json"
PREFIX = "hm_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class TokenInfo:
    """One token as the home keeps it: its name, the SHA-256 of the token, when it was made and
    when it was revoked (None while it is live)."""

    name: str
    sha256: str
    created: str
    revoked: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What ``tokens list --json`` shows: never the hash."""
        return {"name": self.name, "created": self.created, "revoked": self.revoked}


class TokenStore:
    """The tokens of one home (``path``: its ``api-tokens.json``).  ``now`` and ``rng`` are
    injected so that tests need no clock or entropy."""

    def __init__(
        self,
        path: Path,
        *,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        rng: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.path = Path(path)
        self.now = now
        self.rng = rng
        self._cache: tuple[tuple[int, int], list[TokenInfo]] | None = None
        self._lock = threading.Lock()

    @classmethod
    def of_home(cls, root: Path) -> TokenStore:
        return cls(Path(root) / TOKENS_FILE)

    def create(self, name: str) -> tuple[str, TokenInfo]:
        """A new token for ``name`` and its entry; InputError when ``name`` is malformed or a
        live token already has it."""
        if not _NAME.fullmatch(name):
            raise InputError(
                f"token name {name[:70]!r} is not 1-64 letters, digits, '.', '_' or '-'",
                hint="Name the token after who or what uses it, e.g. `web-frontend`.",
            )
        token = PREFIX + _b64(self.rng(32))
        with self._locked() as entries:
            if any(e.name == name and e.revoked is None for e in entries):
                raise InputError(
                    f"a live token is already named {name!r}",
                    hint=f"Revoke it first (`hallmark tokens revoke {name}`) or choose another name.",
                )
            info = TokenInfo(name=name, sha256=_digest(token), created=_stamp(self.now()))
            entries.append(info)
        return token, info

    def revoke(self, name: str) -> TokenInfo:
        """Revoke the live token ``name``; InputError when there is none."""
        with self._locked() as entries:
            for i, e in enumerate(entries):
                if e.name == name and e.revoked is None:
                    entries[i] = TokenInfo(e.name, e.sha256, e.created, _stamp(self.now()))
                    return entries[i]
        raise InputError(f"no live token is named {name!r}", hint="`hallmark tokens list` shows them.")

    def entries(self) -> list[TokenInfo]:
        """Every token, live and revoked, oldest first."""
        return list(self._read())

    def authenticate(self, token: str) -> TokenInfo | None:
        """The live entry ``token`` belongs to, else None (also for a revoked one)."""
        digest = _digest(token).encode()
        found = None
        for e in self._read():  # every entry compared, so the time says nothing about which
            if hmac.compare_digest(digest, e.sha256.encode()) and e.revoked is None:
                found = e
        return found

    def is_revoked(self, token: str) -> bool:
        """Whether ``token`` belongs to a revoked entry (to tell 'revoked' from 'unknown')."""
        digest = _digest(token).encode()
        return any(hmac.compare_digest(digest, e.sha256.encode()) and e.revoked for e in self._read())

    # --- the file --------------------------------------------------------------------------

    def _read(self) -> list[TokenInfo]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return []
        key = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if self._cache is not None and self._cache[0] == key:
                return self._cache[1]
            entries = self._load()
            self._cache = (key, entries)
            return entries

    def _load(self) -> list[TokenInfo]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [TokenInfo(**e) for e in data["tokens"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise InputError(
                f"{self.path} does not hold hallmark API tokens: {type(e).__name__}",
                hint="Move it away and create the tokens again with `hallmark tokens create`.",
            ) from e

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[TokenInfo]]:
        """The entries under an exclusive lock; written back (atomically, 0600) on success."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self._load()
            yield entries
            tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"tokens": [asdict(e) for e in entries]}, f, indent=2)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            finally:
                tmp.unlink(missing_ok=True)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _b64(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
