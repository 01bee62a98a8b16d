"""The detector registry and the raise paths of the detector plumbing."""

from __future__ import annotations

import pytest

from hallmark.errors import GuardrailError
from hallmark.guardrails import DETECTORS
from hallmark.guardrails import _detectors as detectors
from hallmark.guardrails import _image as image
from hallmark.guardrails import _pii as pii
from hallmark.policies import load_policy
from hallmark.registry import Registry


def test_registry_names_every_kind() -> None:
    assert set(DETECTORS) == {"terms", "regex", "names", "people", "semantic"}


def test_unknown_detector_kind_lists_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    only_regex = Registry("detector", error=GuardrailError)
    only_regex.register("regex", detectors.RegexDetector)
    monkeypatch.setattr(detectors, "DETECTORS", only_regex)
    with pytest.raises(GuardrailError, match="unknown detector 'terms'; known: regex"):
        detectors.build_detectors(load_policy("default"))


def test_unknown_image_backend_lists_known_ones() -> None:
    with pytest.raises(
        GuardrailError,
        match="unknown image classifier 'x'; known: clip-zero-shot, hf-image-classifier, nudenet, opennsfw",
    ):
        image.image_classifier("x")


def test_presidio_failures_are_guardrail_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def analyze(self, **kwargs: object) -> list[object]:
            raise ValueError("boom")

    monkeypatch.setattr(pii, "analyzer", lambda: Broken())
    with pytest.raises(GuardrailError, match="presidio analysis failed"):
        pii.find_pii("mail a@b.org", entities=["EMAIL_ADDRESS"], min_score=0.4)


def test_presidio_import_failure_is_a_guardrail_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)
    with pytest.raises(GuardrailError, match="presidio-analyzer cannot be imported"):
        pii._import_presidio()
