"""The OpenAPI 3.1 document of the HTTP API, kept as data.

Response bodies are the shipped JSON Schemas (``hallmark/schemas``), embedded under
``components/schemas``.  Their ``$id`` is dropped and their references are rewritten to point
into the document (``#/$defs/x`` -> ``#/components/schemas/<kind>/$defs/x``, a schema's URN ->
``#/components/schemas/<kind>``): OpenAPI tools resolve such pointers, not embedded identifiers.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from ._errors import ERROR_CODES
from ._openapi_c2pa import SOFTBINDING_SCHEMAS, softbinding_paths
from ._openapi_operator import SECURITY_SCHEMES, operator_paths

# Response kinds embedded in the document.
KINDS = (
    "verify-response",
    "verify-report",
    "check-decision",
    "audit-proof",
    "api-error",
    "health",
    "generate-response",
    "audit-entries",
    "audit-entry",
    "audit-log-check",
)


def _ref(kind: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{kind}"}


def _json(kind: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(kind)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    words = {
        400: "The request is malformed.",
        401: "No bearer token, or an unknown one.",
        403: "Refused: a revoked token, or a URL without --allow-network.",
        404: "Not found.",
        413: "The body is over the upload limit.",
        415: "The body is not of a type this endpoint reads.",
        429: "Rate limited; see Retry-After.",
        500: "The server failed.",
        502: "The image URL could not be fetched.",
        503: "Busy or unavailable; see Retry-After.",
    }
    return {str(s): _json("api-error", words[s]) for s in statuses}


def _check_request(policies: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["prompt"],
        "additionalProperties": False,
        "properties": {
            "prompt": {"type": "string", "description": "The prompt to check."},
            "negative_prompt": {"type": ["string", "null"], "description": "Its negative prompt, if any."},
            "policy": {
                "enum": [*policies, None],
                "description": "A bundled policy's name (default: the policy the server was started with).",
            },
        },
    }


@functools.cache
def _schemas() -> dict[str, Any]:
    from hallmark._schemas import schema_id, schema_path

    components = {}
    urns = {schema_id(kind): f"#/components/schemas/{kind}" for kind in KINDS}
    for kind in KINDS:
        doc = json.loads(schema_path(kind).read_text(encoding="utf-8"))
        doc.pop("$id")
        doc.pop("$schema")
        components[kind] = _rewrite(doc, here=f"#/components/schemas/{kind}", urns=urns)
    return components


def _rewrite(node: Any, *, here: str, urns: dict[str, str]) -> Any:
    """``node`` with every ``$ref`` pointing into the OpenAPI document."""
    if isinstance(node, list):
        return [_rewrite(value, here=here, urns=urns) for value in node]
    if not isinstance(node, dict):
        return node
    out = {key: _rewrite(value, here=here, urns=urns) for key, value in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str):
        out["$ref"] = here + ref[1:] if ref.startswith("#/") else urns[ref]  # an unknown URN: KeyError
    return out


def openapi_document(*, max_upload_bytes: int) -> dict[str, Any]:
    """The OpenAPI 3.1 description of every endpoint, its responses and error codes."""
    from hallmark import __version__
    from hallmark.policies import bundled_policies

    image = {"type": "string", "contentMediaType": "application/octet-stream", "minLength": 1}
    verify_body = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "array", "items": image, "minItems": 1}},
                }
            },
            "application/octet-stream": {"schema": image},
            "image/*": {"schema": image},
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["url"],
                    "additionalProperties": False,
                    "properties": {
                        "url": {
                            "type": "string",
                            "format": "uri",
                            "description": "An http(s) image URL, fetched only by a server "
                            "started with --allow-network (else 403).",
                        }
                    },
                }
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hallmark",
            "version": __version__,
            "summary": "Where did this image come from? C2PA credentials, hallmark's watermark, the audit record.",
            "description": "Errors are JSON objects with a stable code: "
            + "; ".join(f"`{code}`: {text}" for code, text in ERROR_CODES.items()),
        },
        "paths": {
            "/": {
                "get": {
                    "summary": "The verification page (HTML; its script and styles are served beside it).",
                    "responses": {"200": {"description": "The page.", "content": {"text/html": {}}}},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document.",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI 3.1 document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/v1/health": {
                "get": {"summary": "The server is up.", "responses": {"200": _json("health", "Up.")}}
            },
            "/v1/verify": {
                "post": {
                    "summary": "Verify images: one report per file, the JSON `hallmark verify --json` prints.",
                    "description": f"A multipart form with one or more `file` fields, or the image as the raw "
                    f"body. The content is sniffed from the bytes; the name and Content-Type are not trusted. "
                    f"The whole body may hold at most {max_upload_bytes} bytes.",
                    "requestBody": verify_body,
                    "responses": {
                        "200": _json("verify-response", "Every file was checked (whatever its verdict)."),
                        "422": _json("verify-response", "A file could not be checked at all; see `error`."),
                        **_errors(400, 403, 413, 415, 429, 500, 502),
                    },
                }
            },
            "/v1/verify/report": {
                "post": {
                    "summary": "The self-contained HTML report of one image (`hallmark verify --html`), as a download.",
                    "description": "The request is that of POST /v1/verify, with one image.",
                    "requestBody": verify_body,
                    "responses": {
                        "200": {
                            "description": "The report.",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                        "422": {
                            "description": "The image could not be checked at all: the report says why.",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                        **_errors(400, 403, 413, 415, 429, 500, 502),
                    },
                }
            },
            "/v1/check": {
                "post": {
                    "summary": "A prompt's policy decision: the JSON `hallmark check --json` prints.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _check_request(bundled_policies())}},
                    },
                    "responses": {
                        "200": _json("check-decision", "The decision (a blocked prompt is still a 200)."),
                        **_errors(400, 413, 429, 500),
                    },
                }
            },
            "/v1/records/{record_id}/proof": {
                "get": {
                    "summary": "An inclusion proof and signed checkpoint for a released record, "
                    "verifiable offline with `hallmark audit verify-proof`.",
                    "parameters": [
                        {
                            "name": "record_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        }
                    ],
                    "responses": {
                        "200": _json("audit-proof", "The proof, the JSON `hallmark audit prove` prints."),
                        **_errors(400, 404, 429, 500),
                    },
                }
            },
            **softbinding_paths(_errors),
            **operator_paths(_json, _errors, bundled_policies()),
        },
        "components": {"schemas": {**_schemas(), **SOFTBINDING_SCHEMAS}, "securitySchemes": SECURITY_SCHEMES},
    }
