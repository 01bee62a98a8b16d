"""Labelled-prompt evaluation: CSV reading, tallies, and the default pack on hallmark's own set."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallmark.errors import InputError
from hallmark.guardrails import PromptFilter, evaluate_labelled, read_labelled_csv
from hallmark.policies import load_policy

DATA = Path(__file__).resolve().parents[1] / "data"


def test_read_and_tally(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text(
        "prompt,label,category\na naked man,unsafe,sexual\nchicken breast,safe,sexual\na cat,0,\nnude heels,1,sexual\n"
    )
    rows = read_labelled_csv(f)
    assert [r.positive for r in rows] == [True, False, False, True]
    result = evaluate_labelled(PromptFilter.from_policy(load_policy("default")).evaluate, rows)
    sexual = result.categories["sexual"]
    assert (sexual.tp, sexual.fp, sexual.fn, sexual.tn) == (1, 0, 1, 1)
    assert sexual.recall == 0.5 and sexual.precision == 1.0 and sexual.fp_rate == 0.0
    assert [r.prompt for r in result.false_negatives] == ["nude heels"]
    assert result.to_dict()["overall"]["tp"] == 1


def test_bad_csv_rows_name_their_line(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("prompt,label\na,unsafe\nb,maybe\n")
    with pytest.raises(InputError, match=r"t.csv:3: unknown label 'maybe'"):
        read_labelled_csv(f)
    g = tmp_path / "g.csv"
    g.write_text("text,verdict\na,b\n")
    with pytest.raises(InputError, match="header must name the columns"):
        read_labelled_csv(g)
    with pytest.raises(InputError, match="cannot read"):
        read_labelled_csv(tmp_path / "missing.csv")


def test_the_labelled_set_is_big_enough() -> None:
    explicit = read_labelled_csv(DATA / "policy_explicit.csv")
    near = read_labelled_csv(DATA / "policy_near_miss.csv")
    assert len(explicit) >= 200 and all(r.positive for r in explicit)
    assert len(near) >= 150 and not any(r.positive for r in near)
    assert len({r.category for r in explicit}) >= 10


def test_default_pack_meets_its_targets_on_the_labelled_set() -> None:
    decide = PromptFilter.from_policy(load_policy("default")).evaluate
    explicit = evaluate_labelled(decide, read_labelled_csv(DATA / "policy_explicit.csv"))
    near = evaluate_labelled(decide, read_labelled_csv(DATA / "policy_near_miss.csv"))
    assert explicit.overall.recall is not None and explicit.overall.recall >= 0.95
    assert near.overall.fp_rate is not None and near.overall.fp_rate <= 0.02


def test_default_pack_false_positives_on_parti(shared_data: Path) -> None:
    import csv

    with (shared_data / "prompts" / "parti_dev.csv").open(newline="", encoding="utf-8") as f:
        prompts = [r["prompt"] for r in csv.DictReader(f)]
    decide = PromptFilter.from_policy(load_policy("default")).evaluate
    from hallmark.guardrails import caught_by

    flagged = [p for p in prompts if caught_by(decide(p))]
    assert len(flagged) / len(prompts) <= 0.01, flagged[:5]
