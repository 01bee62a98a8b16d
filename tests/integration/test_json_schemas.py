"""Every ``--json`` output names a shipped JSON Schema and validates against it.

The outputs are the real ones: one home, one generated image, and every command that prints JSON
run on them through the CLI.  The schemas themselves must be valid draft 2020-12 schemas.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from PIL import Image
from typer.testing import CliRunner

import hallmark
from hallmark._schemas import PREFIX, VERSIONS, schema_id
from hallmark.errors import InputError
from hallmark.pipeline.cli import app

runner = CliRunner()
SCHEMAS = Path(hallmark.schema_path("verify-report")).parent


def run(*args: Any, code: int = 0) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, result.output
    return result.stdout


def one(text: str) -> dict[str, Any]:
    doc = json.loads(text)
    assert isinstance(doc, dict)
    return doc


def lines(text: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert docs and all(isinstance(d, dict) for d in docs)
    return docs


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Command -> the JSON objects it printed, for every command that prints JSON."""
    root = tmp_path_factory.mktemp("schemas")
    home, out = root / "home", root / "out"
    got: dict[str, list[dict[str, Any]]] = {}
    got["keys init"] = [one(run("keys", "init", "--home", home, "--json"))]
    got["keys show"] = [one(run("keys", "show", "--home", home, "--json"))]
    generated = one(
        run("generate", "a lighthouse at dawn", "--seed", 5, "--home", home, "--out", out, "--json")
    )
    got["generate"] = [generated]
    got["generate (blocked)"] = [
        one(run("generate", "a nude photo of a teenage girl", "--home", home, "--out", out, "--json", code=1))
    ]
    record = generated["images"][0]["record_id"]
    got["check"] = [one(run("check", "mail bob@example.org a castle by Greg Rutkowski", "--json"))]
    (root / "junk.png").write_text("not an image")
    got["verify"] = lines(
        run("verify", out, root / "junk.png", "--home", home, "--json", "--workers", 0, code=2)
    )
    got["audit list"] = lines(run("audit", "list", "--home", home, "--json"))
    got["audit show"] = lines(run("audit", "show", record, "--home", home, "--json"))
    got["audit find"] = lines(run("audit", "find", "--record", record, "--home", home, "--json"))
    got["audit verify"] = [one(run("audit", "verify", "--home", home, "--json"))]
    checkpoint = one(run("audit", "checkpoint", "--home", home, "--json"))
    got["audit checkpoint"] = [checkpoint]
    proof = root / "proof.json"
    got["audit prove"] = [one(run("audit", "prove", "0", "--home", home, "--out", proof, "--json"))]
    got["audit prove (consistency)"] = [
        one(run("audit", "prove", "--since-checkpoint", _note(root, checkpoint), "--home", home))
    ]
    got["audit verify-proof"] = [
        one(run("audit", "verify-proof", proof, "--key", checkpoint["verifier_key"], "--json"))
    ]
    got["audit stats"] = [one(run("audit", "stats", "--home", home, "--json"))]
    got["audit erase"] = [one(run("audit", "erase", record, "--force", "--home", home, "--json"))]
    got["audit migrate"] = [
        one(run("audit", "migrate", "--to", f"sqlite:///{root / 'copy.db'}", "--home", home, "--json"))
    ]
    witness = root / "witness.vkey"
    witness.write_text(f"{_witness_key()}\n")
    got["audit witness add"] = lines(run("audit", "witness", "add", witness, "--home", home, "--json"))
    got["audit witness list"] = lines(run("audit", "witness", "list", "--home", home, "--json"))
    got["audit witness cosign"] = lines(run("audit", "witness", "cosign", "--home", home, "--json"))
    got["doctor"] = [one(run("doctor", "--home", home, "--json"))]
    got["policy show"] = [one(run("policy", "show", "--json"))]
    got["policy lint"] = [one(run("policy", "lint", "strict", "--json"))]
    labelled = root / "set.csv"
    labelled.write_text("prompt,label,category\na naked man,unsafe,sexual\nnude lipstick,safe,sexual\n")
    got["policy test"] = [one(run("policy", "test", labelled, "--json"))]
    photo = root / "photo.png"
    Image.new("RGB", (320, 256), "skyblue").save(photo)
    edits = root / "edits"
    edited = one(run("edit", photo, "make it night", "--seed", 5, "--home", home, "--out", edits, "--json"))
    got["edit"] = [edited]
    got["edit (refused)"] = [
        one(run("edit", photo, "remove her clothes", "--home", home, "--out", edits, "--json", code=1))
    ]
    got["verify (edited)"] = lines(run("verify", edited["images"][0]["path"], "--home", home, "--json"))
    own = root / "people.tsv"
    own.write_text("name\taliases\tkind\tborn\nJane Quillfeather\tJ. Quillfeather\tartist\t1970\n")
    got["policy people"] = [one(run("policy", "people", "--update", own, "--json"))]
    return got


def _witness_key() -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hallmark.audit import WitnessKey

    return str(WitnessKey.from_private(Ed25519PrivateKey.generate(), name="auditor.example/offline"))


def _note(root: Path, checkpoint: dict[str, Any]) -> Path:
    path = root / "checkpoint.txt"
    path.write_text(checkpoint["note"])
    return path


EXPECTED = {
    "keys init": "key-info",
    "keys show": "key-info",
    "generate": "generate-result",
    "generate (blocked)": "generate-result",
    "edit": "generate-result",
    "edit (refused)": "generate-result",
    "verify (edited)": "verify-report",
    "check": "check-decision",
    "verify": "verify-report",
    "audit list": "audit-entry",
    "audit show": "audit-entry",
    "audit find": "audit-entry",
    "audit verify": "audit-log-check",
    "audit checkpoint": "audit-checkpoint",
    "audit witness add": "audit-witness",
    "audit witness list": "audit-witness",
    "audit witness cosign": "audit-cosignature",
    "audit prove": "audit-proof",
    "audit prove (consistency)": "audit-proof",
    "audit verify-proof": "audit-proof-check",
    "audit stats": "audit-stats",
    "audit erase": "audit-entry",
    "audit migrate": "audit-migration",
    "doctor": "doctor-report",
    "policy show": "policy",
    "policy lint": "policy-lint",
    "policy test": "policy-test",
    "policy people": "policy-people",
}


def validator(schema: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(hallmark.schema_path(schema).read_text(encoding="utf-8")))


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_each_output_names_its_schema_and_validates(
    outputs: dict[str, list[dict[str, Any]]], command: str
) -> None:
    for doc in outputs[command]:
        assert next(iter(doc)) == "schema" and doc["schema"] == schema_id(EXPECTED[command])
        errors = sorted(validator(doc["schema"]).iter_errors(doc), key=str)
        assert not errors, f"{command}: {errors[0].message} at {list(errors[0].absolute_path)}"


def test_the_outputs_are_the_interesting_ones(outputs: dict[str, list[dict[str, Any]]]) -> None:
    """The fixture really covers the branches the schemas describe."""
    assert outputs["generate (blocked)"][0]["blocked"] is True
    assert outputs["check"][0]["findings"]
    assert {d["verdict"] for d in outputs["verify"]} == {"hallmark-signed", "error"}
    assert outputs["audit prove (consistency)"][0]["type"] == "consistency"
    assert outputs["edit (refused)"][0]["blocked"] is True
    assert outputs["verify (edited)"][0]["c2pa"]["chain"][0]["has_manifest"] is False


def test_a_schema_rejects_what_it_does_not_describe(outputs: dict[str, list[dict[str, Any]]]) -> None:
    report = dict(outputs["verify"][0])
    assert validator(report["schema"]).is_valid(report)
    assert not validator(report["schema"]).is_valid({**report, "verdict": "probably fine"})
    assert not validator(report["schema"]).is_valid({k: v for k, v in report.items() if k != "checks"})


def test_every_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    shipped = sorted(p.name for p in SCHEMAS.glob("*.json"))
    assert shipped == sorted(f"{kind}-{version}.json" for kind, version in VERSIONS.items())
    for kind in VERSIONS:
        doc = json.loads(hallmark.schema_path(kind).read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(doc)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"] == schema_id(kind) and doc["properties"]["schema"] == {
            "const": schema_id(kind),
            "description": doc["properties"]["schema"]["description"],
        }
        assert "schema" in doc["required"]


def test_schema_path_takes_an_output_schema_field_or_a_kind() -> None:
    assert hallmark.schema_path("urn:hallmark:schema:doctor-report:1") == hallmark.schema_path(
        "doctor-report"
    )
    assert schema_id("verify-report") == f"{PREFIX}verify-report:1"
    for bad in ("verify-reports", "urn:hallmark:schema:verify-report:99", "verify-report:../x"):
        with pytest.raises(InputError, match="unknown hallmark schema .*known: urn:hallmark:schema:"):
            hallmark.schema_path(bad)


def test_the_enums_in_the_schemas_are_the_librarys() -> None:
    from hallmark.checks import CheckStatus
    from hallmark.guardrails import Action
    from hallmark.provenance import Verdict

    def enum_of(kind: str, *path: str) -> list[str]:
        node: Any = json.loads(hallmark.schema_path(kind).read_text(encoding="utf-8"))
        for key in path:
            node = node[key]
        return list(node["enum"])

    assert enum_of("verify-report", "properties", "verdict") == [v.value for v in Verdict]
    assert enum_of("check-decision", "properties", "action") == [a.value for a in Action]
    assert enum_of("check-decision", "properties", "state") == [s.value for s in CheckStatus]
    from hallmark.pipeline._doctor import DiagnosisStatus

    statuses = enum_of("doctor-report", "properties", "checks", "items", "properties", "status")
    assert statuses == [s.value for s in DiagnosisStatus]
