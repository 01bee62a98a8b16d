"""Filters that look inside entries, statistics and exports.

Entries are matched on the shape the pipeline writes: ``data.decisions`` holds one decision per
stage (``{"prompt": {"action": ..., "findings": [{"category": ...}]}, "image": ...}``), ``data.model``
and ``data.policy.digest``.  The matchers search nested values so that a list of per-image
decisions matches as well as a single one.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import IO, Any

from hallmark.errors import AuditError

from ._entry import AuditStats, Entry

EXPORT_FORMATS = ("jsonl", "csv")
CSV_COLUMNS = (
    "index",
    "created",
    "kind",
    "record_id",
    "sha256",
    "payload",
    "model",
    "policy_digest",
    "leaf_hash",
    "data",
)


def values_of(obj: Any, key: str) -> Iterator[Any]:
    """Every value stored under ``key`` anywhere inside nested dicts and lists."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                yield v
            yield from values_of(v, key)
    elif isinstance(obj, list):
        for v in obj:
            yield from values_of(v, key)


def categories(entry: Entry) -> set[str]:
    out: set[str] = set()
    for v in values_of(entry.data, "category"):
        if isinstance(v, str):
            out.add(v)
    for v in values_of(entry.data, "categories"):
        if isinstance(v, list):
            out.update(x for x in v if isinstance(x, str))
    return out


def decisions_of(entry: Entry) -> list[str]:
    """``stage.action`` for each stage's decision (``prompt.block``, ``image.allow``).

    Only a stage's own action counts, not the actions of the findings inside it.
    """
    found = entry.data.get("decisions")
    if not isinstance(found, dict):
        return []
    out = []
    for stage, decision in found.items():
        items = decision if isinstance(decision, list) else [decision]
        for item in items:
            action = item.get("action") if isinstance(item, dict) else item
            if isinstance(action, str):
                out.append(f"{stage}.{action}")
    return out


def model_of(entry: Entry) -> str | None:
    model = entry.data.get("model")
    if isinstance(model, dict):
        model = model.get("id") or model.get("name")
    return model if isinstance(model, str) else None


def policy_of(entry: Entry) -> tuple[str | None, str | None]:
    """(``id@version``, digest) of the policy an entry was decided under."""
    policy = entry.data.get("policy")
    if not isinstance(policy, dict):
        return None, None
    label = f"{policy.get('id')}@{policy.get('version')}" if policy.get("id") else None
    digest = policy.get("digest")
    return label, digest if isinstance(digest, str) else None


def verdict_of(entry: Entry) -> str:
    """The outcome an entry records: released, blocked, failed or erased (the kind's second word)."""
    return entry.kind.rpartition(".")[2]


def matches(
    entry: Entry,
    *,
    category: str | None,
    policy_digest: str | None,
    model: str | None,
    verdict: str | None,
    action: str | None,
) -> bool:
    if category is not None and category not in categories(entry):
        return False
    if policy_digest is not None and not (policy_of(entry)[1] or "").startswith(policy_digest):
        return False
    if model is not None and model_of(entry) != model:
        return False
    if verdict is not None and verdict_of(entry) != verdict:
        return False
    if action is not None and not any(d.endswith("." + action) or d == action for d in decisions_of(entry)):
        return False
    return True


def compute_stats(entries: Iterable[Entry]) -> AuditStats:
    """Count entries per kind, decision, category, policy, model and day."""
    kinds: Counter[str] = Counter()
    decided: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    policies: Counter[str] = Counter()
    models: Counter[str] = Counter()
    days: Counter[str] = Counter()
    total = 0
    for e in entries:
        total += 1
        kinds[e.kind] += 1
        decided.update(decisions_of(e))
        cats.update(categories(e))
        label = policy_of(e)[0]
        if label:
            policies[label] += 1
        model = model_of(e)
        if model:
            models[model] += 1
        days[e.created[:10]] += 1
    return AuditStats(
        total=total,
        by_kind=dict(kinds.most_common()),
        by_decision=dict(decided.most_common()),
        by_category=dict(cats.most_common()),
        by_policy=dict(policies.most_common()),
        by_model=dict(models.most_common()),
        by_day=dict(sorted(days.items())),
    )


def write_export(entries: Iterable[Entry], out: IO[str], *, fmt: str, include_personal: bool) -> int:
    """Write entries as JSON lines or CSV; return how many were written."""
    if fmt not in EXPORT_FORMATS:
        raise AuditError(f"unknown export format {fmt!r}; known: {', '.join(EXPORT_FORMATS)}")
    count = 0
    if fmt == "jsonl":
        for e in entries:
            out.write(
                json.dumps(e.to_dict(include_personal=include_personal), ensure_ascii=False, sort_keys=True)
            )
            out.write("\n")
            count += 1
        return count
    columns = CSV_COLUMNS + (("personal",) if include_personal else ())
    writer = csv.writer(out)
    writer.writerow(columns)
    for e in entries:
        row = [
            e.index,
            e.created,
            e.kind,
            e.data.get("record_id", ""),
            e.data.get("sha256", ""),
            e.data.get("payload", ""),
            model_of(e) or "",
            policy_of(e)[1] or "",
            e.leaf_hash,
            json.dumps(e.data, ensure_ascii=False, sort_keys=True),
        ]
        if include_personal:
            row.append(json.dumps(e.personal, ensure_ascii=False, sort_keys=True) if e.personal else "")
        writer.writerow(row)
        count += 1
    return count
