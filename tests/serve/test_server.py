"""``hallmark serve`` for real: the server started as a subprocess on a free port, in a home
prepared with the CLI, driven over HTTP with httpx."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from openapi_spec_validator import validate as validate_spec

MAX_UPLOAD_MB = 2  # the server fixture's --max-upload-mb


def post_files(url: str, *paths: Path) -> httpx.Response:
    files = [("file", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    return httpx.post(f"{url}/v1/verify", files=files, timeout=120)


def test_a_signed_image_is_hallmark_signed_with_its_record(
    server: str, world: dict[str, Any], validate: Callable[[dict[str, Any]], str]
) -> None:
    response = post_files(server, world["signed"])
    assert response.status_code == 200, response.text
    doc = response.json()
    assert validate(doc) == "verify-response"
    (report,) = doc["reports"]
    assert validate(report) == "verify-report"
    assert report["verdict"] == "hallmark-signed"
    assert report["record"]["record_id"] == world["record_id"]
    assert report["source"] == world["signed"].name


def test_the_same_json_as_hallmark_verify_json(
    server: str, world: dict[str, Any], run_hallmark: Callable[..., Any]
) -> None:
    """The API's report is the CLI's, field for field, but for where the image was read from and
    when and how fast it was checked."""
    cli = run_hallmark("verify", world["stripped"], "--json", "--workers", "0", home=world["home"])
    assert cli.returncode == 0, cli.stderr
    (from_cli,) = [json.loads(line) for line in cli.stdout.splitlines() if line.strip()]
    (from_api,) = post_files(server, world["stripped"]).json()["reports"]
    assert from_api["verdict"] == from_cli["verdict"] == "hallmark-recovered"
    assert from_api["record"]["record_id"] == world["record_id"]
    varying = {"source", "checked_at", "seconds"}
    assert {k: v for k, v in from_api.items() if k not in varying} == {
        k: v for k, v in from_cli.items() if k not in varying
    }


def test_a_raw_body_is_sniffed_not_trusted_by_its_content_type(server: str, world: dict[str, Any]) -> None:
    response = httpx.post(
        f"{server}/v1/verify",
        content=world["stripped"].read_bytes(),
        headers={"content-type": "image/png"},  # it is a JPEG
        timeout=120,
    )
    assert response.status_code == 200, response.text
    (report,) = response.json()["reports"]
    assert report["verdict"] == "hallmark-recovered" and report["image"]["format"] == "JPEG"


def test_several_files_in_one_form_give_reports_in_order(server: str, world: dict[str, Any]) -> None:
    response = post_files(server, world["stripped"], world["signed"])
    assert response.status_code == 200
    assert [r["verdict"] for r in response.json()["reports"]] == ["hallmark-recovered", "hallmark-signed"]


def test_a_file_that_is_not_an_image_is_a_422_with_its_report(
    server: str, world: dict[str, Any], validate: Callable[[dict[str, Any]], str]
) -> None:
    response = post_files(server, world["signed"], world["junk"])
    assert response.status_code == 422
    doc = response.json()
    assert validate(doc) == "verify-response"
    assert doc["error"]["code"] == "unreadable-image" and "notes.png" in doc["error"]["message"]
    assert [r["verdict"] for r in doc["reports"]] == ["hallmark-signed", "error"]
    assert "not an image" in doc["reports"][1]["error"]


def test_an_upload_over_the_limit_is_413_before_it_is_read(
    server: str, validate: Callable[[dict[str, Any]], str]
) -> None:
    big = b"\xff\xd8\xff" + bytes(MAX_UPLOAD_MB * 1024 * 1024)
    response = httpx.post(f"{server}/v1/verify", content=big, timeout=60)
    assert response.status_code == 413
    assert validate(response.json()) == "api-error"
    assert response.json()["error"]["code"] == "payload-too-large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(MAX_UPLOAD_MB * 4 + 1):
            yield bytes(256 * 1024)

    response = httpx.post(f"{server}/v1/verify", content=chunks(), timeout=60)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload-too-large"


def test_check_answers_with_the_decision_then_rate_limits(
    server: str, validate: Callable[[dict[str, Any]], str]
) -> None:
    first = httpx.post(f"{server}/v1/check", json={"prompt": "a castle by Greg Rutkowski"}, timeout=120)
    assert first.status_code == 200, first.text
    assert validate(first.json()) == "check-decision"
    assert first.json()["action"] == "rewrite" and first.json()["findings"]
    statuses = [
        httpx.post(f"{server}/v1/check", json={"prompt": "a cat"}, timeout=60).status_code for _ in range(4)
    ]
    assert 429 in statuses, statuses
    limited = httpx.post(f"{server}/v1/check", json={"prompt": "a cat"}, timeout=60)
    assert limited.status_code == 429
    assert validate(limited.json()) == "api-error" and limited.json()["error"]["code"] == "rate-limited"
    assert int(limited.headers["retry-after"]) >= 1


def test_the_proof_of_a_record_verifies_offline(
    server: str,
    world: dict[str, Any],
    tmp_path: Path,
    validate: Callable[[dict[str, Any]], str],
    run_hallmark: Callable[..., Any],
) -> None:
    response = httpx.get(f"{server}/v1/records/{world['record_id']}/proof", timeout=60)
    assert response.status_code == 200, response.text
    proof = response.json()
    assert validate(proof) == "audit-proof" and proof["type"] == "inclusion"
    assert world["record_id"] in proof["entry"]
    path = tmp_path / "proof.json"
    path.write_text(response.text)
    checked = run_hallmark(
        "audit", "verify-proof", path, "--key", proof["verifier_key"], "--json", home=world["home"]
    )
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["ok"] is True
    # The same proof with one hash changed must not verify: the check above can fail.
    forged = dict(proof, hashes=["00" * 32, *proof["hashes"][1:]] if proof["hashes"] else ["00" * 32])
    path.write_text(json.dumps(forged))
    refused = run_hallmark(
        "audit", "verify-proof", path, "--key", proof["verifier_key"], "--json", home=world["home"]
    )
    assert refused.returncode == 1 and json.loads(refused.stdout)["ok"] is False


def test_unknown_and_malformed_record_ids(server: str, validate: Callable[[dict[str, Any]], str]) -> None:
    unknown = httpx.get(f"{server}/v1/records/01234567-89ab-7def-8123-456789abcdef/proof", timeout=30)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown-record"
    assert validate(unknown.json()) == "api-error"
    for bad in ("..%2F..%2Fetc%2Fpasswd", "not-a-uuid", "%00" * 36):
        response = httpx.get(f"{server}/v1/records/{bad}/proof", timeout=30)
        assert response.status_code in (400, 404), (bad, response.status_code)
        assert response.json()["error"]["code"] in ("bad-request", "not-found")


def test_every_response_has_the_security_headers_and_no_cors(server: str) -> None:
    responses = [
        httpx.get(f"{server}/", timeout=30),
        httpx.get(f"{server}/static/app.js", timeout=30),
        httpx.get(f"{server}/v1/health", timeout=30),
        httpx.get(f"{server}/no/such/path", timeout=30),
        httpx.post(
            f"{server}/v1/verify", content=b"", headers={"origin": "https://elsewhere.example"}, timeout=30
        ),
    ]
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, r.url
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "access-control-allow-origin" not in r.headers
        assert "server" not in r.headers
    assert [r.status_code for r in responses] == [200, 200, 200, 404, 400]


def test_the_page_uses_only_its_own_script_and_a_labelled_file_input(server: str) -> None:
    page = httpx.get(f"{server}/", timeout=30)
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<script src="/static/app.js" defer></script>' in html
    assert "<script>" not in html and "style=" not in html and "http" not in html.split("<footer>")[0]
    assert '<label for="file">' in html and '<input id="file" name="file" type="file"' in html
    assert 'name="viewport"' in html
    script = httpx.get(f"{server}/static/app.js", timeout=30)
    assert script.status_code == 200 and "/v1/verify" in script.text and "innerHTML" not in script.text


def test_the_openapi_document_describes_every_endpoint(server: str) -> None:
    response = httpx.get(f"{server}/openapi.json", timeout=30)
    doc = json.loads(response.content)
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/",
        "/openapi.json",
        "/v1/health",
        "/v1/verify",
        "/v1/check",
        "/v1/records/{record_id}/proof",
        "/v1/verify/report",
        "/v1/matches/byBinding",
        "/v1/matches/byContent",
        "/v1/manifests/{manifestId}",
        "/v1/services/supportedAlgorithms",
        "/v1/generate",
        "/v1/images/{record_id}",
        "/v1/audit/entries",
        "/v1/audit/entries/{what}",
        "/v1/audit/verify",
    }
    components = doc["components"]["schemas"]

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(doc):  # every reference is a pointer into the document that resolves
        node: Any = doc
        for key in ref.removeprefix("#/").split("/"):
            node = node[key]
        assert isinstance(node, dict) and node, ref
    assert components["verify-response"]["properties"]["reports"]["items"] == {
        "$ref": "#/components/schemas/verify-report"
    }
    validate_spec(doc)  # the OpenAPI 3.1 meta-schema, and every reference resolved
