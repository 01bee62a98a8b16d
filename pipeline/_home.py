"""Where hallmark keeps its state: ``HALLMARK_HOME`` or the XDG data directory.

``Home`` is the one place that names the files of a home; everything else asks it for a path.
The names of the key files that the C2PA wing writes (``ca.pem``, ``signer.key``, ...) and of the
audit checkpoint key are the constants of those rooms, used here, not typed again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hallmark.audit import AuditLog

KEYS_DIR = "keys"
AUDIT_DB = "audit.db"
PERSONAL_KEY = "personal.key"
MANIFESTS_DIR = "manifests"
MANIFEST_SUFFIX = ".c2pa"  # provenance's ManifestStore keeps ``<record id>.c2pa`` files
MODELS_DIR = "models"
WITNESSES = "witnesses.json"


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
    def audit_checkpoint(self) -> Path:
        """The newest signed checkpoint of the home's audit log, kept outside the database
        (written after every append; ``hallmark audit verify`` holds the log to it)."""
        from hallmark.audit import CHECKPOINT_FILE

        return self.root / CHECKPOINT_FILE

    @property
    def witnesses(self) -> Path:
        """The witnesses registered to cosign the audit log's checkpoints."""
        return self.root / WITNESSES

    def is_home_log(self, url: str | None) -> bool:
        """Whether ``url`` (None: the default) is this home's audit log, the one its checkpoint
        file follows."""
        return url is None or url == self.audit_url

    def open_audit_log(
        self, url: str | None = None, *, create: bool = True, retention_days: int | None = None
    ) -> AuditLog:
        """Open the audit log at ``url`` (default: the home's) with the home's checkpoint key.

        The home's own log also gets the home's checkpoint file: every append moves it forward,
        and a log wiped, replaced or rolled back behind it is refused before anything is written.
        """
        from hallmark.audit import AuditLog

        return AuditLog.open(
            url or self.audit_url,
            key_path=self.audit_key,
            create=create,
            retention_days=retention_days,
            checkpoint_path=self.audit_checkpoint if self.is_home_log(url) else None,
        )

    @property
    def audit_url(self) -> str:
        """``HALLMARK_AUDIT_URL`` when set (e.g. a PostgreSQL log shared by several machines),
        else the home's SQLite file."""
        return os.environ.get("HALLMARK_AUDIT_URL") or f"sqlite:///{self.audit_db}"

    @property
    def manifests(self) -> Path:
        return self.root / MANIFESTS_DIR

    def manifest_records(self) -> list[str]:
        """The record ids whose C2PA manifest the home keeps (one ``<record id>.c2pa`` file each;
        temporary files start with a dot and are left out)."""
        if not self.manifests.is_dir():
            return []
        return sorted(
            p.name[: -len(MANIFEST_SUFFIX)]
            for p in self.manifests.iterdir()
            if p.name.endswith(MANIFEST_SUFFIX) and not p.name.startswith(".")
        )

    @property
    def models(self) -> Path:
        return self.root / MODELS_DIR
