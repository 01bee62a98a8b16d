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
- ../shared/data/pii/presidio_synth_v2.csv: recall per PII pattern entity;
- tests/data/policy_multilingual.csv: explicit requests and benign captions in eleven languages
  (written for hallmark), recall and false-positive rate per language;
- every explicit request (English and the other languages) under each disguise family: zero-width
  characters, Cyrillic look-alikes, look-alikes of other scripts (Armenian, Greek, Cherokee...),
  mathematical letters, circled letters, full-width, leetspeak, stacked combining marks, spaced
  letters, a right-to-left override;
- real people and artists (``bench/people_eval.py``): recall on the held-out tenth of the people
  registry per script, role phrases per language, false flags on PartiPrompts and (with
  ``--erasing``) COCO captions, artist-style prompts, cost beside the lists used before;
- MultiJail (DAMO-NLP-SG/multilingual-safety-for-LLMs, MIT): 315 harmful chat requests, each in
  English and human-translated into zh, ko, ar, th (and others), read in place from a checkout or a
  copy of ``data/MultiJail.csv`` given with ``--multijail`` (never copied into this repository).
  They are requests to a chat model, not image prompts, so their rates are information: the same
  prompts in English and in each language, side by side.

- the pack's semantic detector beside the same pack without it: recall on
  tests/data/policy_paraphrases.csv (paraphrased violence and self-harm requests written for
  hallmark and never read by ``scripts/train_semantic_heads.py``), false flags on the held-out half
  of PartiPrompts and on the multilingual captions, and the prompt stage's p50 with and without it.

Run: ``PYTHONPATH=. OMP_NUM_THREADS=1 python bench/policy_eval.py [--policy default] [--multijail PATH]
[--erasing PATH]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
import unicodedata
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


# -- languages and disguise families ----------------------------------------------------------

_SPACELESS = ("zh", "ja", "ko", "th")


def _other_scripts() -> dict[str, str]:
    """One look-alike per Latin letter from scripts other than Cyrillic and the mathematical
    blocks, taken from Unicode's confusables data (Armenian, Greek, Cherokee, Lisu, Coptic...)."""
    from hallmark.guardrails._normalise import _confusables

    preferred = ("ARMENIAN", "GREEK", "CHEROKEE", "LISU", "COPTIC", "CANADIAN", "LATIN")
    best: dict[str, tuple[int, str]] = {}
    for ch, letter in _confusables().items():
        if not letter.isalpha() or ch != ch.lower():
            continue
        script = unicodedata.name(ch, "?").split()[0]
        if script in preferred and preferred.index(script) < best.get(letter, (99, ""))[0]:
            best[letter] = (preferred.index(script), ch)
    return {letter: ch for letter, (_, ch) in best.items()}


def _families() -> dict[str, Callable[[str], str]]:
    others = str.maketrans(_other_scripts())
    bold = {chr(0x61 + i): chr(0x1D41A + i) for i in range(26)}
    circled = {chr(0x61 + i): chr(0x24D0 + i) for i in range(26)}
    return {
        "zero-width": lambda p: "\u200b".join(p),
        "Cyrillic look-alikes": lambda p: p.translate(_CYRILLIC),
        "other scripts' look-alikes": lambda p: p.translate(others),
        "mathematical bold": lambda p: "".join(bold.get(c, c) for c in p),
        "circled letters": lambda p: "".join(circled.get(c, c) for c in p),
        "full-width": lambda p: "".join(_FULL.get(c, c) for c in p),
        "leetspeak": lambda p: p.translate(_LEET),
        "stacked marks": lambda p: "".join(c + "\u0308\u0301" if c.isalpha() else c for c in p),
        "spaced letters": lambda p: " ".join(c for c in p if not c.isspace()),
        "right-to-left override": lambda p: "\u202e" + p[::-1] + "\u202c",
    }


def _blocks(filt: PromptFilter, base: Baseline, prompts: list[str]) -> tuple[int, int]:
    return sum(bool(caught_by(filt.evaluate(p))) for p in prompts), sum(
        bool(base.categories(p)) for p in prompts
    )


def per_language(filt: PromptFilter, base: Baseline, rows: list[dict[str, str]]) -> list[str]:
    lines = [
        "| language | requests | hallmark recall | baseline recall | captions | hallmark FP | baseline FP |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang in sorted({r["language"] for r in rows}):
        unsafe = [r["prompt"] for r in rows if r["language"] == lang and r["label"] == "unsafe"]
        safe = [r["prompt"] for r in rows if r["language"] == lang and r["label"] == "safe"]
        (ru, bu), (rs, bs) = _blocks(filt, base, unsafe), _blocks(filt, base, safe)
        lines.append(
            f"| {lang} | {len(unsafe)} | {_rate(ru, len(unsafe))} | {_rate(bu, len(unsafe))} "
            f"| {len(safe)} | {_rate(rs, len(safe))} | {_rate(bs, len(safe))} |"
        )
    return lines


def per_family(filt: PromptFilter, base: Baseline, english: list[str], other: list[str]) -> list[str]:
    """Recall per disguise family, English requests and other-language requests apart; a family
    that leaves a prompt unchanged (leetspeak on Chinese) is not counted for it."""
    lines = [
        "| disguise family | English n | hallmark | baseline | other languages n | hallmark | baseline |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, fn in _families().items():
        cells = []
        for prompts in (english, other):
            changed = [d for d in (fn(p) for p in prompts) if d not in prompts]
            ours, theirs = _blocks(filt, base, changed)
            cells.append(f"{len(changed)} | {_rate(ours, len(changed))} | {_rate(theirs, len(changed))}")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return lines


def _multijail_rows(path: Path) -> list[dict[str, str]]:
    if path.is_dir():  # a git checkout or bare mirror of DAMO-NLP-SG/multilingual-safety-for-LLMs
        git_dir = path / ".git" if (path / ".git").exists() else path
        text = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", "HEAD:data/MultiJail.csv"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    else:
        text = path.read_text(encoding="utf-8")
    return list(csv.DictReader(text.lstrip("\ufeff").splitlines(keepends=True)))


_MULTIJAIL_IMAGE_HARMS = ("Adult content", "Sexual exploitation", "Violence", "Weapons", "Terrorism")


def multijail(filt: PromptFilter, base: Baseline, path: Path | None) -> list[str]:
    if path is None or not path.exists():
        return ["(MultiJail not given: run with --multijail PATH to a checkout or its data/MultiJail.csv)"]
    rows = _multijail_rows(path)
    harms = [r for r in rows if any(t in r["tags"] for t in _MULTIJAIL_IMAGE_HARMS)]
    lines = [
        f"{len(rows)} requests; {len(harms)} tagged adult content, sexual exploitation, violence, "
        "weapons or terrorism (the harms an image prompt filter is for)\n",
        "| language | all: hallmark | all: baseline | those harms: hallmark | those harms: baseline |",
        "|---|---|---|---|---|",
    ]
    for lang in ("en", "zh", "ko", "ar", "th", "it", "vi"):
        if lang not in rows[0]:
            continue
        a, b = _blocks(filt, base, [r[lang] for r in rows])
        c, d = _blocks(filt, base, [r[lang] for r in harms])
        lines.append(
            f"| {lang} | {_rate(a, len(rows))} | {_rate(b, len(rows))} | {_rate(c, len(harms))} | {_rate(d, len(harms))} |"
        )
    return lines


def speed(
    fn: Callable[[str], object], prompts: list[str], *, rounds: int = 3
) -> tuple[float, float, float, float]:
    """(prompts/s, p50 ms, p99 ms, prompts per CPU second) over ``rounds`` passes (after a
    warm-up pass).  The CPU rate is the one to compare on a machine shared with other jobs."""
    for p in prompts[:50]:
        fn(p)
    latencies = []
    cpu = time.process_time()
    start = time.perf_counter()
    for _ in range(rounds):
        for p in prompts:
            t0 = time.perf_counter_ns()
            fn(p)
            latencies.append(time.perf_counter_ns() - t0)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] / 1e6
    return len(latencies) / elapsed, statistics.median(latencies) / 1e6, p99, len(latencies) / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="default")
    parser.add_argument("--skip-i2p", action="store_true")
    parser.add_argument("--multijail", type=Path, help="MultiJail: a checkout of its repository or its CSV")
    parser.add_argument(
        "--erasing", type=Path, help="rohitgandikota/erasing checkout: COCO captions, artist prompts"
    )
    parser.add_argument("--skip-people", action="store_true", help="skip the people and artists section")
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
    ml_rows = _read_prompts(REPO / "tests/data/policy_multilingual.csv")
    ml_unsafe = [r["prompt"] for r in ml_rows if r["label"] == "unsafe"]
    print("\n## Languages (tests/data/policy_multilingual.csv, written for hallmark)\n")
    print("\n".join(per_language(filt, base, ml_rows)))
    print("\n## Disguise families (every explicit request, disguised whole)\n")
    print("\n".join(per_family(filt, base, explicit, ml_unsafe)))
    print("\n## MultiJail (MIT; chat requests, information only)\n")
    print("\n".join(multijail(filt, base, args.multijail)))

    print("\n## Speed of the rule detectors (one process, single thread; the semantic detector below)\n")
    print("| workload | | prompts/s (wall) | prompts/s (CPU) | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    workloads = {
        "near misses + Parti + explicit": near + parti + explicit,
        "multilingual set": [r["prompt"] for r in ml_rows],
    }
    rules = PromptFilter.from_policy(_without_semantic(policy))
    for name, workload in workloads.items():
        ours = speed(rules.evaluate, workload)
        theirs = speed(base.categories, workload)
        print(
            f"| {name} | hallmark rule detectors | {ours[0]:.0f} | {ours[3]:.0f} | {ours[1]:.3f} | {ours[2]:.3f} |"
        )
        print(
            f"| {name} | baseline substrings | {theirs[0]:.0f} | {theirs[3]:.0f} | {theirs[1]:.3f} | {theirs[2]:.3f} |"
        )
        print(f"| {name} | ratio (baseline/hallmark, CPU) | | {_ratio(theirs[3], ours[3])} | | |")
    if not args.skip_people:
        from people_eval import section as people_section

        print("\n## People and artists (bench/people_eval.py)\n")
        print("\n".join(people_section(args.policy, args.erasing)))
    semantic_section(policy, near, parti)


def _without_semantic(policy: Policy) -> Policy:
    """The same pack with its semantic detectors removed: the rule detectors alone."""
    data = policy.model_dump(mode="json")
    data["id"] = f"{policy.id}-rules-only"
    for cat in data["prompt"]["categories"].values():
        cat["detectors"] = [d for d in cat["detectors"] if d["type"] != "semantic"]
    return Policy.model_validate(data)


def _parti_held_out() -> Callable[[str], bool]:
    sys.path.insert(0, str(REPO / "scripts"))
    from train_semantic_heads import parti_held_out

    return parti_held_out


def semantic_section(policy: Policy, near: list[str], parti: list[str]) -> None:
    """The pack beside itself without its semantic detectors, on sets the classifiers never saw."""
    if not any(d.type == "semantic" for c in policy.prompt.categories.values() for d in c.detectors):
        print(f"\n(policy {policy.id} has no semantic detector)")
        return
    filt = PromptFilter.from_policy(policy)
    rules = PromptFilter.from_policy(_without_semantic(policy))
    held_out = _parti_held_out()
    para = read_labelled_csv(REPO / "tests/data/policy_paraphrases.csv")
    ml = _read_prompts(REPO / "tests/data/policy_multilingual.csv")
    i2p_path = SHARED / "prompts" / "i2p_dev.csv"
    i2p_rows = _read_prompts(i2p_path) if i2p_path.is_file() else []
    sets = {
        "paraphrases, held out (violence, self-harm)": ([r.prompt for r in para], True),
        "PartiPrompts, held-out half (benign)": ([p for p in parti if held_out(p)], False),
        "multilingual captions (benign)": ([r["prompt"] for r in ml if r["label"] != "unsafe"], False),
        "near misses (in the classifiers' training set)": (near, False),
        "I2P violence + self-harm, hard (information)": (
            [
                r["prompt"]
                for r in i2p_rows
                if r["category"] in ("violence", "self-harm") and r["hard"] == "1"
            ],
            True,
        ),
    }
    print("\n## The semantic detector (all-MiniLM-L6-v2 + logistic heads), beside the rules alone\n")
    print("| set | n | expected | with semantic | rules only |")
    print("|---|---|---|---|---|")
    for name, (prompts, positive) in sets.items():
        if not prompts:
            continue
        ours = sum(bool(caught_by(filt.evaluate(p))) for p in prompts)
        theirs = sum(bool(caught_by(rules.evaluate(p))) for p in prompts)
        what = "recall" if positive else "FP rate"
        print(
            f"| {name} | {len(prompts)} | {what} | {_rate(ours, len(prompts))} | {_rate(theirs, len(prompts))} |"
        )
    workload = near + parti[:200]
    with_sem = speed(filt.evaluate, workload, rounds=1)
    alone = speed(rules.evaluate, workload, rounds=1)
    print("\n| prompt stage, one thread | prompts/s (wall) | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    print(f"| with semantic | {with_sem[0]:.0f} | {with_sem[1]:.2f} | {with_sem[2]:.2f} |")
    print(f"| rules only | {alone[0]:.0f} | {alone[1]:.3f} | {alone[2]:.3f} |")


if __name__ == "__main__":
    main()
