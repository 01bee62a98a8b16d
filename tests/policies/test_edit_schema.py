"""The edit section of a policy: its categories load their list files, bad values name their path."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallmark.errors import PolicyError
from hallmark.policies import EDIT_CATEGORIES, load_policy


def test_the_bundled_policies_carry_the_edit_categories_with_their_lists() -> None:
    for name in ("default", "strict", "permissive"):
        edit = load_policy(name).edit
        assert set(edit.categories) == set(EDIT_CATEGORIES)
        terms = [t for d in edit.categories["intimate_edit"].detectors for t in getattr(d, "terms", ())]
        assert "remove her clothes" in terms and "脱掉她的衣服" in terms
        assert (
            edit.input.refuse_not_allowed == ("ai_inference",) and edit.input.invalid_credentials == "allow"
        )


def test_a_pack_may_honour_generative_training_too(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "id: p\nextends: default\nedit:\n  input:\n    refuse_not_allowed: [ai_inference, ai_generative_training]\n"
    )
    assert load_policy(path).edit.input.refuse_not_allowed == ("ai_inference", "ai_generative_training")


@pytest.mark.parametrize(
    "body,where",
    [
        ("edit:\n  categories:\n    gossip: {}\n", "edit.categories"),
        ("edit:\n  input:\n    invalid_credentials: maybe\n", "edit.input.invalid_credentials"),
        ("edit:\n  input:\n    refuse_not_allowed: [everything]\n", "edit.input.refuse_not_allowed"),
    ],
)
def test_bad_edit_settings_are_refused_naming_their_path(tmp_path: Path, body: str, where: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("id: p\nextends: default\n" + body)
    with pytest.raises(PolicyError, match=where.replace(".", r"\.")):
        load_policy(path)
