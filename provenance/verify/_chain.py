"""The ``chain`` line of a report: what an edited image was edited from."""

from __future__ import annotations

from hallmark.checks import CheckStatus

from ..c2pa import C2paReading
from ._report import Check


def chain_sentence(c2pa: C2paReading) -> str:
    """'edited with AI (hallmark record R) from an image signed by X on DATE', or '' when the
    active manifest records no edit of a parent image."""
    edited = any(a.get("action") in ("c2pa.edited", "c2pa.opened") for a in c2pa.actions)
    if not c2pa.chain and not edited:
        return ""
    how = "edited with AI" if c2pa.ai_generated else "edited"
    record = (c2pa.hallmark_policy or {}).get("record_id")
    made = f" (hallmark record {record})" if record else ""
    parents = "; ".join(link.sentence for link in c2pa.chain) or "from an image it does not name"
    return f"{how}{made} {parents}"


def chain_checks(c2pa: C2paReading) -> list[Check]:
    """One ``chain`` line for an edited image (none for an image drawn from nothing).  It only
    describes the manifest; the verdict does not depend on it."""
    sentence = chain_sentence(c2pa)
    if not sentence or not c2pa.present:
        return []
    codes = tuple(dict.fromkeys(c for link in c2pa.chain for c in link.recorded_codes))
    return [
        Check(
            "chain",
            CheckStatus.CHECKED,
            sentence[0].upper() + sentence[1:] + ".",
            codes=codes,
            details={"links": [link.to_dict() for link in c2pa.chain]},
        )
    ]
