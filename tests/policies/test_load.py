"""Loading, merging and linting policy files; every error names file, path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallmark.errors import PolicyError
from hallmark.policies import bundled_policies, lint_policy, load_policy


def test_bundled_packs_load_and_lint_clean() -> None:
    assert {"default", "strict", "permissive"} <= set(bundled_policies())
    digests = set()
    for name in ("default", "strict", "permissive"):
        policy = load_policy(name)
        assert lint_policy(name) == []
        assert policy.prompt.categories["sexual_minors"].actions.low == "block"
        digests.add(policy.digest)
    assert len(digests) == 3


def test_default_pack_covers_the_issue_categories_in_two_languages() -> None:
    policy = load_policy("default")
    cats = policy.prompt.categories
    for name in (
        "sexual_minors",
        "sexual",
        "violence",
        "hate",
        "self_harm",
        "privacy",
        "intellectual_property",
    ):
        assert name in cats
    terms = [t for d in cats["sexual"].detectors for t in getattr(d, "terms", ())]
    assert "nude" in terms and "裸体" in terms  # list files were read into the policy


def test_extends_merges_and_overrides(tmp_path: Path) -> None:
    child = tmp_path / "mine.yaml"
    child.write_text(
        "id: mine\nextends: default\nprompt:\n  categories:\n    sexual:\n      actions: {medium: flag}\n"
    )
    policy = load_policy(child)
    assert policy.prompt.categories["sexual"].actions.medium == "flag"
    assert policy.prompt.categories["sexual"].actions.high == "block"  # inherited
    assert "violence" in policy.prompt.categories


def test_a_pack_cannot_weaken_minors_through_extends(tmp_path: Path) -> None:
    child = tmp_path / "weak.yaml"
    child.write_text(
        "id: weak\nextends: default\nprompt:\n  categories:\n    sexual_minors:\n      enabled: false\n"
    )
    with pytest.raises(PolicyError, match=r"weak.yaml:\d+: prompt: .*cannot weaken"):
        load_policy(child)


def test_custom_blocklist_and_allowlist_files(tmp_path: Path) -> None:
    (tmp_path / "block.txt").write_text("# my words\nwidget\n")
    (tmp_path / "allow.txt").write_text("nude lipstick\n")
    pack = tmp_path / "custom.yaml"
    pack.write_text(
        "id: custom\nextends: default\nprompt:\n  allow_files: [allow.txt]\n  categories:\n    illegal_activity:\n"
        "      detectors:\n        - {type: terms, id: mine, files: [block.txt]}\n"
    )
    policy = load_policy(pack)
    assert policy.prompt.categories["illegal_activity"].detectors[0].terms == ("widget",)
    assert "nude lipstick" in policy.prompt.allow


def test_list_content_changes_the_digest(tmp_path: Path) -> None:
    words = tmp_path / "w.txt"
    words.write_text("widget\n")
    pack = tmp_path / "p.yaml"
    pack.write_text(
        "id: p\nextends: default\nprompt:\n  categories:\n    weapons:\n      detectors:\n"
        "        - {type: terms, id: mine, files: [w.txt]}\n"
    )
    first = load_policy(pack).digest
    words.write_text("gadget\n")
    import os

    # A list file edited after loading invalidates the cache (mtime moved explicitly: coarse clocks).
    os.utime(words, ns=(words.stat().st_atime_ns, words.stat().st_mtime_ns + 10_000_000))
    assert load_policy(pack).digest != first


def test_error_names_file_path_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nprompt:\n  max_prompt_tokens: many\n")
    with pytest.raises(PolicyError, match=r"bad.yaml:3: prompt.max_prompt_tokens: "):
        load_policy(bad)


def test_unknown_key_points_at_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nimage:\n  enabled: true\n  clasifier: opennsfw\n")
    with pytest.raises(PolicyError, match=r"bad.yaml:4: image.clasifier: Extra inputs are not permitted"):
        load_policy(bad)


def test_lint_reports_every_problem_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\n"
        "extends: default\n"
        "prompt:\n"
        "  max_prompt_tokens: lots\n"
        "  categories:\n"
        "    astrology: {}\n"
        "    hate:\n"
        "      detectors:\n"
        "        - {type: regex, id: r, patterns: ['(open']}\n"
        "        - {type: telepathy, id: t}\n"
        "        - {type: terms, id: f, files: [nowhere.txt]}\n"
    )
    problems = lint_policy(bad)
    text = "\n".join(problems)
    assert len(problems) >= 5, text
    assert "bad.yaml:11: prompt.categories.hate.detectors.2.files.0: list file not found: nowhere.txt" in text
    assert "bad.yaml:4: prompt.max_prompt_tokens" in text
    assert "astrology" in text
    assert "regex does not compile" in text and "bad.yaml:9:" in text
    assert "telepathy" in text and "bad.yaml:10:" in text
    with pytest.raises(PolicyError, match=r"\(and \d+ more\)"):
        load_policy(bad)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nprompt: [unclosed\n")
    with pytest.raises(PolicyError, match=r"bad.yaml:\d+: not valid YAML"):
        load_policy(bad)
    assert lint_policy(bad)[0].startswith(str(bad))


def test_not_a_mapping_and_bad_extends(tmp_path: Path) -> None:
    seq = tmp_path / "seq.yaml"
    seq.write_text("- a\n- b\n")
    with pytest.raises(PolicyError, match="must be a mapping"):
        load_policy(seq)
    ext = tmp_path / "ext.yaml"
    ext.write_text("id: e\nextends: [default]\n")
    with pytest.raises(PolicyError, match=r"ext.yaml:2: extends: must be a policy name"):
        load_policy(ext)
    missing = tmp_path / "missing.yaml"
    missing.write_text("id: e\nextends: no_such_pack\n")
    with pytest.raises(PolicyError, match=r"missing.yaml:2: extends: unknown policy"):
        load_policy(missing)


def test_extends_cycle_is_refused(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("id: a\nextends: b.yaml\n")
    b.write_text("id: b\nextends: a.yaml\n")
    with pytest.raises(PolicyError, match="deeper than"):
        load_policy(a)


def test_unknown_names_and_paths() -> None:
    with pytest.raises(PolicyError, match="unknown policy 'nope'; bundled policies: "):
        load_policy("nope")
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy("missing/dir/p.yaml")


def test_unreadable_list_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    pack = tmp_path / "p.yaml"
    pack.write_text(
        "id: p\nextends: default\nprompt:\n  categories:\n    weapons:\n      detectors:\n"
        "        - {type: terms, id: mine, files: [bin.txt]}\n"
    )
    assert any("cannot read list file bin.txt" in line for line in lint_policy(pack))
