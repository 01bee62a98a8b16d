"""The operators' part of the OpenAPI document: generation, released images and the audit log,
each behind a bearer token made with ``hallmark tokens create NAME``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._operator import AUDIT_FILTERS, FORMATS, GENERATE_FIELDS, MAX_IMAGES

BEARER: dict[str, list[str]] = {"bearer": []}
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token made with `hallmark tokens create NAME` (shown once; revoke with "
        "`hallmark tokens revoke NAME`).",
    }
}


def _generate_request(policies: list[str]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "prompt": {"type": "string", "minLength": 1, "pattern": "\\S"},
        "negative_prompt": {"type": ["string", "null"]},
        "n": {"type": "integer", "minimum": 1, "maximum": MAX_IMAGES, "default": 1},
        "size": {
            "oneOf": [
                {"type": "integer", "minimum": 64, "maximum": 2048, "multipleOf": 8},
                {"type": "string", "pattern": "^[0-9]{2,4}x[0-9]{2,4}$"},
            ],
            "description": "N for a square or WIDTHxHEIGHT, multiples of 8 from 64 to 2048 (default 512).",
        },
        "seed": {"type": ["integer", "null"], "minimum": 0},
        "steps": {"type": "integer", "minimum": 1, "maximum": 100, "default": 2},
        "format": {"enum": [*FORMATS, None], "description": "Default: the policy's."},
        "policy": {"enum": [*policies, None], "description": "A bundled policy (default: the server's)."},
    }
    assert sorted(props) == sorted(GENERATE_FIELDS)
    return {"type": "object", "required": ["prompt"], "additionalProperties": False, "properties": props}


def operator_paths(
    json_ref: Callable[[str, str], dict[str, Any]], errors: Callable[..., dict[str, Any]], policies: list[str]
) -> dict[str, Any]:
    """The operator paths; ``json_ref(kind, description)`` is a JSON response of a shipped schema."""
    record = {
        "name": "record_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }
    return {
        "/v1/generate": {
            "post": {
                "summary": "Generate images under a policy: the prompt decision, the released images and their URLs.",
                "description": "Runs in the server process, one request at a time (others wait, up to a limit: "
                "503), or on the Celery workers when the server has HALLMARK_BROKER_URL.",
                "security": [BEARER],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _generate_request(policies)}},
                },
                "responses": {
                    "200": json_ref(
                        "generate-response", "Done (a blocked prompt is still a 200, with no images)."
                    ),
                    **errors(400, 401, 403, 413, 429, 500, 503),
                },
            }
        },
        "/v1/images/{record_id}": {
            "get": {
                "summary": "A released image, by its record id (the bytes released, checked against the audit log).",
                "security": [BEARER],
                "parameters": [record],
                "responses": {
                    "200": {
                        "description": "The image.",
                        "content": {t: {} for t in ("image/png", "image/jpeg", "image/webp")},
                    },
                    **errors(400, 401, 403, 404, 429, 500),
                },
            }
        },
        "/v1/audit/entries": {
            "get": {
                "summary": "Audit entries, oldest first: `hallmark audit list --json`.",
                "security": [BEARER],
                "parameters": [
                    *({"name": f, "in": "query", "schema": {"type": "string"}} for f in AUDIT_FILTERS),
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "default": 50},
                    },
                ],
                "responses": {
                    "200": json_ref("audit-entries", "The entries."),
                    **errors(400, 401, 403, 404, 429, 500),
                },
            }
        },
        "/v1/audit/entries/{what}": {
            "get": {
                "summary": "One entry by index, or every entry of a record id: `hallmark audit show --json`.",
                "security": [BEARER],
                "parameters": [
                    {"name": "what", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": json_ref("audit-entries", "The entries."),
                    **errors(400, 401, 403, 404, 429, 500),
                },
            }
        },
        "/v1/audit/verify": {
            "get": {
                "summary": "Verify the whole log against its checkpoints: `hallmark audit verify --json`.",
                "security": [BEARER],
                "responses": {
                    "200": json_ref("audit-log-check", "The check (ok false: the log failed verification)."),
                    **errors(401, 403, 404, 429, 500),
                },
            }
        },
    }
