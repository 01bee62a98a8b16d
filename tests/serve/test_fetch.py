"""Image URLs and kept uploads: ``POST /v1/verify`` fetches a URL only on a server started with
``--allow-network`` (public addresses only, unless ``--fetch-private-addresses``), within the
upload limit; uploads are kept only with ``--keep-uploads``; the HTML report as a download."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def images(world: dict[str, Any]) -> Iterator[str]:
    """A plain HTTP server on loopback: /stripped.jpg, /big.bin (2 MB), /moved (a redirect to
    /stripped.jpg) and a 404 for anything else."""
    files = {"/stripped.jpg": world["stripped"].read_bytes(), "/big.bin": b"\xff" * (2 * 1024 * 1024)}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/stripped.jpg")
                self.end_headers()
                return
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def verify_url(server: str, url: str) -> httpx.Response:
    return httpx.post(f"{server}/v1/verify", json={"url": url}, timeout=120)


def test_without_allow_network_a_url_is_refused(server: str, images: str) -> None:
    refused = verify_url(server, f"{images}/stripped.jpg")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert "--allow-network" in refused.json()["error"]["message"]
    form = httpx.post(f"{server}/v1/verify", files={"url": (None, f"{images}/stripped.jpg")}, timeout=30)
    assert form.status_code == 403
    health = httpx.get(f"{server}/v1/health", timeout=10).json()
    assert health["fetches_urls"] is False and health["keeps_uploads"] is False


def test_with_allow_network_private_addresses_are_still_refused(
    world: dict[str, Any], images: str, start_server: Callable[..., Any], tmp_path: Path
) -> None:
    with start_server(world["home"], ["--allow-network"], tmp_path / "server.log") as url:
        refused = verify_url(url, f"{images}/stripped.jpg")
        assert (
            refused.status_code == 403
            and "non-public address (127.0.0.1)" in refused.json()["error"]["message"]
        )
        for bad in ("ftp://example.org/x.jpg", "file:///etc/passwd", "http:///x"):
            assert verify_url(url, bad).status_code == 400, bad
        assert httpx.get(f"{url}/v1/health", timeout=10).json()["fetches_urls"] is True


@pytest.fixture(scope="module")
def open_server(
    world: dict[str, Any], start_server: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("open")
    options = [
        "--allow-network",
        "--fetch-private-addresses",
        "--keep-uploads",
        str(root / "kept"),
        "--max-upload-mb",
        "1",
    ]
    with start_server(world["home"], options, root / "server.log") as url:
        yield {"url": url, "kept": root / "kept"}


def test_a_fetched_url_is_verified_like_an_upload(open_server: dict[str, Any], images: str) -> None:
    for path in ("/stripped.jpg", "/moved"):
        response = verify_url(open_server["url"], images + path)
        assert response.status_code == 200, response.text
        (report,) = response.json()["reports"]
        assert report["verdict"] == "hallmark-recovered"
        assert report["source"] == path.strip("/")  # the URL's last segment, as a file name


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/big.bin", 413, "payload-too-large"), ("/missing.jpg", 502, "fetch-failed")],
)
def test_a_url_over_the_limit_or_not_found_is_a_json_error(
    open_server: dict[str, Any], images: str, path: str, status: int, code: str
) -> None:
    response = verify_url(open_server["url"], images + path)
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_uploads_are_kept_only_when_the_operator_says_so(
    open_server: dict[str, Any], server: str, world: dict[str, Any]
) -> None:
    data = world["signed"].read_bytes()
    files = [("file", ("../../evil name.png", data, "image/png"))]
    assert httpx.post(f"{open_server['url']}/v1/verify", files=files, timeout=120).status_code == 200
    kept = open_server["kept"] / f"{hashlib.sha256(data).hexdigest()}.upload"
    assert kept.read_bytes() == data  # named by its hash, never by the client's file name
    assert sorted(p.name for p in open_server["kept"].iterdir() if "evil" in p.name) == []
    assert httpx.get(f"{open_server['url']}/v1/health", timeout=10).json()["keeps_uploads"] is True


def test_the_html_report_is_a_download(server: str, world: dict[str, Any]) -> None:
    files = [("file", ("stripped.jpg", world["stripped"].read_bytes(), "image/jpeg"))]
    response = httpx.post(f"{server}/v1/verify/report", files=files, timeout=120)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"] == 'attachment; filename="hallmark-report.html"'
    assert "hallmark-recovered" in response.text and world["record_id"] in response.text
    two = httpx.post(f"{server}/v1/verify/report", files=files + files, timeout=30)
    assert two.status_code == 400
