"""Prompt policy benchmark: quality and speed of hallmark's PromptFilter beside a naive baseline.

The baseline, measured in the same run, is the policy's own term and name lists matched as plain
lowercase substrings, without normalisation, allowlists, regexes or PII: what most deployed
word filters do.  Sets:

- tests/data/policy_explicit.csv: explicit requests written for hallmark (recall);
- the same prompts disguised four ways (zero-width, look-alikes, full-width, leetspeak);
- tests/data/policy_near_miss.csv: near misses a naive filter blocks (false-positive rate);
- ../shared/data/prompts/parti_dev.csv: benign PartiPrompts (false-positive rate);
- ../shared/data/prompts/i2p_dev.csv: I2P, per category and the ``hard`` subset, as information
  only (its prompts tend to *produce* unsafe images; most do not *ask* for them);
- ../shared/data/pii/presidio_synth_v2.csv: recall per PII pattern entity.

Run: ``PYTHONPATH=. OMP_NUM_THREADS=1 python bench/policy_eval.py [--policy default]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hallmark.guardrails import PromptFilter, caught_by, read_labelled_csv  # noqa: E402
from hallmark.policies import Policy, load_policy  # noqa: E402

SHARED = Path(os.environ.get("HALLMARK_SHARED_DATA", REPO.parent / "shared" / "data"))
_CYRILLIC = str.maketrans("aceopxyi", "асеорхуі")
_FULL = {c: chr(ord(c) + 0xFEE0) for c in map(chr, range(0x21, 0x7F))}
_LEET = str.maketrans("aeiost", "431057")
# presidio-research labels that correspond to a presidio pattern entity.
_PII_LABELS = {"DOMAIN_NAME": "URL"}


class Baseline:
    """The policy's term lists as lowercase substrings, per category, nothing else."""

    def __init__(self, policy: Policy) -> None:
        self.terms: list[tuple[str, str]] = []
        for name, cat in policy.prompt.categories.items():
            for det in cat.detectors:
                for term in getattr(det, "terms", ()):
                    if cat.actions.for_severity(det.severity) != "allow":
                        self.terms.append((term.lower(), name))

    def categories(self, prompt: str) -> tuple[str, ...]:
        low = prompt.lower()
        return tuple(sorted({cat for term, cat in self.terms if term in low}))


def _read_prompts(path: Path, **where: str) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if all(r.get(k) == v for k, v in where.items())]


def _disguise(prompt: str) -> list[str]:
    return [
        "\u200b".join(prompt),
        prompt.translate(_CYRILLIC),
        "".join(_FULL.get(c, c) for c in prompt),
        prompt.translate(_LEET),
    ]


def _rate(hits: int, total: int) -> str:
    return f"{hits / total:.3f}" if total else "-"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "inf"


def quality(filt: PromptFilter, base: Baseline, sets: dict[str, tuple[list[str], bool]]) -> list[str]:
    lines = [
        "| set | n | expected | hallmark rate | baseline rate |",
        "|---|---|---|---|---|",
    ]
    for name, (prompts, positive) in sets.items():
        ours = sum(bool(caught_by(filt.evaluate(p))) for p in prompts)
        theirs = sum(bool(base.categories(p)) for p in prompts)
        what = "recall" if positive else "FP rate"
        lines.append(
            f"| {name} | {len(prompts)} | {what} | {_rate(ours, len(prompts))} | {_rate(theirs, len(prompts))} |"
        )
    return lines


def per_category(filt: PromptFilter, base: Baseline, path: Path) -> list[str]:
    rows = read_labelled_csv(path)
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        t = tally[row.category]
        t[0] += 1
        t[1] += bool(caught_by(filt.evaluate(row.prompt)))
        t[2] += bool(base.categories(row.prompt))
    lines = ["| category | n | hallmark | baseline |", "|---|---|---|---|"]
    for cat, (n, ours, theirs) in sorted(tally.items()):
        lines.append(f"| {cat} | {n} | {_rate(ours, n)} | {_rate(theirs, n)} |")
    return lines


def i2p(filt: PromptFilter, base: Baseline) -> list[str]:
    path = SHARED / "prompts" / "i2p_dev.csv"
    if not path.is_file():
        return ["(i2p_dev.csv not found: skipped)"]
    rows = _read_prompts(path)
    groups: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        for cat in r["category"].split(";"):
            groups[cat].append(r["prompt"])
        if r.get("hard") == "1":
            groups["(hard subset)"].append(r["prompt"])
        groups["(all)"].append(r["prompt"])
    lines = [
        "| I2P category | n | hallmark any finding | hallmark blocked | baseline caught |",
        "|---|---|---|---|---|",
    ]
    for cat, prompts in sorted(groups.items()):
        decisions = [filt.evaluate(p) for p in prompts]
        ours = sum(bool(caught_by(d)) for d in decisions)
        blocked = sum(d.blocked for d in decisions)
        theirs = sum(bool(base.categories(p)) for p in prompts)
        n = len(prompts)
        lines.append(f"| {cat} | {n} | {_rate(ours, n)} | {_rate(blocked, n)} | {_rate(theirs, n)} |")
    return lines


def pii(filt: PromptFilter) -> list[str]:
    path = SHARED / "pii" / "presidio_synth_v2.csv"
    if not path.is_file():
        return ["(presidio_synth_v2.csv not found: skipped)"]
    checked = set(filt._pii_actions)  # the entities this policy checks
    import re

    naive = {
        "EMAIL_ADDRESS": re.compile(r"\S+@\S+"),
        "PHONE_NUMBER": re.compile(r"\+?\d[\d\s().-]{6,}\d"),
        "CREDIT_CARD": re.compile(r"\d[\d -]{11,}\d"),
        "US_SSN": re.compile(r"\d{3}-\d{2}-\d{4}"),
        "IP_ADDRESS": re.compile(r"\d+\.\d+\.\d+\.\d+"),
        "IBAN_CODE": re.compile(r"[A-Z]{2}\d{2}[A-Z0-9 ]{10,}"),
        "URL": re.compile(r"https?://\S+|www\.\S+"),
    }
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # n, redacted, typed, baseline
    for row in _read_prompts(path):
        spans = json.loads(row["spans_json"])
        wanted = [(s, _PII_LABELS.get(s["type"], s["type"])) for s in spans]
        wanted = [(s, t) for s, t in wanted if t in checked]
        if not wanted:
            continue
        decision = filt.evaluate(row["text"])
        got = [
            (f.span, f.rule_id.removeprefix("pii."))
            for f in decision.findings
            if f.detector == "pii" and f.span
        ]
        for s, entity in wanted:
            t = found[entity]
            t[0] += 1
            overlap = [e for (a, b), e in got if a < s["end"] and s["start"] < b]
            t[1] += bool(overlap)
            t[2] += entity in overlap
            pattern = naive.get(entity)
            if pattern is not None:
                t[3] += any(
                    m.start() < s["end"] and s["start"] < m.end() for m in pattern.finditer(row["text"])
                )
    lines = [
        "| PII entity | n | redacted (any type) | typed recall | naive regex baseline |",
        "|---|---|---|---|---|",
    ]
    for entity, (n, red, typed, naive_hits) in sorted(found.items()):
        base = _rate(naive_hits, n) if entity in naive else "-"
        lines.append(f"| {entity} | {n} | {_rate(red, n)} | {_rate(typed, n)} | {base} |")
    return lines


def speed(fn: Callable[[str], object], prompts: list[str], *, rounds: int = 3) -> tuple[float, float, float]:
    """(prompts/s, p50 ms, p99 ms) over ``rounds`` passes (the first pass warms caches)."""
    for p in prompts[:50]:
        fn(p)
    latencies = []
    start = time.perf_counter()
    for _ in range(rounds):
        for p in prompts:
            t0 = time.perf_counter_ns()
            fn(p)
            latencies.append(time.perf_counter_ns() - t0)
    elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] / 1e6
    return len(latencies) / elapsed, statistics.median(latencies) / 1e6, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="default")
    parser.add_argument("--skip-i2p", action="store_true")
    parser.add_argument("--semantic", action="store_true", help="also time the optional semantic detector")
    args = parser.parse_args()

    t0 = time.perf_counter()
    policy = load_policy(args.policy)
    filt = PromptFilter.from_policy(policy)
    build_ms = (time.perf_counter() - t0) * 1e3
    base = Baseline(policy)
    explicit = [r.prompt for r in read_labelled_csv(REPO / "tests/data/policy_explicit.csv")]
    near = [r.prompt for r in read_labelled_csv(REPO / "tests/data/policy_near_miss.csv")]
    parti_path = SHARED / "prompts" / "parti_dev.csv"
    parti = [r["prompt"] for r in _read_prompts(parti_path)] if parti_path.is_file() else []
    disguised = [d for p in explicit for d in _disguise(p)]

    print(f"# policy_eval: policy {policy.id} ({policy.digest[:12]}), filter built in {build_ms:.0f} ms")
    print(f"baseline: {len(base.terms)} list terms as lowercase substrings\n")
    print("## Quality (a prompt counts when any policy finding is not `allow`)\n")
    sets = {
        "explicit requests": (explicit, True),
        "explicit, disguised x4": (disguised, True),
        "near misses": (near, False),
        "PartiPrompts (benign)": (parti, False),
    }
    print("\n".join(quality(filt, base, sets)))
    print("\n### Explicit and near-miss sets per category (rate flagged)\n")
    print("\n".join(per_category(filt, base, REPO / "tests/data/policy_explicit.csv")))
    print()
    print("\n".join(per_category(filt, base, REPO / "tests/data/policy_near_miss.csv")))
    if not args.skip_i2p:
        print("\n### I2P (information only: prompts likely to produce unsafe images)\n")
        print("\n".join(i2p(filt, base)))
    print("\n### PII recall on presidio_synth_v2 (entities the policy checks)\n")
    print("\n".join(pii(filt)))

    workload = near + parti + explicit
    ours = speed(filt.evaluate, workload)
    theirs = speed(base.categories, workload)
    print("\n## Speed (one process, single thread; near misses + Parti + explicit)\n")
    print("| | prompts/s | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    print(f"| hallmark PromptFilter | {ours[0]:.0f} | {ours[1]:.3f} | {ours[2]:.3f} |")
    print(f"| baseline substrings | {theirs[0]:.0f} | {theirs[1]:.3f} | {theirs[2]:.3f} |")
    print(f"| ratio (baseline/hallmark speed) | {_ratio(theirs[0], ours[0])} | | |")
    if args.semantic:
        semantic_section(policy, base, explicit, near, parti)


_CONCEPTS = {
    "violence": [
        "a person being violently killed with blood everywhere",
        "graphic gore and mutilated bodies",
    ],
    "sexual": ["sexually explicit pornographic image of naked people", "a nude person exposing their body"],
    "self_harm": ["a person hurting themselves or attempting suicide"],
}


def semantic_section(
    policy: Policy, base: Baseline, explicit: list[str], near: list[str], parti: list[str]
) -> None:
    """The same pack plus a semantic detector (threshold 0.4) on three categories."""
    data = policy.model_dump(mode="json")
    data["id"] = f"{policy.id}+semantic"
    for cat, concepts in _CONCEPTS.items():
        det = {
            "type": "semantic",
            "id": "paraphrase",
            "severity": "high",
            "concepts": concepts,
            "threshold": 0.4,
        }
        data["prompt"]["categories"][cat]["detectors"].append(det)
    filt = PromptFilter.from_policy(Policy.model_validate(data))
    t0 = time.perf_counter()
    filt.evaluate("warm up the model")
    load_s = time.perf_counter() - t0
    print(f"\n## With the semantic detector (all-MiniLM-L6-v2; model load {load_s:.1f} s)\n")
    sets = {
        "explicit requests": (explicit, True),
        "near misses": (near, False),
        "PartiPrompts (benign)": (parti, False),
    }
    print("\n".join(quality(filt, base, sets)))
    rate, p50, p99 = speed(filt.evaluate, near + explicit[:100], rounds=1)
    print(f"\nsemantic: {rate:.0f} prompts/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
