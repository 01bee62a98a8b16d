"""Images named by URL in a bulk verification: fetched by the worker, within limits.

Only a worker started with ``--allow-network`` fetches anything (the flag ``hallmark verify`` and
``hallmark serve`` give the same meaning: this process may use the network to check provenance).
A fetch is HTTP or HTTPS only, redirects included, and stops at ``max_bytes`` and after
``timeout_s``; whatever goes wrong is an ``InputError`` naming the URL, which the job reports on
that URL's line without stopping the others.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from hallmark.errors import InputError

_SCHEMES = ("http", "https")
_READ = 64 * 1024


def is_url(item: str) -> bool:
    """Whether a bulk verification's ``item`` names a URL rather than a path."""
    return item.startswith(("http://", "https://"))


class _HttpRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a few redirects, and only to HTTP or HTTPS (urllib alone would follow one to FTP)."""

    max_redirections = 5

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if urlsplit(newurl).scheme not in _SCHEMES:
            raise urllib.error.HTTPError(newurl, code, "redirect to a URL that is not HTTP(S)", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, max_bytes: int, timeout_s: float, user_agent: str = "hallmark-verify") -> bytes:
    """The body of ``url``: at most ``max_bytes`` bytes, received within about ``timeout_s``
    seconds (each read waits at most the time left)."""
    if urlsplit(url).scheme not in _SCHEMES or not urlsplit(url).hostname:
        raise InputError(f"not fetched: {url!r} is not an http:// or https:// URL")
    opener = urllib.request.build_opener(_HttpRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": user_agent, "Accept": "image/*"})
    deadline = time.monotonic() + timeout_s
    try:
        with opener.open(request, timeout=timeout_s) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise InputError(
                    f"not fetched: {url} is {int(declared)} bytes, over the {max_bytes}-byte limit"
                )
            parts: list[bytes] = []
            size = 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise InputError(f"not fetched: {url} took longer than {timeout_s:g} s")
                _set_read_timeout(response, left)
                chunk = response.read(_READ)
                if not chunk:
                    return b"".join(parts)
                size += len(chunk)
                if size > max_bytes:
                    raise InputError(f"not fetched: {url} is over the {max_bytes}-byte limit")
                parts.append(chunk)
    except urllib.error.HTTPError as e:
        raise InputError(f"cannot fetch {url}: HTTP {e.code} {e.reason}") from e
    except urllib.error.URLError as e:
        raise InputError(f"cannot fetch {url}: {e.reason}") from e
    except TimeoutError as e:
        raise InputError(f"not fetched: {url} took longer than {timeout_s:g} s") from e
    except OSError as e:
        raise InputError(f"cannot fetch {url}: {type(e).__name__}: {e}") from e


def _set_read_timeout(response: Any, seconds: float) -> None:
    """Let the next read of ``response`` wait at most ``seconds`` (the socket under http.client's
    buffered reader; left as opened where there is none)."""
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(0.01, seconds))
