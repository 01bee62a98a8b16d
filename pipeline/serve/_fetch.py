"""Fetch an image URL for ``POST /v1/verify``, only on a server started with ``--allow-network``.

A URL from a request is untrusted: only ``http`` and ``https``; the host must resolve to public
addresses only (no loopback, private, link-local, multicast or reserved ones, so the server
cannot be pointed at itself or its network), checked again at every redirect (at most
``MAX_REDIRECTS``, each to a public address); the body is read up to the upload limit and the
whole fetch must end within the time limit.  ``allow_private`` lifts the address rule for a
closed network (and tests).

The addresses are checked by resolving the host just before the request; a host whose DNS answer
changes between that check and the connection (DNS rebinding) is not caught here.  Where that
matters, run the server with no route to private networks, or without --allow-network.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit

from ._errors import ApiError

MAX_REDIRECTS = 3
MAX_URL_CHARS = 2048


def fetch_image(url: str, *, max_bytes: int, timeout_s: float, allow_private: bool = False) -> bytes:
    """The body of ``url`` (see the module docstring); 400 for a URL that is not http(s), 403 for
    a refused address, 413 over ``max_bytes``, 502 for any other failure to fetch."""
    import httpx

    deadline = time.monotonic() + timeout_s
    with httpx.Client(follow_redirects=False, timeout=timeout_s, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, allow_private=allow_private)
            try:
                with client.stream("GET", url, headers={"accept": "image/*"}) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise _failed(f"the URL answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise _too_large(max_bytes)
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise _too_large(max_bytes)
                        if time.monotonic() > deadline:
                            raise _failed(f"fetching the URL took longer than {timeout_s:g} s")
                    return bytes(body)
            except httpx.TimeoutException:
                raise _failed(f"fetching the URL took longer than {timeout_s:g} s") from None
            except httpx.HTTPError as e:
                raise _failed(f"the URL could not be fetched ({type(e).__name__})") from None
    raise _failed(f"the URL redirected more than {MAX_REDIRECTS} times")


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Refuse a URL that is not http(s) with a host, or whose host has a non-public address."""
    if len(url) > MAX_URL_CHARS:
        raise ApiError(400, "bad-request", f"the URL is over {MAX_URL_CHARS} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "bad-request", "only http:// and https:// image URLs are fetched")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ApiError(400, "bad-request", "the URL's port is not a number from 0 to 65535") from None
    if allow_private:
        return
    try:
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise _failed(f"the host {parts.hostname[:100]} does not resolve") from None
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if not address.is_global:
            raise ApiError(
                403,
                "forbidden",
                f"the URL's host resolves to a non-public address ({address}); it is not fetched",
            )


def _failed(message: str) -> ApiError:
    return ApiError(502, "fetch-failed", message)


def _too_large(limit: int) -> ApiError:
    size = f"{limit / (1024 * 1024):.3g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return ApiError(413, "payload-too-large", f"the image at the URL is over the server's {size} limit")
