"""The token bucket, on an injected clock."""

from __future__ import annotations

import pytest

from hallmark.pipeline.serve import RateLimiter
from hallmark.pipeline.serve._errors import ApiError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_spends_its_burst_then_waits_for_tokens() -> None:
    clock = Clock()
    limiter = RateLimiter(60, burst=3, clock=clock)  # one token a second
    for _ in range(3):
        limiter.take("a")
    with pytest.raises(ApiError, match="retry in 1 s") as refused:
        limiter.take("a")
    assert refused.value.status == 429 and refused.value.code == "rate-limited"
    assert refused.value.headers == {"Retry-After": "1"}
    limiter.take("b")  # another client has its own bucket
    clock.now += 1.0
    limiter.take("a")
    with pytest.raises(ApiError):
        limiter.take("a")
    clock.now += 3600
    for _ in range(3):  # never more than the burst saved up
        limiter.take("a")
    with pytest.raises(ApiError):
        limiter.take("a")


def test_the_default_burst_is_a_quarter_minute_and_retry_after_counts_the_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(4, clock=clock)  # one token every 15 s, burst 1
    limiter.take("a")
    with pytest.raises(ApiError, match="retry in 15 s"):
        limiter.take("a")
    clock.now += 10
    with pytest.raises(ApiError, match="retry in 5 s"):
        limiter.take("a")


def test_the_least_recently_seen_client_is_forgotten_first() -> None:
    clock = Clock()
    limiter = RateLimiter(60, burst=1, clock=clock, max_clients=2)
    limiter.take("a")
    limiter.take("b")
    limiter.take("c")  # forgets "a"
    limiter.take("a")  # a full bucket again
    with pytest.raises(ApiError):
        limiter.take("c")
