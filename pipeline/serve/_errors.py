"""Errors as the API reports them: a status, a stable code and one line of text.

Every error response is ``{"schema": ..., "error": {"code": ..., "message": ...}}``
(schema ``api-error``).  Codes are part of the API: clients branch on them, so they never change
meaning; messages are for people and may be reworded.
"""

from __future__ import annotations

from typing import Any

from hallmark._schemas import schema_id

# code -> what it means; the OpenAPI document lists them.
ERROR_CODES = {
    "bad-request": "The request is malformed (no file, bad JSON, a field of the wrong type).",
    "not-found": "No such path.",
    "method-not-allowed": "The path exists but not for this method.",
    "unknown-record": "No image was released under this record id.",
    "unknown-policy": "The policy named is not one of the bundled policies.",
    "unknown-manifest": "No manifest with this C2PA manifest identifier is in the manifest store.",
    "unknown-image": "No released image is kept under this record id.",
    "unsupported-algorithm": "The soft-binding algorithm named is not one this resolver serves.",
    "unauthorized": "The endpoint needs an operator's bearer token, and none (or an unknown or revoked one) was sent.",
    "token-revoked": "The bearer token sent was revoked (`hallmark tokens revoke`).",
    "forbidden": "The request is refused by the server's configuration (for example a URL without --allow-network).",
    "fetch-failed": "The image URL could not be fetched (refused address, redirect, time or size limit, HTTP error).",
    "unavailable": "The server cannot do this now (for example generation without the generate extra); retry later or ask the operator.",
    "payload-too-large": "The request body is over the server's upload limit.",
    "unsupported-media-type": "The request body is not of a type this endpoint reads.",
    "unreadable-image": "At least one uploaded file could not be checked at all (not an image, empty, too many pixels).",
    "rate-limited": "Too many requests from this client; retry after the Retry-After seconds.",
    "internal": "The server failed; the request may be retried.",
}


class ApiError(Exception):
    """An error to send to the client as JSON with ``status`` and a code of ``ERROR_CODES``."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = " ".join(message.split())
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


def error_body(code: str, message: str) -> dict[str, Any]:
    """The JSON of an error response."""
    return {"schema": schema_id("api-error"), "error": {"code": code, "message": message}}
