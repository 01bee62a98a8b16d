"""The operators' endpoints, behind bearer tokens (``hallmark tokens create NAME``):
``POST /v1/generate``, ``GET /v1/images/{record_id}`` and ``GET /v1/audit/...``, which mirrors
``hallmark audit list|show|verify``.

A request without a token, or with one the home does not know, is a 401 ``unauthorized``; a
revoked token is a 403 ``token-revoked``.  Images are found by record id in the audit log (its
``image.released`` entry names the file and its SHA-256): nothing of the request path is ever a
file name, and a file that no longer has the released bytes is not served.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hallmark._schemas import schema_id

from ._errors import ApiError
from ._generation import Generator
from ._http import client_of, int_param, json_errors, json_response
from ._limits import RateLimiter, read_body
from ._service import Service
from ._tokens import TokenStore

MAX_JSON_BYTES = 64 * 1024
MAX_IMAGES = 8
MIN_SIDE, MAX_SIDE = 64, 2048
FORMATS = ("png", "jpeg", "webp")
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
GENERATE_FIELDS = ("prompt", "negative_prompt", "n", "size", "seed", "steps", "format", "policy")
_SIZE = re.compile(r"^(\d{2,4})(?:x(\d{2,4}))?$")
_BEARER = re.compile(r"^Bearer +([A-Za-z0-9_-]{1,200})$", re.IGNORECASE)


def operator_routes(
    service: Service, *, tokens: TokenStore, generator: Generator, limit: RateLimiter
) -> list[Route]:
    """The operator routes, each rate-limited per client with ``limit`` before its token is read."""

    def authorize(request: Request) -> str:
        """The token's name; 401 or 403 ``ApiError`` otherwise."""
        limit.take(client_of(request))
        match = _BEARER.match(request.headers.get("authorization", ""))
        challenge = {"WWW-Authenticate": 'Bearer realm="hallmark"'}
        if match is None:
            raise ApiError(
                401, "unauthorized", "this endpoint needs 'Authorization: Bearer <token>'", headers=challenge
            )
        found = tokens.authenticate(match.group(1))
        if found is not None:
            return found.name
        if tokens.is_revoked(match.group(1)):
            raise ApiError(403, "token-revoked", "this token was revoked")
        raise ApiError(401, "unauthorized", "unknown token", headers=challenge)

    @json_errors
    async def generate(request: Request) -> Response:
        from .._records import new_record_id
        from ..worker import GenerationJob

        name = await run_in_threadpool(authorize, request)
        body = await read_body(
            request.stream(),
            declared=request.headers.get("content-length"),
            limit=MAX_JSON_BYTES,
            what="the JSON body",
        )
        fields = generate_request(body, known_policies=_bundled())
        job = GenerationJob(request_id=str(new_record_id()), user=f"token:{name}", **fields)
        result = await generator.generate(job)
        return json_response(generate_response(result))

    @json_errors
    async def image(request: Request) -> Response:
        await run_in_threadpool(authorize, request)
        data, fmt = await run_in_threadpool(service.released_image, request.path_params["record_id"])
        return Response(data, media_type=MEDIA_TYPES.get(fmt, "application/octet-stream"))

    @json_errors
    async def entries(request: Request) -> Response:
        await run_in_threadpool(authorize, request)
        filters = {k: request.query_params.get(k) for k in AUDIT_FILTERS}
        unknown = sorted(set(request.query_params) - {*AUDIT_FILTERS, "limit"})
        if unknown:
            raise ApiError(
                400, "bad-request", f"unknown filter {unknown[0]!r}; known: {', '.join(AUDIT_FILTERS)}, limit"
            )
        count = int_param(request, "limit", default=50, low=1, high=1000)
        found = await run_in_threadpool(service.audit_entries, limit=count, **filters)
        return json_response({"schema": schema_id("audit-entries"), "entries": found})

    @json_errors
    async def entry(request: Request) -> Response:
        await run_in_threadpool(authorize, request)
        found = await run_in_threadpool(service.audit_show, request.path_params["what"])
        return json_response({"schema": schema_id("audit-entries"), "entries": found})

    @json_errors
    async def verify_log(request: Request) -> Response:
        await run_in_threadpool(authorize, request)
        return json_response(await run_in_threadpool(service.audit_verify))

    return [
        Route("/v1/generate", generate, methods=["POST"]),
        Route("/v1/images/{record_id}", image, methods=["GET"]),
        Route("/v1/audit/entries", entries, methods=["GET"]),
        Route("/v1/audit/entries/{what}", entry, methods=["GET"]),
        Route("/v1/audit/verify", verify_log, methods=["GET"]),
    ]


# ``hallmark audit list``'s filters, by their query parameter names.
AUDIT_FILTERS = ("since", "until", "user", "kind", "category", "policy_digest", "model", "verdict", "action")


def _bundled() -> list[str]:
    from hallmark.policies import bundled_policies

    return list(bundled_policies())


def generate_request(body: bytes, *, known_policies: list[str]) -> dict[str, Any]:
    """The ``GenerationJob`` fields of a ``POST /v1/generate`` JSON body; 400 for anything else.
    A policy is named from the bundled ones only: a request never names a file."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ApiError(400, "bad-request", 'the body is not JSON: send {"prompt": "..."}') from None
    if not isinstance(data, dict) or not isinstance(data.get("prompt"), str) or not data["prompt"].strip():
        raise ApiError(400, "bad-request", 'the body must be a JSON object with a non-empty "prompt" string')
    unknown = sorted(set(data) - set(GENERATE_FIELDS))
    if unknown:
        raise ApiError(
            400, "bad-request", f"unknown field {unknown[0]!r}; known: {', '.join(GENERATE_FIELDS)}"
        )
    n, seed, steps = data.get("n", 1), data.get("seed"), data.get("steps", 2)
    if not _integer(n) or not 1 <= n <= MAX_IMAGES:
        raise ApiError(400, "bad-request", f'"n" must be an integer from 1 to {MAX_IMAGES}')
    if seed is not None and (not _integer(seed) or not 0 <= seed < 2**63):
        raise ApiError(400, "bad-request", '"seed" must be a non-negative integer or null')
    if not _integer(steps) or not 1 <= steps <= 100:
        raise ApiError(400, "bad-request", '"steps" must be an integer from 1 to 100')
    width, height = _size(data.get("size", 512))
    fmt = data.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise ApiError(400, "bad-request", f'"format" must be one of {", ".join(FORMATS)} or null')
    policy = data.get("policy")
    if policy is not None and policy not in known_policies:
        raise ApiError(
            400, "unknown-policy", f"unknown policy {str(policy)[:64]!r}; known: {', '.join(known_policies)}"
        )
    negative = data.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        raise ApiError(400, "bad-request", '"negative_prompt" must be a string or null')
    return {
        "prompt": data["prompt"],
        "negative_prompt": negative,
        "n": n,
        "seed": seed,
        "steps": steps,
        "width": width,
        "height": height,
        "fmt": fmt,
        "policy": policy,
    }


def generate_response(result: dict[str, Any]) -> dict[str, Any]:
    """The generate-response JSON of a job's result: each image's URL instead of its path on the
    machine that made it."""
    images = []
    for image in result.get("images", ()):
        shown = {k: v for k, v in image.items() if k != "path"}
        shown["url"] = f"/v1/images/{image['record_id']}"
        images.append(shown)
    return {"schema": schema_id("generate-response"), **result, "images": images}


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _size(value: Any) -> tuple[int, int]:
    text = str(value) if _integer(value) else value if isinstance(value, str) else ""
    match = _SIZE.fullmatch(text)
    sides = (int(match.group(1)), int(match.group(2) or match.group(1))) if match else (0, 0)
    if not all(MIN_SIDE <= s <= MAX_SIDE and s % 8 == 0 for s in sides):
        raise ApiError(
            400,
            "bad-request",
            f'"size" must be N or "WIDTHxHEIGHT", multiples of 8 from {MIN_SIDE} to {MAX_SIDE}',
        )
    return sides
