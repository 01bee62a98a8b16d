"""Operators' endpoints of ``hallmark serve`` for real: tokens made and revoked with the CLI, a
server in a subprocess, generation, released images by record id and the audit log over HTTP."""

from __future__ import annotations

import hashlib
import json
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def server_options() -> list[str]:
    return ["--max-upload-mb", "2", "--verify-rate", "600", "--operator-rate", "600"]


def make_token(run_hallmark: Callable[..., Any], home: Path, name: str) -> str:
    made = run_hallmark("tokens", "create", name, "--json", home=home)
    assert made.returncode == 0, made.stderr
    return str(json.loads(made.stdout)["token"])


@pytest.fixture(scope="module")
def token(world: dict[str, Any], run_hallmark: Callable[..., Any]) -> str:
    return make_token(run_hallmark, world["home"], "operator-tests")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_shown_once_and_kept_hashed(
    tmp_path: Path, run_hallmark: Callable[..., Any], validate: Callable[[dict[str, Any]], str]
) -> None:
    home = tmp_path / "home"
    made = run_hallmark("tokens", "create", "frontend", "--json", home=home)
    assert made.returncode == 0, made.stderr
    doc = json.loads(made.stdout)
    assert validate(doc) == "api-token" and doc["revoked"] is None
    kept = home / "api-tokens.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    text = kept.read_text()
    assert doc["token"] not in text and hashlib.sha256(doc["token"].encode()).hexdigest() in text
    again = run_hallmark("tokens", "create", "frontend", home=home)
    assert again.returncode == 2 and "already named 'frontend'" in again.stderr
    listed = run_hallmark("tokens", "list", "--json", home=home)
    (line,) = [json.loads(x) for x in listed.stdout.splitlines()]
    assert validate(line) == "api-token" and "token" not in line and line["name"] == "frontend"
    revoked = run_hallmark("tokens", "revoke", "frontend", "--json", home=home)
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["revoked"]
    missing = run_hallmark("tokens", "revoke", "frontend", home=home)
    assert missing.returncode == 2 and "no live token is named 'frontend'" in missing.stderr


OPERATOR_CALLS = [
    ("POST", "/v1/generate", {"json": {"prompt": "a red barn"}}),
    ("GET", "/v1/images/01a237da-59cb-7985-a3f2-90cdfa64f97f", {}),
    ("GET", "/v1/audit/entries", {}),
    ("GET", "/v1/audit/entries/0", {}),
    ("GET", "/v1/audit/verify", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), OPERATOR_CALLS, ids=[c[1] for c in OPERATOR_CALLS])
def test_operator_endpoints_need_a_live_token(
    server: str,
    world: dict[str, Any],
    run_hallmark: Callable[..., Any],
    validate: Callable[[dict[str, Any]], str],
    method: str,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    none = httpx.request(method, server + path, timeout=30, **kwargs)
    assert none.status_code == 401 and none.json()["error"]["code"] == "unauthorized"
    assert validate(none.json()) == "api-error" and none.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.request(method, server + path, headers=bearer("hm_" + "A" * 43), timeout=30, **kwargs)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    name = "revoked-" + path.strip("/").replace("/", "-")[:40]
    token = make_token(run_hallmark, world["home"], name)
    assert run_hallmark("tokens", "revoke", name, home=world["home"]).returncode == 0
    revoked = httpx.request(method, server + path, headers=bearer(token), timeout=30, **kwargs)
    assert revoked.status_code == 403 and revoked.json()["error"]["code"] == "token-revoked"


def test_generate_returns_the_result_and_image_urls_without_blocking_the_server(
    server: str, world: dict[str, Any], token: str, validate: Callable[[dict[str, Any]], str]
) -> None:
    answer: dict[str, Any] = {}

    def generate() -> None:
        answer["response"] = httpx.post(
            f"{server}/v1/generate",
            json={"prompt": "a lighthouse at dusk", "n": 1, "size": 256, "seed": 9, "format": "png"},
            headers=bearer(token),
            timeout=300,
        )

    thread = threading.Thread(target=generate)
    thread.start()
    # While the model loads and runs, the event loop keeps answering.
    slowest = 0.0
    while thread.is_alive():
        started = time.monotonic()
        assert httpx.get(f"{server}/v1/health", timeout=10).status_code == 200
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.05)
    thread.join()
    assert slowest < 2.0, slowest
    response = answer["response"]
    assert response.status_code == 200, response.text
    doc = response.json()
    assert validate(doc) == "generate-response"
    assert not doc["blocked"] and doc["seed"] == 9
    (image,) = doc["images"]
    assert image["url"] == f"/v1/images/{image['record_id']}" and "path" not in image

    got = httpx.get(server + image["url"], headers=bearer(token), timeout=30)
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert hashlib.sha256(got.content).hexdigest() == image["sha256"]
    files = [("file", ("made.png", got.content, "image/png"))]
    (report,) = httpx.post(f"{server}/v1/verify", files=files, timeout=120).json()["reports"]
    assert report["verdict"] == "hallmark-signed" and report["record"]["record_id"] == image["record_id"]

    shown = httpx.get(f"{server}/v1/audit/entries/{image['record_id']}", headers=bearer(token), timeout=30)
    assert shown.status_code == 200 and validate(shown.json()) == "audit-entries"
    assert [e["kind"] for e in shown.json()["entries"]] == ["image.released"]
    # The request is recorded under the token's name (the user, kept as personal data).
    mine = httpx.get(
        f"{server}/v1/audit/entries",
        params={"user": "token:operator-tests"},
        headers=bearer(token),
        timeout=30,
    )
    assert image["record_id"] in [e["data"].get("record_id") for e in mine.json()["entries"]]


def test_a_bad_generate_request_is_a_400(server: str, token: str) -> None:
    for body, code in [
        ({"prompt": ""}, "bad-request"),
        ({"prompt": "x", "n": 99}, "bad-request"),
        ({"prompt": "x", "size": "100x3"}, "bad-request"),
        ({"prompt": "x", "policy": "../../etc/passwd"}, "unknown-policy"),
        ({"prompt": "x", "out": "/tmp"}, "bad-request"),
    ]:
        response = httpx.post(f"{server}/v1/generate", json=body, headers=bearer(token), timeout=30)
        assert response.status_code == 400 and response.json()["error"]["code"] == code, body


def test_images_are_served_by_record_id_only(server: str, world: dict[str, Any], token: str) -> None:
    got = httpx.get(f"{server}/v1/images/{world['record_id']}", headers=bearer(token), timeout=30)
    assert got.status_code == 200 and got.content == world["signed"].read_bytes()
    unknown = httpx.get(
        f"{server}/v1/images/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=bearer(token), timeout=30
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown-image"
    for path in ("/v1/images/..%2Fkeys%2Fwatermark.key", "/v1/images/not-a-record"):
        refused = httpx.get(server + path, headers=bearer(token), timeout=30)
        assert refused.status_code in (400, 404) and "error" in refused.json()


def test_the_audit_log_over_http_is_what_the_cli_prints(
    server: str,
    world: dict[str, Any],
    token: str,
    run_hallmark: Callable[..., Any],
    validate: Callable[[dict[str, Any]], str],
) -> None:
    listed = httpx.get(
        f"{server}/v1/audit/entries",
        params={"kind": "image.released", "limit": 1},
        headers=bearer(token),
        timeout=30,
    )
    assert listed.status_code == 200 and validate(listed.json()) == "audit-entries"
    cli = run_hallmark(
        "audit", "list", "--kind", "image.released", "--limit", "1", "--json", home=world["home"]
    )
    assert listed.json()["entries"] == [json.loads(x) for x in cli.stdout.splitlines()]
    by_index = httpx.get(f"{server}/v1/audit/entries/0", headers=bearer(token), timeout=30).json()
    assert by_index["entries"][0]["index"] == 0
    checked = httpx.get(f"{server}/v1/audit/verify", headers=bearer(token), timeout=60)
    assert checked.status_code == 200 and validate(checked.json()) == "audit-log-check"
    assert checked.json()["ok"] is True
    bad = httpx.get(f"{server}/v1/audit/entries", params={"colour": "red"}, headers=bearer(token), timeout=30)
    assert bad.status_code == 400
    missing = httpx.get(f"{server}/v1/audit/entries/99999", headers=bearer(token), timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown-record"


def test_operator_requests_are_rate_limited_per_client(
    world: dict[str, Any], token: str, start_server: Callable[..., Any], tmp_path: Path
) -> None:
    with start_server(world["home"], ["--operator-rate", "4"], tmp_path / "server.log") as url:
        statuses = [
            httpx.get(f"{url}/v1/audit/entries/0", headers=bearer(token), timeout=30) for _ in range(3)
        ]
    assert [r.status_code for r in statuses] == [200, 429, 429]
    assert (
        statuses[1].json()["error"]["code"] == "rate-limited" and int(statuses[1].headers["retry-after"]) >= 1
    )


def test_behind_a_proxy_each_forwarded_client_has_its_own_rate(
    world: dict[str, Any], start_server: Callable[..., Any], tmp_path: Path
) -> None:
    options = ["--check-rate", "4", "--forwarded-allow-ips", "127.0.0.1"]
    with start_server(world["home"], options, tmp_path / "server.log") as url:

        def check(client: str) -> int:
            headers = {"X-Forwarded-For": client}
            return httpx.post(
                f"{url}/v1/check", json={"prompt": "a cat"}, headers=headers, timeout=60
            ).status_code

        assert [check("203.0.113.5"), check("203.0.113.5"), check("203.0.113.6")] == [200, 429, 200]
