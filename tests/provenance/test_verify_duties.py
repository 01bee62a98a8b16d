"""Labelling duties only where they apply: the profiles an image declares, plus those asked for;
the others are named as not checked, in the report, its JSON and the HTML."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from hallmark import provenance as P
from hallmark.errors import InputError
from hallmark.provenance import TrustConfig, verify_image
from hallmark.provenance.verify._html import render_html_report

ALL = ("cn_gb45438", "eu_ai_act", "us_ca_sb942")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("duties") / "keys"
    P.init_keys(d)
    return d


def image() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 80, 120)).save(buf, "PNG")
    return buf.getvalue()


def signed(keys: Path, *, labels_stage: str | None) -> bytes:
    policy: dict[str, Any] = {"record_id": "r1"}
    if labels_stage is not None:
        policy["stages"] = {"labels": labels_stage}
    spec = P.ManifestSpec(title="t", software_agent="m", policy_assertion=policy)
    with P.C2paSigner.from_keys_dir(keys) as signer:
        return signer.sign(image(), mime="image/png", manifest=spec).data


def test_an_image_that_declares_nothing_gets_no_duties() -> None:
    """It used to list every profile's duties as not met."""
    report = verify_image(image(), schemes=[])
    assert report.compliance == ()
    assert report.profiles.checked == () and report.profiles.not_checked == ALL
    assert report.profiles.line.startswith(
        "Labelling duties not checked for cn_gb45438, eu_ai_act, us_ca_sb942"
    )
    doc = report.to_dict()
    assert doc["compliance"] == [] and doc["profiles"]["not_checked"] == list(ALL)


def test_declared_profiles_are_checked(keys: Path) -> None:
    data = signed(keys, labels_stage="applied: eu_ai_act")
    report = verify_image(data, trust=TrustConfig.from_files(keys_dir=keys), schemes=[])
    assert report.profiles.declared == ("eu_ai_act",) and report.profiles.checked == ("eu_ai_act",)
    assert {r.profile for r in report.compliance} == {"eu_ai_act"}
    assert report.profiles.not_checked == ("cn_gb45438", "us_ca_sb942")
    page = render_html_report([report])
    assert "labelling duties (eu_ai_act)" in page and "not checked for cn_gb45438, us_ca_sb942" in page


def test_asked_for_profiles_join_the_declared_ones(keys: Path) -> None:
    data = signed(keys, labels_stage="applied: eu_ai_act")
    report = verify_image(data, schemes=[], profiles=["us_ca_sb942"])
    assert report.profiles.checked == ("eu_ai_act", "us_ca_sb942")
    assert report.profiles.requested == ("us_ca_sb942",)
    assert report.profiles.not_checked == ("cn_gb45438",)
    everything = verify_image(image(), schemes=[], profiles=list(ALL))
    assert {r.profile for r in everything.compliance} == set(ALL) and everything.profiles.line == ""


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(InputError, match="unknown labels profile 'eu_ai'; known profiles: cn_gb45438"):
        verify_image(image(), schemes=[], profiles=["eu_ai"])
