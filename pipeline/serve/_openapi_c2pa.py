"""The Soft Binding Resolution API's part of the OpenAPI document: the C2PA 2.2 spec's paths,
parameters and schemas (© C2PA, CC BY 4.0: "C2PA Soft Binding API", section 1.4 of
https://spec.c2pa.org/specifications/specifications/2.2/softbinding/Decoupled.html), served under
``/v1`` (the spec's server URL ends in ``/v1``), with hallmark's error responses added.

One change from the spec's text: its ``c2pa.softBindingAlgList`` puts a ``oneOf`` requiring a
``watermarks`` or ``fingerprints`` property inside each *item* of the ``watermarks`` array, which
no list entry (``{"alg": ...}``) can satisfy; here that ``oneOf`` sits on the list object, where it
says what it means (a list names watermarks or fingerprints).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ALG = "A string identifying the soft binding algorithm and version of that algorithm used as per the authoritative list of C2PA soft binding algorithm names available at: https://github.com/c2pa-org/softbinding-algorithm-list"
VALUE = "A base64-encoded string describing, in algorithm specific format, the value of the soft binding to be used as the query."


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(name: str) -> dict[str, Any]:
    return {"description": "Successful operation", "content": {"application/json": {"schema": _ref(name)}}}


def _max_results(what: str) -> dict[str, Any]:
    return {
        "name": "maxResults",
        "in": "query",
        "description": f"The maximum number of {what} to return for each query (at most 100 are returned).",
        "schema": {"type": "integer", "minimum": 1, "default": 10},
    }


def softbinding_paths(errors: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The resolver's paths; ``errors(*statuses)`` gives hallmark's JSON error responses."""
    query_result = _ok("c2pa.softBindingQueryResult")
    asset = {"type": "string", "format": "binary", "minLength": 1}
    return {
        "/v1/matches/byBinding": {
            "get": {
                "tags": ["query"],
                "summary": "Returns C2PA Manifest identifiers corresponding to a soft binding.",
                "description": "Given one soft binding (hallmark's watermark: its algorithm name and the "
                "base64 of its payload), find zero or more manifest identifiers within the manifest store.",
                "operationId": "queryByBinding",
                "parameters": [
                    {
                        "name": "value",
                        "in": "query",
                        "description": VALUE,
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "alg",
                        "in": "query",
                        "description": ALG,
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    _max_results("manifest identifiers"),
                ],
                "responses": {"200": query_result, **errors(400, 429, 500)},
            },
            "post": {
                "tags": ["query"],
                "summary": "Returns C2PA Manifest identifiers corresponding to a large soft binding value.",
                "operationId": "queryByLargeBinding",
                "parameters": [_max_results("manifests")],
                "requestBody": {
                    "description": "Soft binding query JSON document.",
                    "required": True,
                    "content": {"application/json": {"schema": _ref("c2pa.softBindingQuery")}},
                },
                "responses": {"200": query_result, **errors(400, 413, 429, 500)},
            },
        },
        "/v1/matches/byContent": {
            "post": {
                "tags": ["query"],
                "summary": "Finds C2PA Manifest identifiers using a digital asset.",
                "description": "The server reads hallmark's watermark from the uploaded image and resolves it "
                "through the audit log; a mark whose picture does not match the released one matches nothing. "
                "similarityScore is 100 when the picture matches its record, 50 when it could not be compared.",
                "operationId": "uploadFile",
                "parameters": [
                    {"name": "alg", "in": "query", "description": ALG, "schema": {"type": "string"}},
                    _max_results("manifests identifiers"),
                    {
                        "name": "hintAlg",
                        "in": "query",
                        "description": "An optional additional soft binding algorithm name (checked, not needed).",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "hintValue",
                        "in": "query",
                        "description": "An optional soft binding value for hintAlg (not needed).",
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": {
                    "description": "Asset to match to manifests.",
                    "required": True,
                    "content": {
                        "image/*": {"schema": {**asset, "description": "Asset of type image."}},
                        "application/octet-stream": {"schema": asset},
                    },
                },
                "responses": {"200": query_result, **errors(400, 413, 415, 429, 500)},
            },
        },
        "/v1/manifests/{manifestId}": {
            "get": {
                "tags": ["fetch"],
                "summary": "Returns a full C2PA Manifest Store or an active C2PA Manifest.",
                "description": "Retrieve a C2PA Manifest Store by the identifier of its active manifest "
                "(returnActiveManifest: a store holding that manifest alone).",
                "operationId": "getManifestById",
                "parameters": [
                    {
                        "name": "returnActiveManifest",
                        "in": "query",
                        "description": "Specifies if only the active manifest should be returned. By default the entire C2PA Manifest Store is returned.",
                        "schema": {"type": "boolean", "default": False},
                    },
                    {
                        "name": "manifestId",
                        "in": "path",
                        "description": "Identifier of the C2PA Manifest to return",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {"description": "Successful operation", "content": {"application/c2pa": {}}},
                    **errors(400, 404, 429, 500),
                },
            }
        },
        "/v1/services/supportedAlgorithms": {
            "get": {
                "tags": ["service"],
                "summary": "Returns a list of the soft binding algorithms supported by the service.",
                "operationId": "getSupportedBindings",
                "responses": {"200": _ok("c2pa.softBindingAlgList"), **errors(500)},
            }
        },
    }


def _alg_items(what: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "alg": {"type": "string", "description": f"Unique identifier of a {what} algorithm."}
            },
            "required": ["alg"],
        },
    }


SOFTBINDING_SCHEMAS: dict[str, Any] = {
    "c2pa.softBindingAlgList": {
        "description": "list of the names of soft binding algorithms supported by this service.",
        "type": "object",
        "oneOf": [{"required": ["watermarks"]}, {"required": ["fingerprints"]}],
        "properties": {"watermarks": _alg_items("watermark"), "fingerprints": _alg_items("fingerprint")},
    },
    "c2pa.softBindingQuery": {
        "required": ["value", "alg"],
        "type": "object",
        "properties": {
            "alg": {
                "type": "string",
                "description": "A string identifying the soft binding algorithm and version of that algorithm used.",
            },
            "value": {"type": "string", "description": VALUE},
        },
    },
    "c2pa.softBindingQueryResult": {
        "type": "object",
        "properties": {
            "matches": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "manifestId": {
                            "type": "string",
                            "description": "Unique identifier of a matched C2PA Manifest",
                        },
                        "endpoint": {
                            "type": "string",
                            "description": "Endpoint of a Soft Binding Resolution API from which the C2PA Manifest may be obtained.",
                        },
                        "similarityScore": {"type": "integer", "minimum": 0, "maximum": 100},
                    },
                    "required": ["manifestId"],
                },
            }
        },
    },
}
