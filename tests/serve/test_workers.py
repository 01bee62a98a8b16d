"""Two server worker processes over one PostgreSQL audit log (HALLMARK_AUDIT_URL): an image
generated into that log is found, and its record proved, by every request the workers answer."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

PG_BASE = "postgresql://postgres@127.0.0.1:5432/test"
pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one log, dropped afterwards."""
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    import psycopg

    schema = f"hm_serve_{uuid.uuid4().hex[:10]}"
    yield f"{PG_BASE}?schema={schema}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_two_workers_share_one_postgresql_log(
    pg_url: str,
    tmp_path: Path,
    run_hallmark: Callable[..., Any],
    start_server: Callable[..., Any],
    validate: Callable[[dict[str, Any]], str],
) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    env = {"HALLMARK_AUDIT_URL": pg_url}
    assert run_hallmark("keys", "init", home=home, extra_env=env).returncode == 0
    made = run_hallmark(
        "generate", "a lighthouse at dawn", "--seed", "7", "--size", "256", "--out", out, "--json",
        home=home, extra_env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    (image,) = json.loads(made.stdout)["images"]
    assert not (home / "audit.db").exists()  # the record is in PostgreSQL, not a home SQLite file
    log_path = tmp_path / "server.log"
    data = Path(image["path"]).read_bytes()
    with start_server(home, ["--workers", "2", "--verify-rate", "6000"], log_path, audit_url=pg_url) as url:

        def verify(_: int) -> dict[str, Any]:
            response = httpx.post(f"{url}/v1/verify", content=data, timeout=120)
            assert response.status_code == 200, response.text
            return dict(response.json()["reports"][0])

        with ThreadPoolExecutor(4) as pool:
            reports = list(pool.map(verify, range(8)))
        proof = httpx.get(f"{url}/v1/records/{image['record_id']}/proof", timeout=60).json()
    assert log_path.read_text().count("Started server process") == 2
    assert {r["verdict"] for r in reports} == {"hallmark-signed"}
    assert {r["record"]["record_id"] for r in reports} == {image["record_id"]}
    assert validate(proof) == "audit-proof"
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    checked = run_hallmark(
        "audit", "verify-proof", tmp_path / "proof.json", "--key", proof["verifier_key"], home=home
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
