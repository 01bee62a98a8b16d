"""scripts/build_people.py and what it shipped: the registry, the held-out tenth, the role table."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hallmark.guardrails._people import Entry, Registry, bundled_registry, name_keys

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("build_people", REPO / "scripts" / "build_people.py")
assert _spec is not None and _spec.loader is not None
build_people = importlib.util.module_from_spec(_spec)
sys.modules["build_people"] = build_people  # its dataclasses look their module up
_spec.loader.exec_module(build_people)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load((bundled_registry(),))


def _has(registry: Registry, kind: str, key: str) -> bool:
    if kind == "C":
        return bool(registry._cjk is not None and registry._cjk.exists(key))  # type: ignore[attr-defined]
    return key in (registry.latin if kind == "L" else registry.native)


def test_the_registry_holds_the_counts_its_sources_file_states(registry: Registry) -> None:
    kinds = [e.kind for e in registry.entries]
    assert kinds.count("P") >= 50_000
    assert kinds.count("A") + kinds.count("T") >= 34_000
    assert len(registry.given) > 1_000 and len(registry.everyday) > 10_000
    assert bundled_registry().stat().st_size < 4 * 2**20
    assert "54,851 people" in (REPO / "policies" / "data" / "SOURCES.md").read_text(encoding="utf-8")


def test_every_seed_name_is_in_the_registry(registry: Registry) -> None:
    seed = yaml.safe_load((REPO / "scripts" / "people" / "seed.yaml").read_text(encoding="utf-8"))
    for row in seed["people"] + seed["artists"]:
        for name in row["names"]:
            for kind, key in name_keys(str(name)):
                assert _has(registry, kind, key), f"{name} ({kind}{key}) is missing"


def test_no_held_out_name_is_in_the_registry(registry: Registry) -> None:
    with gzip.open(REPO / "bench" / "data" / "people_holdout.tsv.gz", "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) > 5_000
    assert {r["script"] for r in rows} >= {"latin", "cyrillic", "cjk", "arabic"}
    for row in rows:
        for kind, key in name_keys(row["name"]):
            assert not _has(registry, kind, key), f"held-out {row['name']} is in the registry"


def test_the_role_table_is_what_the_script_generates() -> None:
    shipped = (REPO / "policies" / "lists" / "people.roles.txt").read_text(encoding="utf-8")
    assert shipped == build_people.roles()
    assert "the president of france" in shipped.splitlines() and "法国总统" in shipped.splitlines()


def test_one_line_per_entity_with_folded_keys(tmp_path: Path) -> None:
    words = {"grace", "rose"}
    person = build_people.Entity("P", "ep:1", "France", born=1977)
    person.add("Emmanuel Macron")
    person.add("Эмманюэль Макрон")
    person.add("马克龙")
    line = build_people.encode(person, words)
    assert line is not None
    kind, born, died, country, name, keys = line.split("\t")
    assert (kind, born, died, country, name) == ("P", "1977", "", "France", "Emmanuel Macron")
    assert {"Lemmanuel macron", "Nэмманюэль макрон", "C马克龙"} <= set(keys.split("|"))
    common = build_people.Entity("P", "ep:2", "UK")
    common.add("Grace Rose")
    assert "L!grace rose" in (build_people.encode(common, words) or "")
    registry = Registry()
    registry.add(Entry("P", name, 1977, None, country), keys.split("|"))
    registry.finish()
    assert registry.latin["emmanuel macron"] == 0


def test_held_out_is_a_stable_tenth() -> None:
    people = [build_people.Entity("P", f"ep:{i}", "X") for i in range(5_000)]
    share = sum(build_people.held_out(e) for e in people) / len(people)
    assert 0.08 < share < 0.12
    assert not build_people.held_out(build_people.Entity("P", "seed:people:0", "X", seed=True))


def test_check_mode_needs_the_sources() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_people.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2 and "--everypolitician" in run.stderr
