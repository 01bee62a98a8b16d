"""What bounds a client: a per-client token bucket and a request body read up to a limit.

Both run before any library call, so that a flood of requests or one huge upload costs the server
a counter and at most ``limit`` bytes of memory, never a verification.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable

from ._errors import ApiError

# Clients remembered at once; the least recently seen is forgotten first (a forgotten client
# starts again with a full bucket, which only errs towards letting a request through).
MAX_CLIENTS = 10_000


class RateLimiter:
    """A token bucket per client: ``per_minute`` tokens a minute, at most ``burst`` saved up
    (default a quarter of a minute's worth).  ``take(client)`` spends one or raises a 429
    ``ApiError`` that says when to retry.  ``clock`` is injected so tests need not sleep."""

    def __init__(
        self,
        per_minute: int,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, per_minute // 4))
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = max(1, math.ceil(round((1.0 - tokens) / self.rate, 6)))  # no 5.0000001 -> 6
                raise ApiError(
                    429,
                    "rate-limited",
                    f"too many requests from this client; retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[client] = (tokens - 1.0, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)


async def read_body(
    chunks: AsyncIterator[bytes], *, declared: str | None, limit: int, what: str = "the request body"
) -> bytes:
    """The whole body, refused with 413 as soon as it is known to exceed ``limit`` bytes: at once
    from a ``Content-Length`` over it, else when the bytes read pass it."""
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise ApiError(400, "bad-request", "the Content-Length header is not a number") from None
        if length > limit:
            raise _too_large(what, limit)
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise _too_large(what, limit)
    return bytes(body)


def _too_large(what: str, limit: int) -> ApiError:
    size = f"{limit / (1024 * 1024):.3g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return ApiError(413, "payload-too-large", f"{what} is over the server's {size} limit")
