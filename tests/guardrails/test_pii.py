"""PII through presidio's pattern recognizers, offline, with a cheap pre-screen."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hallmark.guardrails._pii import find_pii, may_hold_pii

ENTITIES = ["CREDIT_CARD", "EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS", "PHONE_NUMBER", "URL", "US_SSN"]


def test_prescreen_skips_plain_prompts_without_importing_presidio() -> None:
    assert not may_hold_pii("a lighthouse at dawn, oil painting")
    assert find_pii("a lighthouse at dawn", entities=ENTITIES, min_score=0.4) == []
    for text in (
        "mail a@b.org",
        "call 555 0147",
        "see www.example.org",
        "https://x.io/a",
        "host example.com",
    ):
        assert may_hold_pii(text), text


def test_pattern_entities_are_found_without_spacy_or_torch() -> None:
    text = "mail jane.doe@example.com, card 4111 1111 1111 1111, ssn 432-56-1890, ip 10.20.30.40"
    found = {p.entity for p in find_pii(text, entities=ENTITIES, min_score=0.4)}
    assert {"EMAIL_ADDRESS", "CREDIT_CARD", "US_SSN", "IP_ADDRESS"} <= found
    # In a process of its own: other tests in this one may have imported torch for their models.
    probe = (
        "import sys; from hallmark.guardrails._pii import find_pii; "
        f"find_pii({text!r}, entities={ENTITIES!r}, min_score=0.4); "
        "print(sorted(m for m in ('torch', 'transformers', 'spacy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['spacy']"]  # presidio's blank pipeline only; no model was downloaded


def test_spans_do_not_overlap_and_are_ordered() -> None:
    spans = find_pii("write to a.b@example.com or c@d.org", entities=ENTITIES, min_score=0.4)
    assert [p.entity for p in spans] == ["EMAIL_ADDRESS", "EMAIL_ADDRESS"]
    assert spans[0].end <= spans[1].start


def test_dates_are_not_phone_numbers() -> None:
    assert find_pii("a photo from 2019-05-04", entities=["PHONE_NUMBER"], min_score=0.4) == []


def test_prescreen_is_a_superset_on_the_presidio_set(shared_data: Path) -> None:
    """Every labelled pattern-entity span in presidio-research's synthetic set passes the screen."""
    path = shared_data / "pii" / "presidio_synth_v2.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    wanted = {
        "CREDIT_CARD",
        "EMAIL_ADDRESS",
        "IBAN_CODE",
        "IP_ADDRESS",
        "PHONE_NUMBER",
        "US_SSN",
        "DOMAIN_NAME",
    }
    checked = 0
    for row in rows:
        for span in json.loads(row["spans_json"]):
            if span["type"] in wanted:
                assert may_hold_pii(row["text"][span["start"] : span["end"]]), span["type"]
                checked += 1
    assert checked > 300


@pytest.mark.parametrize("entity", ["EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN"])
def test_recall_on_the_presidio_set(shared_data: Path, entity: str) -> None:
    path = shared_data / "pii" / "presidio_synth_v2.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    total = hit = 0
    for row in rows:
        spans = [s for s in json.loads(row["spans_json"]) if s["type"] == entity]
        if not spans:
            continue
        found = find_pii(row["text"], entities=[entity], min_score=0.4)
        for s in spans:
            total += 1
            hit += any(p.start < s["end"] and s["start"] < p.end for p in found)
    assert total and hit / total >= 0.9
