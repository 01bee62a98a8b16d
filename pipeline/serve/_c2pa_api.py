"""The C2PA Soft Binding Resolution API's routes (C2PA 2.2, "Soft Binding Resolution API"),
under ``/v1``: the spec's server URL is ``https://<host>/v1``, so its paths are served as
``/v1/matches/byBinding``, ``/v1/matches/byContent``, ``/v1/manifests/{manifestId}`` and
``/v1/services/supportedAlgorithms``, with the spec's parameters and response bodies.  Public,
like the rest of verification: the spec's OAuth scope is optional to a deployment.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from anyio import CapacityLimiter, to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._errors import ApiError
from ._http import client_of, int_param, json_errors, json_response
from ._limits import RateLimiter, read_body
from ._resolver import MAX_RESULTS
from ._service import Service

MAX_QUERY_BYTES = 16 * 1024
DEFAULT_RESULTS = 10
# Media types the spec lists for an asset; forms and JSON are not assets.
NOT_ASSETS = ("multipart/", "application/x-www-form-urlencoded", "application/json")


def softbinding_routes(
    service: Service, *, limit: RateLimiter, slots: Callable[[], CapacityLimiter]
) -> list[Route]:
    """The four resolver routes, rate-limited with ``limit``; uploads verified under ``slots``."""
    resolver = service.resolver

    @json_errors
    async def by_binding_get(request: Request) -> Response:
        limit.take(client_of(request))
        alg, value = request.query_params.get("alg"), request.query_params.get("value")
        if not alg or not value:
            raise ApiError(400, "bad-request", "a soft-binding query needs both alg and value")
        count = _max_results(request)
        return json_response(await run_in_threadpool(resolver.by_binding, alg, value, max_results=count))

    @json_errors
    async def by_binding_post(request: Request) -> Response:
        limit.take(client_of(request))
        count = _max_results(request)
        body = await read_body(
            request.stream(),
            declared=request.headers.get("content-length"),
            limit=MAX_QUERY_BYTES,
            what="the soft-binding query",
        )
        alg, value = _query(body)
        return json_response(await run_in_threadpool(resolver.by_binding, alg, value, max_results=count))

    @json_errors
    async def by_content(request: Request) -> Response:
        limit.take(client_of(request))
        alg = request.query_params.get("alg")
        resolver.scheme_for(alg)  # an unserved alg fails before the upload is read
        hint = request.query_params.get("hintAlg")
        if hint is not None:
            resolver.scheme_for(hint)
        count = _max_results(request)
        content_type = request.headers.get("content-type", "").lower()
        if content_type.startswith(NOT_ASSETS):
            raise ApiError(415, "unsupported-media-type", "send the asset itself as the request body")
        body = await read_body(
            request.stream(),
            declared=request.headers.get("content-length"),
            limit=service.settings.max_upload_bytes,
        )
        if not body:
            raise ApiError(415, "unsupported-media-type", "the body is empty: send an image")
        report, readable = await to_thread.run_sync(
            functools.partial(service.verify, body, label="asset"), limiter=slots()
        )
        if not readable:
            raise ApiError(415, "unsupported-media-type", f"the asset cannot be read: {report.get('error')}")
        return json_response(resolver.by_content(report, alg=alg, max_results=count))

    @json_errors
    async def manifest(request: Request) -> Response:
        limit.take(client_of(request))
        active = _boolean(request, "returnActiveManifest")
        store = await run_in_threadpool(
            resolver.manifest, request.path_params["manifest_id"], active_only=active
        )
        return Response(store, media_type="application/c2pa")

    @json_errors
    async def supported(request: Request) -> Response:
        return json_response(resolver.supported_algorithms())

    return [
        Route("/v1/matches/byBinding", by_binding_get, methods=["GET"]),
        Route("/v1/matches/byBinding", by_binding_post, methods=["POST"]),
        Route("/v1/matches/byContent", by_content, methods=["POST"]),
        Route("/v1/manifests/{manifest_id}", manifest, methods=["GET"]),
        Route("/v1/services/supportedAlgorithms", supported, methods=["GET"]),
    ]


def _max_results(request: Request) -> int:
    return int_param(request, "maxResults", default=DEFAULT_RESULTS, low=1, high=MAX_RESULTS)


def _boolean(request: Request, name: str) -> bool:
    text = request.query_params.get(name, "false").lower()
    if text not in ("true", "false"):
        raise ApiError(400, "bad-request", f"{name} must be true or false")
    return text == "true"


def _query(body: bytes) -> tuple[str, str]:
    """``alg`` and ``value`` of a ``c2pa.softBindingQuery`` JSON body."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        raise ApiError(
            400, "bad-request", 'the body is not JSON: send {"alg": "...", "value": "..."}'
        ) from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("alg", "value")):
        raise ApiError(400, "bad-request", 'the body must be a JSON object with "alg" and "value" strings')
    return data["alg"], data["value"]
