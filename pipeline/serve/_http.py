"""What every endpoint shares: JSON responses, errors turned into JSON, the client's address,
and reading a query parameter."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ._errors import ApiError, error_body

log = logging.getLogger("hallmark.serve")

Endpoint = Callable[[Request], Awaitable[Response]]


def json_response(
    doc: dict[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    text = json.dumps(doc, ensure_ascii=False, default=str)
    return Response(text, status_code=status, media_type="application/json", headers=headers)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def json_errors(endpoint: Endpoint) -> Endpoint:
    """Run ``endpoint``; an ``ApiError`` becomes its JSON, hallmark's ``InputError`` a 400, and
    anything else a 500 with a generic message (the details go to the server's log only)."""
    from hallmark.errors import InputError

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ApiError as e:
            return json_response(e.body(), status=e.status, headers=e.headers)
        except ClientDisconnect:  # the client went away mid-upload: nobody to answer, nothing to log
            return json_response(error_body("bad-request", "the client disconnected"), status=400)
        except InputError as e:
            return json_response(error_body("bad-request", str(e)), status=400)
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return json_response(error_body("internal", "the server failed on this request"), status=500)

    return wrapper


def int_param(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as an integer in [low, high] (``default`` when absent; a larger
    one is cut to ``high``); 400 when it is not an integer or under ``low``."""
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, "bad-request", f"{name} must be an integer") from None
    if value < low:
        raise ApiError(400, "bad-request", f"{name} must be at least {low}")
    return min(value, high)
