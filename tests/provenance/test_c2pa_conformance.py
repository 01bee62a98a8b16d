"""C2PA conformance: every public test file in ../shared/data/c2pa gets the presence, validity and
failure codes its ``expected.csv`` row says, read through ``verify_image`` (not the bare Reader).

Expected failure codes list alternatives (``a;b``): the published report and the current SDK
disagree on some files (see the csv's note column), so at least one of them must be reported.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hallmark.provenance import TrustConfig, Verdict, verify_image


def _rows() -> list[dict[str, str]]:
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "c2pa" / "expected.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


ROWS = _rows()


@pytest.fixture(scope="module")
def c2pa_dir(shared_data: Path) -> Path:
    return shared_data / "c2pa" / "images"


def test_the_csv_was_found(shared_data: Path) -> None:
    assert len(ROWS) == 23


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_conformance_file(row: dict[str, str], c2pa_dir: Path) -> None:
    report = verify_image(c2pa_dir / row["file"], trust=TrustConfig.offline(), schemes=[])
    c2pa = report.c2pa
    assert c2pa is not None
    if row["has_manifest"] == "no":
        assert not c2pa.present
        assert report.check("c2pa").status.value == "not_found"
        assert report.verdict is Verdict.NO_PROVENANCE_FOUND
        return
    assert c2pa.present
    # Signed with C2PA test certificates: without anchors the signer is always untrusted.
    assert "signingCredential.untrusted" in c2pa.failure_codes
    expected_codes = [c.strip() for c in row["expected_failure_code"].split(":")[-1].split(";") if c.strip()]
    if row["expected_valid"] == "yes":
        assert c2pa.state == "Valid"
        assert report.verdict is Verdict.C2PA_SIGNED
        assert report.passed
        assert any("not in your trust anchors" in w for w in report.warnings)
    elif row["expected_valid"].startswith("yes (active)"):
        # The error sits in an ingredient recorded at ingest: reported as such, not as an invalid image.
        assert c2pa.state == "Valid"
        assert report.verdict is Verdict.C2PA_SIGNED
        assert set(expected_codes) <= set(c2pa.ingredient_errors)
        assert any("ingredient" in w for w in report.warnings)
    else:
        assert c2pa.state == "Invalid"
        reported = {c.split(":")[-1] for c in c2pa.failure_codes}
        assert reported & set(expected_codes), (expected_codes, c2pa.failure_codes)
        assert not report.passed or not c2pa.content_failures


def test_data_hash_mismatch_is_tampered(c2pa_dir: Path) -> None:
    report = verify_image(c2pa_dir / "adobe-20220124-E-dat-CA.jpg", schemes=[])
    assert report.verdict is Verdict.TAMPERED
    assert "assertion.dataHash.mismatch" in report.check("c2pa").codes
    assert not report.passed


def test_expired_certificate_is_invalid_credentials(c2pa_dir: Path) -> None:
    report = verify_image(c2pa_dir / "nikon-20221019-building.jpeg", schemes=[])
    assert report.verdict is Verdict.INVALID_CREDENTIALS
    assert report.c2pa.credential_failures == ("signingCredential.expired",)
    assert "expired" in report.explanation
    assert report.c2pa.signer and report.c2pa.issuer == "NIKON CORPORATION"
    assert not report.passed


def test_broken_ingredient_leaves_the_image_valid(c2pa_dir: Path) -> None:
    """E-uri-CIE-sig-CA: c2pa calls the store Invalid because an ingredient's assertion hash fails
    today; the image's own manifest validates, so the verdict is not 'tampered'."""
    report = verify_image(c2pa_dir / "adobe-20220124-E-uri-CIE-sig-CA.jpg", schemes=[])
    assert report.c2pa.state == "Invalid"
    assert report.c2pa.content_failures == ()
    assert "ingredient:assertion.hashedURI.mismatch" in report.c2pa.failure_codes
    assert report.verdict is Verdict.C2PA_SIGNED
    assert report.check("c2pa").summary.startswith("The image's own credentials validate")


def test_manifest_details_are_read(c2pa_dir: Path) -> None:
    report = verify_image(c2pa_dir / "adobe-20220124-CAICAI.jpg", schemes=[])
    c2pa = report.c2pa
    assert c2pa.claim_generator and "c2pa-rs" in c2pa.claim_generator
    assert c2pa.signer == "C2PA Signer" and c2pa.issuer == "C2PA Test Signing Cert"
    assert c2pa.manifest_count >= 2
    assert [a["action"] for a in c2pa.actions]
    assert c2pa.ingredients and all(i.title for i in c2pa.ingredients)
    assert not c2pa.ai_generated
