"""Stages.from_policy: what a policy turns on is built, and checked, before anything is written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hallmark.errors import GuardrailError
from hallmark.pipeline import Home, Stages
from hallmark.policies import load_policy
from hallmark.provenance import init_keys


def policy_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text("id: test\nextends: default\n" + body)
    return path


def test_the_default_policy_builds_every_stage(home: Path) -> None:
    init_keys(home / "keys")
    stages = Stages.from_policy(load_policy("default"), Home(home))
    assert stages.image_safety is not None and stages.watermark is not None and stages.signer is not None


def test_a_classifier_backend_that_is_not_installed_fails_when_the_stages_are_built(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_keys(home / "keys")
    monkeypatch.setitem(sys.modules, "nudenet", None)  # as on a machine without the extra
    monkeypatch.setattr("hallmark.guardrails._image._INSTANCES", {})
    policy = load_policy(policy_file(tmp_path, "image:\n  classifier: nudenet\n"))
    with pytest.raises(GuardrailError, match="nudenet backend is not installed") as caught:
        Stages.from_policy(policy, Home(home))
    assert "pip install 'hallmark-genai[nudenet]'" in caught.value.hint
    assert sorted(p.name for p in home.iterdir()) == ["keys"]
