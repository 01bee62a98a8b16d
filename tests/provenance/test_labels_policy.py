"""The ``labels`` policy section (policies/_labels_schema.py): names and settings checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hallmark.errors import PolicyError
from hallmark.policies import LabelsPolicy, Policy, load_policy
from hallmark.policies._labels_schema import (
    CnGb45438Settings,
    UsCaSb942Settings,
    check_profile_requirements,
    profile_requirement_problems,
)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text("id: t\n" + body, encoding="utf-8")
    return path


def test_profiles_load_from_yaml(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "audit: {retention_days: 200}\n"
        "labels:\n  profiles: [eu_ai_act, cn_gb45438, us_ca_sb942]\n  provider: Acme\n"
        "  cn_gb45438: {text: AI生成, corner: top_left, min_height_fraction: 0.08}\n",
    )
    policy = load_policy(path)
    assert policy.labels.profiles == ("eu_ai_act", "cn_gb45438", "us_ca_sb942")
    cn = policy.labels.settings("cn_gb45438")
    assert isinstance(cn, CnGb45438Settings) and cn.corner == "top_left" and cn.min_height_fraction == 0.08
    # A profile without a settings block gets its defaults.
    assert policy.labels.settings("us_ca_sb942") == UsCaSb942Settings()


def test_unknown_profile_fails_at_load_with_known_names(tmp_path: Path) -> None:
    path = _write(tmp_path, "labels:\n  profiles: [eu_ai_act, cn_gb4543]\n")
    with pytest.raises(
        PolicyError,
        match=r"p\.yaml:\d+: labels\.profiles: .*unknown labels profile 'cn_gb4543'; known profiles: cn_gb45438, eu_ai_act, us_ca_sb942",
    ):
        load_policy(path)


def test_duplicate_profile_is_an_error() -> None:
    with pytest.raises(ValidationError, match="listed twice: eu_ai_act"):
        LabelsPolicy(profiles=("eu_ai_act", "eu_ai_act"))


def test_settings_for_a_profile_not_enabled_conflict() -> None:
    with pytest.raises(
        ValidationError, match="settings for cn_gb45438 are given but cn_gb45438 is not in labels.profiles"
    ):
        LabelsPolicy(profiles=("eu_ai_act",), cn_gb45438=CnGb45438Settings())


def test_unknown_settings_key_is_an_error() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        LabelsPolicy.model_validate({"profiles": ["cn_gb45438"], "cn_gb45438": {"colour": "red"}})


def test_settings_of_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown labels profile 'nope'"):
        LabelsPolicy().settings("nope")


def test_empty_provider() -> None:
    with pytest.raises(ValidationError, match="must name the provider"):
        LabelsPolicy(provider="  ")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"min_height_fraction": 0.04}, "greater than or equal to 0.05"),
        ({"text": "   "}, "must not be empty"),
        ({"text": "AI\n生成"}, "must be one line"),
        ({"corner": "middle"}, "top_left"),
        ({"xmp_prefix": "1abc"}, "not a valid XML name"),
        ({"xmp_property": "AI GC"}, "not a valid XML name"),
        ({"xmp_prefix": "rdf"}, "reserved by XMP"),
        ({"xmp_namespace": "not a uri"}, "not a namespace URI"),
        ({"xmp_namespace": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}, "XMP reserves"),
        ({"content_propagator": "Platform"}, "must be set together"),
        ({"propagate_id_prefix": "p-"}, "must be set together"),
    ],
)
def test_conflicting_or_bad_cn_settings(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CnGb45438Settings.model_validate(settings)


@pytest.mark.parametrize("label", ["c2pa.disclosure", "NoDots", "org.Example.x"])
def test_bad_sb942_assertion_label(label: str) -> None:
    with pytest.raises(ValidationError, match="not a namespaced assertion label"):
        UsCaSb942Settings(assertion_label=label)


def _policy(**sections: object) -> Policy:
    # Each section validated on its own, the whole assembled without Policy's own validators, so
    # that these tests look at check_profile_requirements alone.
    fields = Policy.model_fields
    built = {name: fields[name].annotation.model_validate(value) for name, value in sections.items()}  # type: ignore[union-attr]
    return Policy.model_construct(id="t", **built)


def test_cross_section_requirements_met() -> None:
    policy = _policy(
        labels={"profiles": ["cn_gb45438", "eu_ai_act", "us_ca_sb942"]},
        audit={"retention_days": 183},
    )
    assert profile_requirement_problems(policy) == []
    check_profile_requirements(policy)


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        (
            {"labels": {"profiles": ["cn_gb45438"]}},
            r"cn_gb45438 needs audit.retention_days >= 183 \(six months\), the policy says 0",
        ),
        (
            {"labels": {"profiles": ["eu_ai_act"]}, "watermark": {"enabled": False}},
            "eu_ai_act needs the watermark",
        ),
        (
            {"labels": {"profiles": ["eu_ai_act"]}, "c2pa": {"enabled": False}},
            "eu_ai_act needs C2PA metadata",
        ),
        (
            {"labels": {"profiles": ["eu_ai_act"], "eu_ai_act": {"require_timestamp": True}}},
            "require_timestamp is true but c2pa.tsa_url is not set",
        ),
        (
            {"labels": {"profiles": ["us_ca_sb942"]}, "c2pa": {"enabled": False}},
            "us_ca_sb942 puts its disclosure in the C2PA manifest",
        ),
        (
            {"labels": {"profiles": ["us_ca_sb942"]}, "watermark": {"enabled": False}},
            "us_ca_sb942 needs the watermark",
        ),
    ],
)
def test_cross_section_conflicts(sections: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_profile_requirements(_policy(**sections))


def test_several_conflicts_are_counted() -> None:
    policy = _policy(
        labels={"profiles": ["eu_ai_act", "us_ca_sb942"]},
        watermark={"enabled": False},
        c2pa={"enabled": False},
    )
    with pytest.raises(ValueError, match=r"\(and 3 more\)"):
        check_profile_requirements(policy)


def test_cross_section_conflict_fails_at_policy_load(tmp_path: Path) -> None:
    # Needs Policy to call check_profile_requirements in a model validator (policies/_schema.py).
    path = _write(tmp_path, "labels:\n  profiles: [cn_gb45438]\n")
    with pytest.raises(PolicyError, match="cn_gb45438 needs audit.retention_days >= 183"):
        load_policy(path)


def test_the_schema_and_the_profile_registry_name_the_same_profiles_in_order() -> None:
    from hallmark.policies._labels_schema import KNOWN_PROFILES
    from hallmark.provenance.labels._registry import PROFILES

    assert PROFILES.names() == list(KNOWN_PROFILES)
