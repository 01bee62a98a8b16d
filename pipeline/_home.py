"""Where hallmark keeps its state: ``HALLMARK_HOME`` or the XDG data directory.

``Home`` is the one place that names the files of a home; everything else asks it for a path.
The names of the key files that the C2PA wing writes (``ca.pem``, ``signer.key``, ...) and of the
audit checkpoint key are the constants of those rooms, used here, not typed again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

KEYS_DIR = "keys"
AUDIT_DB = "audit.db"
PERSONAL_KEY = "personal.key"
MANIFESTS_DIR = "manifests"
MODELS_DIR = "models"


def default_home() -> Path:
    env = os.environ.get("HALLMARK_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "hallmark"


@dataclass(frozen=True)
class Home:
    """The folder that holds keys, the audit database, manifests and the tiny model cache."""

    root: Path

    @classmethod
    def resolve(cls, path: str | Path | None = None) -> Home:
        return cls(Path(path).expanduser() if path else default_home())

    @property
    def keys(self) -> Path:
        """The key folder (0700): the development CA, the C2PA signer, the watermark key, the
        audit checkpoint key and the personal-data key."""
        return self.root / KEYS_DIR

    @property
    def watermark_key(self) -> Path:
        from hallmark.provenance import WATERMARK_KEY

        return self.keys / WATERMARK_KEY

    @property
    def audit_key(self) -> Path:
        """The Ed25519 key that signs the audit log's checkpoints."""
        from hallmark.audit import KEY_FILE

        return self.keys / KEY_FILE

    @property
    def personal_key(self) -> Path:
        """The key that seals raw prompts when a policy asks to keep them."""
        return self.keys / PERSONAL_KEY

    @property
    def audit_db(self) -> Path:
        return self.root / AUDIT_DB

    @property
    def audit_url(self) -> str:
        """``HALLMARK_AUDIT_URL`` when set (e.g. a PostgreSQL log shared by several machines),
        else the home's SQLite file."""
        return os.environ.get("HALLMARK_AUDIT_URL") or f"sqlite:///{self.audit_db}"

    @property
    def manifests(self) -> Path:
        return self.root / MANIFESTS_DIR

    @property
    def models(self) -> Path:
        return self.root / MODELS_DIR
