"""The chain of an edited image: the images its active manifest names as ``parentOf`` ingredients.

c2pa embeds an ingredient's own manifest store in the edited image's store, so the Reader's JSON
holds the parent's manifest (its signer, when it was signed, its hallmark record when hallmark
made it); an ingredient without credentials is named by its title alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._codes import DISQUALIFYING, classify

_AI = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
)


@dataclass(frozen=True)
class ChainLink:
    """One parent of the active manifest: whether it carried credentials and, if so, who signed
    them and when, and the hallmark record it was released under (when hallmark made it)."""

    title: str
    has_manifest: bool
    signer: str | None = None
    issuer: str | None = None
    signed_at: str | None = None
    record_id: str | None = None
    ai_generated: bool = False
    recorded_codes: tuple[str, ...] = ()

    @property
    def sentence(self) -> str:
        """'from an image signed by X on DATE' or 'from an image with no provenance'."""
        if not self.has_manifest:
            return "from an image with no provenance"
        who = self.signer or "an unnamed signer"
        when = f" on {self.signed_at}" if self.signed_at else ""
        made = f" (hallmark record {self.record_id})" if self.record_id else ""
        broken = [c for c in self.recorded_codes if classify(c).code_class in DISQUALIFYING]
        # What c2pa recorded when the parent was taken in: history, not a finding about this image.
        note = (
            f", whose credentials did not validate when it was edited ({', '.join(broken)})" if broken else ""
        )
        return f"from an image{made} signed by {who}{when}{note}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "has_manifest": self.has_manifest,
            "signer": self.signer,
            "issuer": self.issuer,
            "signed_at": self.signed_at,
            "record_id": self.record_id,
            "ai_generated": self.ai_generated,
            "recorded_codes": list(self.recorded_codes),
            "sentence": self.sentence,
        }


def read_chain(store: dict[str, Any], active: dict[str, Any]) -> tuple[ChainLink, ...]:
    """The ``parentOf`` ingredients of ``active`` (a manifest of the Reader's ``store``)."""
    manifests = store.get("manifests") or {}
    links = []
    for ing in active.get("ingredients") or ():
        if not isinstance(ing, dict) or ing.get("relationship") != "parentOf":
            continue
        label = ing.get("active_manifest")
        parent = manifests.get(label) if isinstance(label, str) and isinstance(manifests, dict) else None
        # Recorded when it was taken in: validation_status (v2), validation_results (v3).
        results = (ing.get("validation_results") or {}).get("activeManifest") or {}
        entries = [*(ing.get("validation_status") or ()), *(results.get("failure") or ())]
        codes = tuple(dict.fromkeys(str(c.get("code")) for c in entries if isinstance(c, dict)))
        if not isinstance(parent, dict):
            links.append(ChainLink(str(ing.get("title", "")), has_manifest=False, recorded_codes=codes))
            continue
        sig = parent.get("signature_info") or {}
        record, ai = None, False
        for a in parent.get("assertions") or ():
            data = a.get("data") if isinstance(a, dict) else None
            if not isinstance(data, dict):
                continue
            if a.get("label") == "org.hallmark.policy" and data.get("record_id"):
                record = str(data["record_id"])
            if str(a.get("label", "")).startswith("c2pa.actions"):
                ai = ai or any(
                    isinstance(x, dict) and x.get("digitalSourceType") in _AI
                    for x in data.get("actions") or ()
                )
        links.append(
            ChainLink(
                str(ing.get("title", "")),
                has_manifest=True,
                signer=sig.get("common_name"),
                issuer=sig.get("issuer"),
                signed_at=sig.get("time"),
                record_id=record,
                ai_generated=ai,
                recorded_codes=codes,
            )
        )
    return tuple(links)
