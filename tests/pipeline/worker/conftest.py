"""Worker fixtures: the real broker (RabbitMQ), result store (Redis) and PostgreSQL audit log on
127.0.0.1; a test is skipped only when one of them is not reachable."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

PG_URL = os.environ.get("HALLMARK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def services() -> None:
    for name, port in (("RabbitMQ", 5672), ("Redis", 6379), ("PostgreSQL", 5432)):
        if not reachable(port):
            pytest.skip(f"{name} is not reachable at 127.0.0.1:{port}")


@pytest.fixture
def pg_log_url(services: None) -> Iterator[str]:
    """A fresh PostgreSQL audit log (its own schema, dropped afterwards)."""
    import psycopg

    schema = f"hm_workers_{uuid.uuid4().hex[:12]}"
    yield f"{PG_URL}?schema={schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def drop_queues():  # type: ignore[no-untyped-def]
    """A function that deletes a test's queues and exchanges from the shared broker."""
    return _drop_queues


def _drop_queues(app, prefix: str) -> None:  # type: ignore[no-untyped-def]
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for name in ("generate", "verify"):
            channel.queue_delete(f"{prefix}{name}")
            channel.exchange_delete(f"{prefix}{name}")
