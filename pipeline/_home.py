"""Where hallmark keeps its state: ``HALLMARK_HOME`` or the XDG data directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


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
        return self.root / "keys"

    @property
    def audit_url(self) -> str:
        return os.environ.get("HALLMARK_AUDIT_URL") or f"sqlite:///{self.root / 'audit.db'}"

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    @property
    def models(self) -> Path:
        return self.root / "models"
