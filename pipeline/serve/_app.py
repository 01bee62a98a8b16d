"""The Starlette application: routes, error responses and security headers.

Each endpoint takes the request apart, spends a token of the client's rate limit, reads the body
under its limit and hands the work to ``Service`` in a worker thread; whatever goes wrong becomes
a JSON error with a stable code (``_errors``), never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from anyio import CapacityLimiter, to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hallmark._schemas import schema_id

from ._c2pa_api import softbinding_routes
from ._errors import ApiError, error_body
from ._fetch import fetch_image
from ._generation import Generator
from ._http import client_of, json_errors, json_response
from ._limits import RateLimiter, read_body
from ._multipart import parse_multipart
from ._openapi import openapi_document
from ._operator import operator_routes
from ._page import page_route
from ._service import Service, upload_label
from ._settings import ServeSettings
from ._tokens import TokenStore

MAX_JSON_BYTES = 64 * 1024
# Every response: no framing, no sniffing, no referrer; scripts and styles only from this origin.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def create_app(settings: ServeSettings | None = None) -> Starlette:
    """The web application of one server: the page, the public API and the OpenAPI document."""
    settings = settings or ServeSettings()
    service = Service(settings)
    check_limit = RateLimiter(settings.check_per_minute)
    verify_limit = RateLimiter(settings.verify_per_minute)
    verify_slots = _Slots(settings.verify_slots)
    generator = Generator.from_environment(
        home=service.home.root,
        model=settings.model,
        policy=settings.policy,
        out_root=Path(settings.images_dir) if settings.images_dir else service.home.root / "served-images",
        queue=settings.generate_queue,
        timeout_s=settings.generate_timeout_s,
    )

    @json_errors
    async def health(request: Request) -> Response:
        from hallmark import __version__

        return json_response(
            {
                "schema": schema_id("health"),
                "status": "ok",
                "version": __version__,
                "max_upload_bytes": settings.max_upload_bytes,
                "fetches_urls": settings.allow_network,
                "keeps_uploads": settings.keep_uploads is not None,
            }
        )

    @json_errors
    async def openapi(request: Request) -> Response:
        return json_response(openapi_document(max_upload_bytes=settings.max_upload_bytes))

    async def read_uploads(request: Request) -> list[tuple[str, bytes]]:
        """The images of a verify request: multipart ``file`` (and ``url``) fields, a JSON
        ``{"url": ...}`` or the raw body; kept only when the operator said so."""
        verify_limit.take(client_of(request))
        body = await read_body(
            request.stream(), declared=request.headers.get("content-length"), limit=settings.max_upload_bytes
        )
        content_type = request.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            parts = parse_multipart(body, content_type)
            uploads = [(u.filename, u.data) for u in parts if u.field == "file"]
            for url in [u.data for u in parts if u.field == "url" and u.data.strip()]:
                uploads.append(await _fetch_url(url.decode("utf-8", "replace").strip(), settings))
            if not uploads:
                raise ApiError(400, "bad-request", "the form has no 'file' (or 'url') field")
        elif content_type.lower().startswith("application/json"):
            uploads = [await _fetch_url(_url_request(body), settings)]
        elif content_type.lower().startswith("application/x-www-form-urlencoded"):
            raise ApiError(
                415, "unsupported-media-type", "send the image as the raw body or as multipart 'file' fields"
            )
        elif not body:
            raise ApiError(400, "bad-request", "the body is empty: send an image, or multipart 'file' fields")
        else:  # a raw body: whatever its Content-Type says, the bytes decide what it is
            uploads = [("", body)]
        if settings.keep_uploads:
            for _, data in uploads:
                await to_thread.run_sync(service.keep_upload, data)
        return uploads

    @json_errors
    async def verify(request: Request) -> Response:
        uploads = await read_uploads(request)
        reports, readable = [], True
        for number, (filename, data) in enumerate(uploads, 1):
            label = upload_label(filename, number)
            report, ok = await to_thread.run_sync(
                functools.partial(service.verify, data, label=label), limiter=verify_slots.get()
            )
            reports.append(report)
            readable = readable and ok
        doc: dict[str, Any] = {"schema": schema_id("verify-response"), "reports": reports}
        if readable:
            return json_response(doc)
        bad = [r["source"] for r in reports if r["verdict"] == "error"]
        doc["error"] = {
            "code": "unreadable-image",
            "message": f"{len(bad)} of {len(reports)} files could not be checked: {', '.join(bad)[:200]}",
        }
        return json_response(doc, status=422)

    @json_errors
    async def verify_report(request: Request) -> Response:
        uploads = await read_uploads(request)
        if len(uploads) != 1:
            raise ApiError(400, "bad-request", "an HTML report is made for one image at a time")
        ((filename, data),) = uploads
        label = upload_label(filename, 1)
        text, readable = await to_thread.run_sync(
            functools.partial(service.verify, data, label=label, as_html=True), limiter=verify_slots.get()
        )
        headers = {"content-disposition": 'attachment; filename="hallmark-report.html"'}
        return Response(
            text, status_code=200 if readable else 422, media_type="text/html; charset=utf-8", headers=headers
        )

    @json_errors
    async def check(request: Request) -> Response:
        check_limit.take(client_of(request))
        body = await read_body(
            request.stream(),
            declared=request.headers.get("content-length"),
            limit=MAX_JSON_BYTES,
            what="the JSON body",
        )
        prompt, negative, policy = _check_request(body)
        decision = await run_in_threadpool(service.check, prompt, negative_prompt=negative, policy=policy)
        return json_response(decision)

    @json_errors
    async def proof(request: Request) -> Response:
        verify_limit.take(client_of(request))
        return json_response(await run_in_threadpool(service.prove, request.path_params["record_id"]))

    routes = [
        Route("/v1/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/verify", verify, methods=["POST"]),
        Route("/v1/verify/report", verify_report, methods=["POST"]),
        Route("/v1/check", check, methods=["POST"]),
        Route("/v1/records/{record_id}/proof", proof, methods=["GET"]),
        *softbinding_routes(service, limit=verify_limit, slots=verify_slots.get),
        *operator_routes(
            service,
            tokens=TokenStore.of_home(service.home.root),
            generator=generator,
            limit=RateLimiter(settings.operator_per_minute),
        ),
        *page_route(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await to_thread.run_sync(generator.close)
            await to_thread.run_sync(service.close)

    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error}, lifespan=lifespan)
    app.add_middleware(SecurityHeaders)
    return app


def app_from_environment() -> Starlette:
    """The application with the settings ``hallmark serve`` put in the environment (the
    factory each uvicorn worker process calls)."""
    return create_app(ServeSettings.from_environment())


def _url_request(body: bytes) -> str:
    """The ``url`` of a ``{"url": "..."}`` body."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ApiError(400, "bad-request", 'the body is not JSON: send {"url": "https://..."}') from None
    if not isinstance(data, dict) or "url" not in data:
        raise ApiError(
            415,
            "unsupported-media-type",
            "send the image as the raw body, as multipart 'file' fields, or a JSON {\"url\": ...}",
        )
    if not isinstance(data["url"], str) or set(data) != {"url"}:
        raise ApiError(400, "bad-request", 'a JSON body must be {"url": "https://..."} and nothing else')
    return str(data["url"]).strip()


async def _fetch_url(url: str, settings: ServeSettings) -> tuple[str, bytes]:
    """(label, bytes) of an image URL; 403 on a server started without --allow-network."""
    if not settings.allow_network:
        raise ApiError(
            403, "forbidden", "this server does not fetch URLs (it was started without --allow-network)"
        )
    data = await to_thread.run_sync(
        functools.partial(
            fetch_image,
            url,
            max_bytes=settings.max_upload_bytes,
            timeout_s=settings.fetch_timeout_s,
            allow_private=settings.fetch_private,
        )
    )
    return url, data


def _check_request(body: bytes) -> tuple[str, str | None, str | None]:
    try:
        data = json.loads(body)
    except ValueError:
        raise ApiError(400, "bad-request", 'the body is not JSON: send {"prompt": "..."}') from None
    if not isinstance(data, dict) or not isinstance(data.get("prompt"), str):
        raise ApiError(400, "bad-request", 'the body must be a JSON object with a "prompt" string')
    unknown = sorted(set(data) - {"prompt", "negative_prompt", "policy"})
    if unknown:
        raise ApiError(
            400, "bad-request", f"unknown field {unknown[0]!r}: known are prompt, negative_prompt, policy"
        )
    for key in ("negative_prompt", "policy"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ApiError(400, "bad-request", f'"{key}" must be a string')
    return data["prompt"], data.get("negative_prompt"), data.get("policy")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "bad-request")
    message = {404: "no such path", 405: f"{request.method} is not allowed here"}.get(
        exc.status_code, exc.detail
    )
    return json_response(error_body(code, message), status=exc.status_code, headers=exc.headers)


class _Slots:
    """At most ``n`` verifications at once in this process (each decodes a whole image), whatever
    the number of requests waiting; made on first use, inside the event loop."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._limiter: CapacityLimiter | None = None

    def get(self) -> CapacityLimiter:
        if self._limiter is None:
            self._limiter = CapacityLimiter(self.n)
        return self._limiter


class SecurityHeaders:
    """ASGI middleware adding ``SECURITY_HEADERS`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
