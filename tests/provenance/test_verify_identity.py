"""CAWG identity assertions in a verification: one line each (who is named, verified or not, why)
in the checks, the JSON and the HTML; an identity never decides the manifest's verdict.

Two sources: c2pa-rs's public fixture ``C_with_CAWG_data.jpg`` (a real X.509 identity, untrusted
here), and a Reader JSON document written by hand (tests/assets/reader-cawg-identities.json) with
a verified, an unverified and an invalid identity, since c2pa-python 0.38 cannot sign one.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from hallmark.provenance import CheckStatus, Verdict, verify_image
from hallmark.provenance.c2pa._read import _describe
from hallmark.provenance.verify._html import render_html_report

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def test_untrusted_identity_leaves_a_valid_manifest_valid() -> None:
    """This file used to be reported as tampered: cawg.x509.credential.untrusted was read as a
    change after signing."""
    report = verify_image(ASSETS / "c2pa-rs-C_with_CAWG_data.jpg", schemes=[])
    assert report.verdict is Verdict.C2PA_SIGNED, report.explanation
    assert report.c2pa.state == "Valid" and report.c2pa.assessment.value == "valid"
    assert report.c2pa.content_failures == () and report.c2pa.credential_failures == ()
    assert report.passed
    (identity,) = report.c2pa.identities
    assert identity.label == "cawg.identity" and identity.sig_type == "cawg.x509.cose"
    assert identity.named == "C2PA Signer" and identity.issuer == "C2PA Test Signing Cert"
    assert identity.state == "unverified"
    assert "not in your identity trust anchors" in identity.reason
    assert set(identity.codes) >= {"cawg.x509.credential.untrusted", "cawg.x509.signature.validated"}
    line = report.check("identity")
    assert line.status is CheckStatus.CHECKED
    assert line.summary.startswith("Names C2PA Signer (issued by C2PA Test Signing Cert): not verified")
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["c2pa"]["identities"][0]["state"] == "unverified"
    assert doc["c2pa"]["identities"][0]["verified"] is False
    assert {c["name"] for c in doc["checks"]} >= {"c2pa", "identity"}
    failure = next(f for f in doc["c2pa"]["failures"] if f["code"] == "cawg.x509.credential.untrusted")
    assert failure["class"] == "identity-unverified"


@pytest.fixture
def three_identities(monkeypatch: pytest.MonkeyPatch) -> Any:
    from hallmark.provenance.verify import _verify

    doc = json.loads((ASSETS / "reader-cawg-identities.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(_verify, "read_c2pa", lambda *a, **k: _describe(doc, remote_url=None))
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, "PNG")
    return verify_image(buf.getvalue(), schemes=[])


def test_each_identity_gets_its_own_line(three_identities: Any) -> None:
    report = three_identities
    # c2pa calls the store Invalid (an identity failure it does not tolerate); the claim signer is
    # trusted and the manifest's own codes hold, so the manifest is trusted.
    assert report.c2pa.state == "Invalid"
    assert report.c2pa.assessment.value == "trusted" and report.c2pa.signer_trusted
    assert report.verdict is Verdict.C2PA_SIGNED
    assert report.check("c2pa").status is CheckStatus.PASSED
    assert "ingredient" not in report.check("c2pa").summary  # c2pa's Invalid came from an identity
    lines = {c.name: c for c in report.checks if c.name.startswith("identity")}
    assert list(lines) == ["identity", "identity:2", "identity:3"]
    assert lines["identity"].status is CheckStatus.PASSED
    assert lines["identity"].summary.startswith(
        "Names Alice Example (issued by Example Identity CA): verified"
    )
    assert lines["identity:2"].status is CheckStatus.CHECKED
    assert "alice_photos (social media via Example Social)" in lines["identity:2"].summary
    assert "DID document could not be fetched" in lines["identity:2"].summary
    assert "signingCredential.untrusted" in lines["identity:2"].codes  # the c2pa-rs 0.90 form
    assert lines["identity:3"].status is CheckStatus.FAILED
    assert "signature does not validate" in lines["identity:3"].summary
    # An identity that does not validate is a failed check of its own, never a tampered image.
    assert not report.passed
    assert "changed after signing" not in report.explanation


def test_identities_in_the_html_report(three_identities: Any) -> None:
    page = render_html_report([three_identities])
    assert page.count('class="identity"') == 3
    assert 'data-state="verified"' in page and 'data-state="invalid"' in page
    assert "identity: Alice Example" in page
    assert "in your trust anchors" in page
