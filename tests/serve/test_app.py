"""The application in-process (Starlette's TestClient): what each endpoint refuses, and how."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hallmark.errors import InputError, PolicyError
from hallmark.pipeline.serve import ServeSettings, create_app

Validate = Callable[[dict[str, Any]], str]


@pytest.fixture(scope="module")
def client(world: dict[str, Any]) -> Iterator[TestClient]:
    app = create_app(ServeSettings(home=str(world["home"]), max_upload_bytes=1_000_000))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def error_of(response: Any, validate: Validate) -> str:
    doc = response.json()
    assert validate(doc) == "api-error"
    return str(doc["error"]["code"])


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (b"{not json", "bad-request", "not JSON"),
        (b'["a cat"]', "bad-request", 'a "prompt" string'),
        (b'{"text": "a cat"}', "bad-request", 'a "prompt" string'),
        (b'{"prompt": 3}', "bad-request", 'a "prompt" string'),
        (b'{"prompt": "a cat", "user": "bob"}', "bad-request", "unknown field 'user'"),
        (
            b'{"prompt": "a cat", "negative_prompt": ["x"]}',
            "bad-request",
            '"negative_prompt" must be a string',
        ),
        (b'{"prompt": "a cat", "policy": "../../etc/passwd"}', "unknown-policy", "known: "),
        (b'{"prompt": "a cat", "policy": "/tmp/mine.yaml"}', "unknown-policy", "known: "),
    ],
)
def test_check_refuses_a_malformed_request(
    client: TestClient, validate: Validate, body: bytes, code: str, words: str
) -> None:
    response = client.post("/v1/check", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert error_of(response, validate) == code
    assert words in response.json()["error"]["message"]


def test_check_takes_a_bundled_policy_by_name(client: TestClient, validate: Validate) -> None:
    default = client.post("/v1/check", json={"prompt": "a castle by Greg Rutkowski"}).json()
    strict = client.post(
        "/v1/check", json={"prompt": "a castle by Greg Rutkowski", "policy": "strict"}
    ).json()
    assert validate(default) == validate(strict) == "check-decision"
    assert default["policy_id"] == "default" and strict["policy_id"] == "strict"


def test_check_refuses_a_body_over_64_kb(client: TestClient, validate: Validate) -> None:
    response = client.post("/v1/check", json={"prompt": "a" * 70_000})
    assert response.status_code == 413 and error_of(response, validate) == "payload-too-large"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"files": [("image", ("a.png", b"x"))]}, 400, "bad-request"),  # no 'file' field
        ({"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data"}}, 400, "bad-request"),
        ({"data": {"file": "x"}}, 415, "unsupported-media-type"),
        ({"json": {"file": "x"}}, 415, "unsupported-media-type"),
        ({"content": b""}, 400, "bad-request"),
        ({"content": b"x", "headers": {"content-length": "many"}}, 400, "bad-request"),
    ],
)
def test_verify_refuses_a_malformed_request(
    client: TestClient, validate: Validate, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/v1/verify", **kwargs)
    assert response.status_code == status, response.text
    assert error_of(response, validate) == code


def test_verify_counts_a_body_without_content_length(client: TestClient, validate: Validate) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield bytes(250_000)

    response = client.post("/v1/verify", content=chunks())
    assert response.status_code == 413 and error_of(response, validate) == "payload-too-large"


def test_a_file_name_is_shown_without_folders_or_control_characters(
    client: TestClient, world: dict[str, Any]
) -> None:
    data = world["stripped"].read_bytes()
    files = [("file", ("..\\..\\etc/evil\x1b[31m.jpg", data)), ("file", ("", data))]
    reports = client.post("/v1/verify", files=files).json()["reports"]
    assert [r["source"] for r in reports] == ["evil[31m.jpg", "upload-2"]


def test_a_library_failure_is_a_500_without_its_details(
    world: dict[str, Any], validate: Validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hallmark.pipeline import Verifier

    def broken(self: Any, source: Any) -> Any:
        raise RuntimeError("secret detail /srv/keys/signer.pem")

    monkeypatch.setattr(Verifier, "verify", broken)
    settings = ServeSettings(home=str(world["home"]), verify_timeout_s=0)  # in this process
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        response = c.post("/v1/verify", content=world["stripped"].read_bytes())
    assert response.status_code == 500 and error_of(response, validate) == "internal"
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_input_error_of_the_library_is_a_400(
    world: dict[str, Any], validate: Validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hallmark.pipeline import Verifier

    def refuses(self: Any, source: Any) -> Any:
        raise InputError("the image declares 10^12 pixels")

    monkeypatch.setattr(Verifier, "verify", refuses)
    with TestClient(create_app(ServeSettings(home=str(world["home"]), verify_timeout_s=0))) as c:
        response = c.post("/v1/verify", content=b"\x89PNG")
    assert response.status_code == 400 and error_of(response, validate) == "bad-request"
    assert "10^12 pixels" in response.json()["error"]["message"]


def test_a_home_without_a_log_has_no_records_and_gets_none(tmp_path: Path, validate: Validate) -> None:
    home = tmp_path / "empty"
    with TestClient(create_app(ServeSettings(home=str(home)))) as c:
        response = c.get("/v1/records/01234567-89ab-7def-8123-456789abcdef/proof")
        assert response.status_code == 404 and error_of(response, validate) == "unknown-record"
        assert c.get("/v1/records/01234567-89AB-7DEF-8123-456789ABCDEF0/proof").status_code == 400
    assert not (home / "audit.db").exists()


def test_a_record_id_in_upper_case_is_the_same_record(client: TestClient, world: dict[str, Any]) -> None:
    response = client.get(f"/v1/records/{world['record_id'].upper()}/proof")
    assert response.status_code == 200 and world["record_id"] in response.json()["entry"]


def test_unknown_paths_and_methods_are_json(client: TestClient, validate: Validate) -> None:
    missing = client.get("/static/../../pyproject.toml")
    assert missing.status_code == 404 and error_of(missing, validate) == "not-found"
    wrong = client.get("/v1/verify")
    assert wrong.status_code == 405 and error_of(wrong, validate) == "method-not-allowed"
    assert "POST" in wrong.headers["allow"]


def test_health_says_the_upload_limit(client: TestClient, validate: Validate) -> None:
    doc = client.get("/v1/health").json()
    assert validate(doc) == "health" and doc["max_upload_bytes"] == 1_000_000


def test_a_bad_policy_stops_the_app_before_it_serves(world: dict[str, Any]) -> None:
    with pytest.raises(PolicyError, match="no-such-policy"):
        create_app(ServeSettings(home=str(world["home"]), policy="no-such-policy"))


def test_no_more_verifications_at_once_than_the_slots_allowed(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import threading

    import httpx

    from hallmark.pipeline import Verifier

    running, most = [0], [0]
    lock = threading.Condition()
    real = Verifier.verify

    def counted(self: Any, source: Any) -> Any:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            lock.notify_all()
            # Hold this slot until a third verification would have started if it could
            # (or 1 s), so that a missing limit shows as most > 2 however slow the machine.
            lock.wait_for(lambda: running[0] > 2, timeout=1)
        try:
            return real(self, source)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(Verifier, "verify", counted)
    app = create_app(ServeSettings(home=str(world["home"]), verify_slots=2, verify_timeout_s=0))  # threads
    data = world["stripped"].read_bytes()

    async def five() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            responses = await asyncio.gather(*(c.post("/v1/verify", content=data) for _ in range(5)))
        return [r.status_code for r in responses]

    assert asyncio.run(five()) == [200] * 5
    assert most[0] == 2


def test_a_client_that_leaves_mid_upload_is_answered_without_a_traceback(
    world: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    app = create_app(ServeSettings(home=str(world["home"])))
    messages = [
        {"type": "http.request", "body": b"\x89PNG", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/verify",
        "raw_path": b"/v1/verify",
        "query_string": b"",
        "headers": [(b"content-type", b"image/png")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.exc_info]


def test_an_upload_over_the_time_limit_gets_an_error_report_and_a_fresh_worker(
    world: dict[str, Any], validate: Validate
) -> None:
    data = world["stripped"].read_bytes()
    slow = create_app(ServeSettings(home=str(world["home"]), verify_slots=1, verify_timeout_s=0.001))
    with TestClient(slow) as c:
        for _ in range(2):  # the second upload is answered by the worker that replaced the first
            response = c.post("/v1/verify", content=data)
            assert response.status_code == 422, response.text
            assert validate(response.json()) == "verify-response"
            (report,) = response.json()["reports"]
            assert report["verdict"] == "error", report
            assert report["error"] == "verification took longer than the 0.001 s limit", report
    with TestClient(create_app(ServeSettings(home=str(world["home"]), verify_slots=1))) as c:
        (report,) = c.post("/v1/verify", content=data).json()["reports"]
        assert report["verdict"] == "hallmark-recovered", report  # the same upload, in time, in a worker


def test_trust_anchors_given_to_the_server_make_a_signer_trusted(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """A server whose home has no keys trusts the world's signer only through --trust."""
    data = world["signed"].read_bytes()
    elsewhere = str(tmp_path / "other-home")
    states = []
    for trust in ((), (str(world["home"] / "keys" / "ca.pem"),)):
        app = create_app(ServeSettings(home=elsewhere, trust=trust, verify_timeout_s=0))
        with TestClient(app) as c:
            (report,) = c.post("/v1/verify", content=data).json()["reports"]
        states.append((report["c2pa"]["state"], report["verdict"]))
    assert states[0][0] != "Trusted" and states[0][1] == "untrusted-signer"
    assert states[1][0] == "Trusted"
