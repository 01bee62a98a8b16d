"""The verification page: one HTML file, one script and one style sheet shipped in the package.

The names served are fixed here, so no part of a request path ever reaches the filesystem; the
script and styles are separate files so that the Content-Security-Policy needs no inline code.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# URL path -> (file in static/, media type)
PAGE_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
    "/static/favicon.svg": ("favicon.svg", "image/svg+xml"),
}


@functools.cache
def page_file(name: str) -> bytes:
    """The bytes of one shipped page file (read once per process)."""
    return files("hallmark.pipeline.serve").joinpath("static", name).read_bytes()


def page_route() -> list[Route]:
    """One GET route per file of ``PAGE_FILES``."""

    def serve(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return Response(page_file(name), media_type=media_type, headers={"cache-control": "no-cache"})

        return endpoint

    return [Route(path, serve(name, media), methods=["GET"]) for path, (name, media) in PAGE_FILES.items()]
