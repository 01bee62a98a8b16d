"""Read and validate the C2PA manifest of a found image with c2pa-python's ``Reader``.

The Reader's JSON is turned into a flat, typed ``C2paReading``: the validation state, every
failure code with where it came from (the active manifest or an ingredient), the signer, what the
manifest declares (AI generation, actions, ingredients, training and mining, our policy
assertion, soft bindings).  c2pa raises rather than returning ``Invalid`` for many broken
manifests, so an exception is classified too: no manifest, a manifest stored remotely, a format
c2pa does not read, or a manifest that is there but cannot be parsed (unreadable, never
"tampered").  What each status code means is decided in one table (``_codes``).
"""

from __future__ import annotations

import io
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from ._chain import ChainLink, read_chain
from ._codes import (
    ASSESSMENT_FOR,
    DISQUALIFYING,
    Assessment,
    CodeClass,
    CodeInfo,
    classify,
    code_for_error,
)
from ._identity import IdentityReading, read_identities
from ._softbinding import SOFT_BINDING_LABEL, binding_from_manifest
from ._trust import TrustConfig

# Digital source types that declare generative AI (IPTC NewsCodes; c2pa's "AI generated" set).
AI_SOURCE_TYPES = frozenset(
    {
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
    }
)
POLICY_LABEL = "org.hallmark.policy"
TRAINING_MINING_LABELS = ("cawg.training-mining", "c2pa.training-mining")

# States a reading can be in.  Trusted/Valid/Invalid are c2pa's; the others are ours.
STATE_TRUSTED = "Trusted"
STATE_VALID = "Valid"
STATE_INVALID = "Invalid"
STATE_UNREADABLE = "unreadable"  # a manifest store is there, but c2pa refused to parse it
STATE_ABSENT = "absent"  # no manifest store in the file
STATE_REMOTE = "remote"  # the file points at a remote manifest that was not fetched
STATE_UNSUPPORTED = "unsupported"  # c2pa does not read this format


@dataclass(frozen=True)
class StatusCode:
    """One validation status code c2pa reported, with its explanation and where it applies."""

    code: str
    explanation: str = ""
    url: str = ""
    where: str = "active"  # "active" manifest, or "ingredient"

    @property
    def info(self) -> CodeInfo:
        """Its class and meaning in the table of codes (``_codes.CODES``)."""
        return classify(self.code, url=self.url)

    def to_dict(self) -> dict[str, str]:
        info = self.info
        return {
            "code": self.code,
            "class": info.code_class.value,
            "meaning": info.meaning,
            "explanation": self.explanation,
            "url": self.url,
            "where": self.where,
        }


def _is_error(code: str) -> bool:
    """An ingredient code that means its credentials are broken (not merely untrusted)."""
    return classify(code).code_class in DISQUALIFYING


@dataclass(frozen=True)
class IngredientInfo:
    """An ingredient of the active manifest: ``recorded_codes`` are the errors the ingredient's
    own validation recorded when it was ingested (history), ``current_codes`` the failures found
    now when its manifest was re-validated."""

    title: str
    relationship: str
    has_manifest: bool
    recorded_codes: tuple[str, ...] = ()
    current_codes: tuple[str, ...] = ()

    @property
    def has_errors(self) -> bool:
        return any(_is_error(c) for c in self.recorded_codes + self.current_codes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "relationship": self.relationship,
            "has_manifest": self.has_manifest,
            "recorded_codes": list(self.recorded_codes),
            "current_codes": list(self.current_codes),
        }


@dataclass(frozen=True)
class C2paReading:
    """What the C2PA manifest of one image says, and whether it validates.

    ``state`` is c2pa's own (Trusted, Valid, Invalid) or ours (absent, remote, unsupported,
    unreadable); ``assessment`` is what the active manifest amounts to once every code is read
    through the table in ``_codes``: the verdict follows the assessment, never the bare state.
    """

    state: str
    failures: tuple[StatusCode, ...] = ()
    ingredient_failures: tuple[StatusCode, ...] = ()
    successes: tuple[str, ...] = ()
    informational: tuple[str, ...] = ()
    signer: str | None = None
    issuer: str | None = None
    alg: str | None = None
    signed_at: str | None = None
    claim_generator: str | None = None
    title: str | None = None
    manifest_label: str | None = None
    manifest_count: int = 0
    digital_source_types: tuple[str, ...] = ()
    actions: tuple[dict[str, Any], ...] = ()
    ingredients: tuple[IngredientInfo, ...] = ()
    training_mining: dict[str, str] = field(default_factory=dict)
    hallmark_policy: dict[str, Any] | None = None
    soft_bindings: tuple[dict[str, str], ...] = ()
    remote_url: str | None = None
    error: str = ""  # the c2pa error text when the Reader raised
    # The active manifest's assertions as c2pa decoded them ({label, data}); only their labels
    # go into to_dict(), the data feeds the regulatory compliance checks.
    assertions: tuple[dict[str, Any], ...] = ()
    # The claim signer (not an identity inside the manifest) chains to a trust anchor.
    signer_trusted: bool = False
    identities: tuple[IdentityReading, ...] = ()
    chain: tuple[ChainLink, ...] = ()  # the parentOf ingredients of an edited image

    @property
    def present(self) -> bool:
        """A manifest store was found (valid or not, whatever state c2pa gave it)."""
        return self.state not in (STATE_ABSENT, STATE_REMOTE, STATE_UNSUPPORTED)

    @property
    def assessment(self) -> Assessment:
        """What the active manifest amounts to: the first disqualifying class among its own
        failures (integrity, credential, structure, not understood), else trusted or valid.
        Identity codes and ingredient failures never disqualify it."""
        if not self.present:
            return {STATE_REMOTE: Assessment.REMOTE, STATE_UNSUPPORTED: Assessment.UNSUPPORTED}.get(
                self.state, Assessment.ABSENT
            )
        classes = {f.info.code_class for f in self.failures}
        for cls in DISQUALIFYING:
            if cls in classes:
                return ASSESSMENT_FOR[cls]
        holds = self.state in (STATE_TRUSTED, STATE_VALID) or (
            self.state == STATE_INVALID and self.signature_validated
        )
        if not holds:
            return Assessment.NOT_UNDERSTOOD  # c2pa calls it invalid for no reason the table knows
        return Assessment.TRUSTED if self.signer_trusted else Assessment.VALID

    @property
    def valid(self) -> bool:
        """The active manifest's own signature and hashes hold, whoever signed it."""
        return self.assessment.valid

    @property
    def ai_generated(self) -> bool:
        return any(t in AI_SOURCE_TYPES for t in self.digital_source_types)

    @property
    def failure_codes(self) -> tuple[str, ...]:
        """Active-manifest failure codes, then ingredient ones prefixed ``ingredient:``."""
        return tuple(f.code for f in self.failures) + tuple(
            f"ingredient:{f.code}" for f in self.ingredient_failures
        )

    @property
    def untrusted(self) -> bool:
        """The claim signer is not in the trust anchors (an identity's own trust is apart)."""
        return not self.signer_trusted and any(
            f.info.code_class is CodeClass.UNTRUSTED for f in self.failures
        )

    def failures_of(self, *classes: CodeClass) -> tuple[str, ...]:
        """The active manifest's failure codes in ``classes``."""
        return tuple(f.code for f in self.failures if f.info.code_class in classes)

    @property
    def content_failures(self) -> tuple[str, ...]:
        """Active failures that mean the image or its manifest changed after signing."""
        return self.failures_of(CodeClass.INTEGRITY)

    @property
    def credential_failures(self) -> tuple[str, ...]:
        """Active failures about the signature or its certificate (expired, revoked, mismatch)."""
        return self.failures_of(CodeClass.CREDENTIAL)

    @property
    def ingredient_errors(self) -> tuple[str, ...]:
        """Errors inside ingredients, recorded at ingest or found now (trust warnings left out)."""
        codes: list[str] = []
        for ing in self.ingredients:
            codes.extend(c for c in ing.recorded_codes + ing.current_codes if _is_error(c))
        codes.extend(f.code for f in self.ingredient_failures if _is_error(f.code))
        return tuple(dict.fromkeys(codes))

    @property
    def signature_validated(self) -> bool:
        return "claimSignature.validated" in self.successes

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "assessment": self.assessment.value,
            "present": self.present,
            "signer_trusted": self.signer_trusted,
            "failure_codes": list(self.failure_codes),
            "failures": [f.to_dict() for f in self.failures + self.ingredient_failures],
            "success_codes": sorted(set(self.successes)),
            "informational_codes": sorted(set(self.informational)),
            "signer": self.signer,
            "issuer": self.issuer,
            "alg": self.alg,
            "signed_at": self.signed_at,
            "claim_generator": self.claim_generator,
            "title": self.title,
            "manifest_label": self.manifest_label,
            "manifest_count": self.manifest_count,
            "ai_generated": self.ai_generated,
            "digital_source_types": list(self.digital_source_types),
            "actions": list(self.actions),
            "ingredients": [i.to_dict() for i in self.ingredients],
            "ingredient_errors": list(self.ingredient_errors),
            "training_mining": dict(self.training_mining),
            "hallmark_policy": self.hallmark_policy,
            "soft_bindings": list(self.soft_bindings),
            "identities": [i.to_dict() for i in self.identities],
            "chain": [link.to_dict() for link in self.chain],
            "remote_url": self.remote_url,
            "assertion_labels": [a["label"] for a in self.assertions],
            "error": self.error,
        }


_contexts: dict[tuple[int, str], Any] = {}
_contexts_lock = threading.Lock()


def _context(trust: TrustConfig) -> Any:
    """One c2pa Context per trust configuration and process (a forked child cannot use its
    parent's native handles)."""
    import c2pa

    key = (os.getpid(), trust.cache_key)
    with _contexts_lock:
        ctx = _contexts.get(key)
        if ctx is None:
            ctx = c2pa.Context.from_dict(trust.c2pa_settings())
            _contexts[key] = ctx
        return ctx


def read_c2pa(
    data: bytes,
    *,
    mime: str | None,
    trust: TrustConfig,
    manifest_data: bytes | None = None,
) -> C2paReading:
    """Validate the C2PA manifest embedded in ``data`` (or ``manifest_data``, a detached
    manifest store, against ``data``) and describe it; never raises for bad input."""
    import c2pa

    if not data:
        return C2paReading(state=STATE_ABSENT, error="empty file")
    try:
        reader = c2pa.Reader(mime, io.BytesIO(data), manifest_data, _context(trust))
        with reader:
            store = json.loads(reader.json())
            remote = None if reader.is_embedded() else reader.get_remote_url()
    except c2pa.C2paError.ManifestNotFound:
        return C2paReading(state=STATE_ABSENT)
    except c2pa.C2paError.NotSupported as e:
        return C2paReading(state=STATE_UNSUPPORTED, error=_message(e))
    except (c2pa.C2paError, ValueError, json.JSONDecodeError) as e:
        text = str(e)
        # c2pa-rs says "Remote: must fetch remote manifests from url ..." (typed RemoteManifest
        # in some versions, the base class in 0.38) when fetching is off and the manifest is remote.
        if isinstance(e, c2pa.C2paError.RemoteManifest) or text.startswith(("Remote:", "RemoteManifest")):
            url = text.split("from url", 1)[1].strip() if "from url" in text else None
            return C2paReading(state=STATE_REMOTE, remote_url=url, error=_message(e))
        # A store that is there but cannot be parsed says nothing either way: it may be broken,
        # or newer or older than this c2pa (a pre-release manifest, an unknown algorithm).  It is
        # reported under the code c2pa-rs gives the same error when it logs it, never as a change
        # after signing.  A file with no C2PA marker at all merely confused the container parser.
        if manifest_data is not None or _has_c2pa_marker(data):
            return C2paReading(
                state=STATE_UNREADABLE,
                failures=(StatusCode(code_for_error(text), _message(e)),),
                error=_message(e),
            )
        return C2paReading(state=STATE_ABSENT, error=_message(e))
    return _describe(store, remote_url=remote)


def _has_c2pa_marker(data: bytes) -> bool:
    return b"jumb" in data and b"c2pa" in data


def _message(e: BaseException) -> str:
    return " ".join(str(e).split())[:300] or type(e).__name__


def _codes(entries: Any, *, where: str) -> tuple[StatusCode, ...]:
    out = []
    for e in entries or ():
        if isinstance(e, dict) and isinstance(e.get("code"), str):
            out.append(StatusCode(e["code"], str(e.get("explanation", "")), str(e.get("url", "")), where))
    return tuple(out)


def _describe(store: dict[str, Any], *, remote_url: str | None) -> C2paReading:
    manifests = store.get("manifests") or {}
    label = store.get("active_manifest")
    active = manifests.get(label) if isinstance(manifests, dict) else None
    state = store.get("validation_state") or (
        STATE_VALID if not store.get("validation_status") else STATE_INVALID
    )
    results = store.get("validation_results") or {}
    am = results.get("activeManifest") or {}
    failures = _codes(am.get("failure"), where="active")
    success_codes = _codes(am.get("success"), where="active")
    info_codes = _codes(am.get("informational"), where="active")
    if not results and store.get("validation_status"):
        # Older readers put everything in validation_status only.
        failures = _codes(store.get("validation_status"), where="active")
    ingredient_failures: list[StatusCode] = []
    deltas_by_uri: dict[str, list[str]] = {}
    for delta in results.get("ingredientDeltas") or ():
        uri = str(delta.get("ingredientAssertionURI", ""))
        codes = _codes((delta.get("validationDeltas") or {}).get("failure"), where="ingredient")
        ingredient_failures.extend(codes)
        deltas_by_uri.setdefault(uri, []).extend(c.code for c in codes)
    if not isinstance(active, dict):
        return C2paReading(
            state=state,
            failures=failures or (StatusCode("claim.missing", "the active manifest is missing"),),
            ingredient_failures=tuple(ingredient_failures),
            manifest_count=len(manifests) if isinstance(manifests, dict) else 0,
            remote_url=remote_url,
        )
    sig = active.get("signature_info") or {}
    actions: list[dict[str, Any]] = []
    source_types: list[str] = []
    training: dict[str, str] = {}
    policy: dict[str, Any] | None = None
    bindings: list[dict[str, str]] = []
    raw: list[dict[str, Any]] = []
    for assertion in active.get("assertions") or ():
        if not isinstance(assertion, dict):
            continue
        alabel = str(assertion.get("label", ""))
        data = assertion.get("data")
        raw.append({"label": alabel, "data": data})
        if alabel.startswith("c2pa.actions") and isinstance(data, dict):
            for act in data.get("actions") or ():
                if not isinstance(act, dict):
                    continue
                dst = act.get("digitalSourceType")
                if isinstance(dst, str):
                    source_types.append(dst)
                agent = act.get("softwareAgent")
                if isinstance(agent, dict):
                    agent = agent.get("name")
                actions.append(
                    {
                        "action": str(act.get("action", "")),
                        "software_agent": agent if isinstance(agent, str) else None,
                        "digital_source_type": dst if isinstance(dst, str) else None,
                    }
                )
        elif alabel.split("__")[0] in TRAINING_MINING_LABELS and isinstance(data, dict):
            for use, entry in (data.get("entries") or {}).items():
                if isinstance(entry, dict) and isinstance(entry.get("use"), str):
                    training[str(use)] = entry["use"]
        elif alabel == POLICY_LABEL and isinstance(data, dict):
            policy = data
        elif alabel.split("__")[0] == SOFT_BINDING_LABEL:
            bindings.extend(binding_from_manifest(data))
    ingredients = []
    for ing in active.get("ingredients") or ():
        if not isinstance(ing, dict):
            continue
        recorded = [c.code for c in _codes(ing.get("validation_status"), where="ingredient")]
        vr = ing.get("validation_results") or {}
        recorded += [
            c.code for c in _codes((vr.get("activeManifest") or {}).get("failure"), where="ingredient")
        ]
        ingredients.append(
            IngredientInfo(
                title=str(ing.get("title", "")),
                relationship=str(ing.get("relationship", "")),
                has_manifest=bool(ing.get("active_manifest") or ing.get("manifest_data")),
                recorded_codes=tuple(dict.fromkeys(recorded)),
            )
        )
    # Attach today's ingredient failures to the ingredients when there is exactly one: the
    # delta's URI names the ingredient assertion, which the Reader JSON does not echo back.
    if len(ingredients) == 1 and deltas_by_uri:
        only = ingredients[0]
        current = tuple(dict.fromkeys(c for codes in deltas_by_uri.values() for c in codes))
        ingredients = [
            IngredientInfo(only.title, only.relationship, only.has_manifest, only.recorded_codes, current)
        ]
    generator = active.get("claim_generator")
    if not generator:
        infos = active.get("claim_generator_info") or ()
        parts = []
        for info in infos:
            if isinstance(info, dict) and info.get("name"):
                parts.append(
                    f"{info['name']}/{info['version']}" if info.get("version") else str(info["name"])
                )
        generator = " ".join(parts) or None
    # The claim signer is trusted when c2pa says so for the claim signature itself: an identity
    # assertion's certificate reports the same codes (c2pa-rs 0.90) or its own, under its own URL.
    signer_trusted = any(
        c.code == "signingCredential.trusted" and not c.info.identity for c in success_codes
    ) and not any(f.info.code_class is CodeClass.UNTRUSTED for f in failures)
    pairs = [(c.code, c.url) for c in success_codes], [(c.code, c.url) for c in failures]
    return C2paReading(
        state=str(state),
        failures=failures,
        ingredient_failures=tuple(ingredient_failures),
        successes=tuple(c.code for c in success_codes),
        informational=tuple(c.code for c in info_codes),
        signer=sig.get("common_name"),
        issuer=sig.get("issuer"),
        alg=sig.get("alg"),
        signed_at=sig.get("time"),
        claim_generator=generator,
        title=active.get("title"),
        manifest_label=label,
        manifest_count=len(manifests),
        digital_source_types=tuple(dict.fromkeys(source_types)),
        actions=tuple(actions),
        ingredients=tuple(ingredients),
        training_mining=training,
        hallmark_policy=policy,
        soft_bindings=tuple(bindings),
        remote_url=remote_url,
        assertions=tuple(raw),
        signer_trusted=signer_trusted,
        chain=read_chain(store, active),
        identities=read_identities(
            raw,
            success=pairs[0],
            failure=pairs[1],
            informational=[(c.code, c.url) for c in info_codes],
        ),
    )
