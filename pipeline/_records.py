"""Record identifiers: UUIDv7 (RFC 9562), time-ordered so that the audit log sorts by them."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime


def new_record_id(
    *, now: datetime | None = None, randbits: Callable[[int], int] = secrets.randbits
) -> uuid.UUID:
    """A UUIDv7: 48 bits of Unix milliseconds, then 74 random bits."""
    moment = now or datetime.now(UTC)
    ms = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
    value = (ms << 80) | (0x7 << 76) | (randbits(12) << 64) | (0b10 << 62) | randbits(62)
    return uuid.UUID(int=value)
