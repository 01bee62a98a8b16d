"""The JSON Schemas of what ``hallmark ... --json`` prints.

Every JSON object a command prints names its schema in a top-level ``"schema"`` field, a URN
``urn:hallmark:schema:<kind>:<version>`` (for example ``urn:hallmark:schema:verify-report:1``).
The schemas (JSON Schema draft 2020-12) ship in the package as ``hallmark/schemas/<kind>-<version>.json``;
:func:`schema_path` finds one.

A command that reports one thing prints one object.  A command that reports several things
(``verify``, ``audit list``, ``audit find``, ``audit show``, ``audit witness``) prints JSON Lines: one object per
line, each with its own ``"schema"``, so that a long run can be read while it goes on.  A version
changes when a field is removed, renamed or changes meaning; new fields may appear within one.
"""

from __future__ import annotations

from pathlib import Path

PREFIX = "urn:hallmark:schema:"

# kind -> the version the commands print now
VERSIONS = {
    "generate-result": 1,
    "check-decision": 1,
    "verify-report": 1,
    "audit-entry": 1,
    "audit-log-check": 1,
    "audit-checkpoint": 1,
    "audit-proof": 1,
    "audit-proof-check": 1,
    "audit-stats": 1,
    "audit-migration": 1,
    "audit-witness": 1,
    "audit-cosignature": 1,
    "policy": 1,
    "policy-lint": 1,
    "policy-test": 1,
    "policy-people": 1,
    "key-info": 1,
    "doctor-report": 1,
    # hallmark serve's responses (the OpenAPI document at /openapi.json references them)
    "verify-response": 1,
    "api-error": 1,
    "health": 1,
    "job-result": 1,
    "api-token": 1,
    "generate-response": 1,
    "audit-entries": 1,
}


def schema_id(kind: str) -> str:
    """The URN of the current version of ``kind`` (``"verify-report"`` -> ``urn:hallmark:schema:verify-report:1``)."""
    return f"{PREFIX}{kind}:{VERSIONS[kind]}"


def schema_path(schema: str) -> Path:
    """The JSON Schema file for ``schema``: the ``"schema"`` value of an output
    (``urn:hallmark:schema:verify-report:1``), or a kind for its current version (``verify-report``).

    Raises ``InputError`` listing the known kinds for anything else."""
    from importlib.resources import files

    from .errors import InputError

    kind, _, version = schema.removeprefix(PREFIX).partition(":")
    path = files("hallmark").joinpath("schemas", f"{kind}-{version or VERSIONS.get(kind)}.json")
    if kind not in VERSIONS or not (version or "1").isdigit() or not path.is_file():
        raise InputError(
            f"unknown hallmark schema {schema!r}; known: {', '.join(schema_id(k) for k in VERSIONS)}"
        )
    return Path(str(path))
