"""Policy sections read by ``guardrails``: the prompt policy and the image policy.

A prompt policy is a set of categories (the MLCommons-style hazard names in DESIGN.md).  Each
category says what to do per severity (``low``, ``medium``, ``high``) and lists the detectors
that find it; every detector carries the severity of what it finds.  ``sexual_minors`` is always
``block`` at every severity and cannot be disabled or weakened by any pack: the validator refuses
such a policy instead of quietly correcting it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

ActionName = Literal["allow", "rewrite", "flag", "blur", "block"]
Severity = Literal["low", "medium", "high"]
CategoryName = Literal[
    "sexual",
    "sexual_minors",
    "violence",
    "self_harm",
    "hate",
    "harassment",
    "illegal_activity",
    "weapons",
    "elections",
    "privacy",
    "intellectual_property",
    "public_figures",
]
CATEGORIES: tuple[str, ...] = CategoryName.__args__  # type: ignore[attr-defined]
ALWAYS_BLOCK = "sexual_minors"

# The PII entities presidio finds with patterns alone (no NER model).
PII_PATTERN_ENTITIES: tuple[str, ...] = (
    "CREDIT_CARD",
    "CRYPTO",
    "DATE_TIME",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "IP_ADDRESS",
    "MAC_ADDRESS",
    "MEDICAL_LICENSE",
    "PHONE_NUMBER",
    "UK_NHS",
    "URL",
    "US_BANK_NUMBER",
    "US_DRIVER_LICENSE",
    "US_ITIN",
    "US_PASSPORT",
    "US_SSN",
    "UUID",
)
PII_NER_ENTITIES: tuple[str, ...] = ("PERSON", "LOCATION", "NRP", "ORGANIZATION")


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as e:
        raise ValueError(f"regex does not compile: {e}") from e
    return pattern


def _nonblank(term: str) -> str:
    if not term.strip():
        raise ValueError("empty term")
    return term


Regex = Annotated[str, AfterValidator(_compiles)]
Term = Annotated[str, AfterValidator(_nonblank)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Detector(_Section):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    severity: Severity = "high"


class TermsDetector(_Detector):
    """Word lists.  Latin terms match whole words with common inflections (``-s``, ``-ed``,
    ``-ing``...) on every normalised variant; CJK terms match as substrings.  ``files`` are
    read by the loader (relative to the policy file, then to the bundled ``policies/`` folder)
    and their terms appended to ``terms``, so the policy digest covers the lists' content."""

    type: Literal["terms"] = "terms"
    terms: tuple[Term, ...] = ()
    files: tuple[str, ...] = ()
    inflections: bool = True


class RegexDetector(_Detector):
    """Regular expressions matched (case-insensitively) on the folded variants of a prompt."""

    type: Literal["regex"] = "regex"
    patterns: tuple[Regex, ...] = Field(min_length=1)


class NamesDetector(_Detector):
    """Protected names (artists, characters, trademarks, public figures).  Under ``rewrite``
    the phrase invoking the name ("in the style of X", "by X", "X-style") is removed."""

    type: Literal["names"] = "names"
    kind: Literal["artist", "character", "trademark", "public_figure"] = "artist"
    terms: tuple[Term, ...] = ()
    files: tuple[str, ...] = ()


class SemanticHead(_Section):
    """A logistic classifier over all-MiniLM-L6-v2 sentence embeddings (384 weights and a bias),
    as ``scripts/train_semantic_heads.py`` writes it."""

    encoder: Literal["all-MiniLM-L6-v2"]
    encoder_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    category: str
    trained_on: dict[str, Any] = Field(default_factory=dict)
    bias: float
    weights: tuple[float, ...] = Field(min_length=384, max_length=384)


# Copyright terms, in years after the author's death, by jurisdiction (Berne minimum: 50).
COPYRIGHT_TERMS: dict[str, int] = {
    "EU": 70,
    "US": 70,
    "UK": 70,
    "JP": 70,
    "KR": 70,
    "BR": 70,
    "RU": 70,
    "IN": 60,
    "CN": 50,
    "CA": 70,
    "NZ": 50,
    "BERNE": 50,
}


class PeopleDetector(_Detector):
    """Real people or artists from registry files (``bundled``: the registry shipped in the
    package, built from open data; or files made by ``hallmark policy people --update``, found
    like list files: beside the policy, then in the bundled folder).  ``kind: person`` finds people and roles ("the president of France"): alone a
    living person is found at ``severity``, with a ``harm`` word ("arrested", "prison") at
    ``harm_severity``, with a ``sexual`` word as a finding of ``sexual_category`` at
    ``sexual_severity``; a deceased person alone is found at ``deceased_severity``; names that are
    also everyday words count only beside a ``cues`` word or a harm or sexual word.
    ``kind: artist`` finds artists invoked for their style ("in the style of X", "X-inspired"):
    work still protected in ``jurisdiction`` (living, or died within its term) is found at
    ``severity``; public-domain work is not reported; ``opt_out`` names always count as
    protected and ``allow_names`` (artists who licensed their style) never do."""

    type: Literal["people"] = "people"
    kind: Literal["person", "artist"] = "person"
    data: tuple[str, ...] = ("bundled",)
    roles: tuple[Term, ...] = ()
    role_files: tuple[str, ...] = ()
    harm: tuple[Term, ...] = ()
    harm_files: tuple[str, ...] = ()
    sexual: tuple[Term, ...] = ()
    sexual_files: tuple[str, ...] = ()
    cues: tuple[Term, ...] = ()
    cue_files: tuple[str, ...] = ()
    harm_severity: Severity = "high"
    deceased_severity: Severity = "low"
    sexual_category: CategoryName = "sexual"
    sexual_severity: Severity = "high"
    jurisdiction: str = "EU"
    term_years: int | None = Field(default=None, ge=1, le=200)
    unknown_status: Literal["protected", "public_domain"] = "protected"
    opt_out: tuple[Term, ...] = ()
    opt_out_files: tuple[str, ...] = ()
    allow_names: tuple[Term, ...] = ()
    allow_names_files: tuple[str, ...] = ()

    @field_validator("jurisdiction")
    @classmethod
    def _known_jurisdiction(cls, value: str) -> str:
        if value not in COPYRIGHT_TERMS:
            raise ValueError(
                f"unknown jurisdiction {value!r}; known: {', '.join(COPYRIGHT_TERMS)} (or set term_years)"
            )
        return value

    def term(self) -> int:
        """Years after the author's death that the work stays protected."""
        return self.term_years or COPYRIGHT_TERMS[self.jurisdiction]


class SemanticDetector(_Detector):
    """A sentence embedding of the prompt, scored either by cosine similarity to concept
    descriptions or by a trained classifier (``classifier_file``, a JSON head read relative to
    the policy like a list file).  With concepts, a prompt at least as close to one of
    ``except_concepts`` (a harmless neighbour: "a self-harm awareness ribbon") as to the best
    concept does not hit; with a classifier, ``threshold`` is the probability that hits."""

    type: Literal["semantic"] = "semantic"
    concepts: tuple[Term, ...] = ()
    except_concepts: tuple[Term, ...] = ()
    classifier_file: str | None = None
    classifier: SemanticHead | None = None
    threshold: float = Field(default=0.4, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _one_scorer(self) -> SemanticDetector:
        if bool(self.concepts) == (self.classifier is not None):
            raise ValueError("a semantic detector needs either concepts or a classifier_file, not both")
        if self.except_concepts and not self.concepts:
            raise ValueError("except_concepts only apply to concepts")
        return self


Detector = Annotated[
    TermsDetector | RegexDetector | NamesDetector | PeopleDetector | SemanticDetector,
    Field(discriminator="type"),
]
DETECTOR_TYPES: tuple[str, ...] = ("terms", "regex", "names", "people", "semantic")


class SeverityActions(_Section):
    low: ActionName = "flag"
    medium: ActionName = "block"
    high: ActionName = "block"

    def for_severity(self, severity: str) -> str:
        return str(getattr(self, severity))


class CategoryPolicy(_Section):
    """One hazard category: whether it is checked, the action per severity, its detectors and
    the phrases that neutralise a match inside them (``allow``: "breast cancer", "nude lipstick")."""

    enabled: bool = True
    actions: SeverityActions = SeverityActions()
    detectors: tuple[Detector, ...] = ()
    allow: tuple[Term, ...] = ()
    allow_files: tuple[str, ...] = ()


class PiiPolicy(_Section):
    """PII found by presidio's pattern recognizers.  Every found span is redacted in the
    audit copy of the prompt; the action per entity decides what happens to generation
    (``rewrite`` replaces the span by ``<ENTITY>`` in the prompt the model sees)."""

    enabled: bool = True
    category: CategoryName = "privacy"
    entities: dict[str, ActionName] = Field(default_factory=dict)
    default_action: ActionName = "rewrite"
    min_score: float = Field(default=0.4, ge=0.0, le=1.0)
    # NER entities need a spaCy model; without one they are reported as not checked.
    ner_entities: tuple[str, ...] = ("PERSON", "LOCATION")
    # Each prompt's pattern scans share this budget; a pattern that runs past it (crafted text
    # that makes a regular expression backtrack) is reported and ``on_not_checked`` decides.
    time_budget_ms: int = Field(default=40, ge=1, le=10_000)
    on_not_checked: ActionName = "block"

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, value: dict[str, str]) -> dict[str, str]:
        known = set(PII_PATTERN_ENTITIES) | set(PII_NER_ENTITIES)
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown PII entity {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return value


class PromptPolicy(_Section):
    enabled: bool = True
    categories: dict[CategoryName, CategoryPolicy] = Field(default_factory=dict)
    pii: PiiPolicy = PiiPolicy()
    # Phrases that neutralise a match in any category, and files of them.
    allow: tuple[Term, ...] = ()
    allow_files: tuple[str, ...] = ()
    safety_negative_prompt: str = ""
    max_prompt_tokens: int = Field(default=77, ge=8)
    # Longer prompts are blocked before any detector runs (a decision, never a crash).
    max_prompt_chars: int = Field(default=4_000, ge=100)

    @model_validator(mode="before")
    @classmethod
    def _minors_default_block(cls, data: object) -> object:
        # Unspecified severities of sexual_minors mean block (elsewhere: low=flag); an explicit
        # weaker action is refused below rather than corrected.
        if isinstance(data, dict) and isinstance(data.get("categories"), dict):
            minors = data["categories"].get(ALWAYS_BLOCK)
            if isinstance(minors, dict):
                actions = minors.get("actions", {})
                if isinstance(actions, dict):
                    full = {"low": "block", "medium": "block", "high": "block", **actions}
                    data = {
                        **data,
                        "categories": {**data["categories"], ALWAYS_BLOCK: {**minors, "actions": full}},
                    }
        return data

    @model_validator(mode="after")
    def _minors_always_block(self) -> PromptPolicy:
        minors = self.categories.get(ALWAYS_BLOCK)  # type: ignore[call-overload]
        if minors is None:
            if self.categories:
                raise ValueError(f"categories.{ALWAYS_BLOCK} is required whenever categories are set")
            return self
        weak = [s for s in ("low", "medium", "high") if minors.actions.for_severity(s) != "block"]
        if not minors.enabled or weak:
            raise ValueError(
                f"categories.{ALWAYS_BLOCK} is always enabled with action block at every severity; "
                "a pack cannot weaken it"
            )
        if not minors.detectors:
            raise ValueError(f"categories.{ALWAYS_BLOCK} needs at least one detector")
        return self


ImageAction = Literal["flag", "blur", "block"]
# Image-only signals: not harms themselves, but inputs to a rule (an image flagged sexual and
# flagged as depicting a minor is ``sexual_minors``: always block).
DEPICTS_MINOR = "depicts_minor"
ImageCategoryName = Literal[CategoryName, "depicts_minor"]
IMAGE_CATEGORIES: tuple[str, ...] = (*CATEGORIES, DEPICTS_MINOR)
# Built-in backend types whose configuration the schema checks; guardrails' registry may hold more.
_NEEDS_MODEL = {"clip-zero-shot": "concepts", "hf-image-classifier": "labels"}


def _default_thresholds() -> dict[ImageAction, float]:
    return {"flag": 0.4, "blur": 0.7, "block": 0.85}


def _rising(value: dict[str, float]) -> dict[str, float]:
    for name, threshold in value.items():
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold {name}={threshold} must be in (0, 1]")
    order = [value[k] for k in ("flag", "blur", "block") if k in value]
    if order != sorted(order):
        raise ValueError("thresholds must rise from flag to blur to block")
    return value


class ImageCover(_Section):
    """What one backend checks for one category: the score that measures it and the lowest score
    at which each action applies.  ``score`` names the backend's output (default: the category's
    name); ``concepts`` are a CLIP backend's text prompts for the category, ``labels`` the labels
    of an image-classification model that mean it."""

    thresholds: Annotated[dict[ImageAction, float], AfterValidator(_rising)] = Field(min_length=1)
    score: str | None = None
    concepts: tuple[Term, ...] = ()
    labels: tuple[Term, ...] = ()


class ImageBackend(_Section):
    """One image classifier backend and the categories it covers.  ``type`` names a backend in
    ``hallmark.guardrails.CLASSIFIERS``; ``model`` is a local folder (absolute, or relative to the
    working directory) or a hub id, for backends that load one; ``baseline`` are a CLIP backend's
    neutral prompts, which each category's concepts must outscore."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    type: str = Field(min_length=1)
    model: str | None = None
    baseline: tuple[Term, ...] = ("a photo", "an ordinary everyday scene", "a picture of something harmless")
    covers: dict[ImageCategoryName, ImageCover] = Field(min_length=1)

    @field_validator("covers")
    @classmethod
    def _minors_is_derived(cls, value: dict[str, ImageCover]) -> dict[str, ImageCover]:
        if ALWAYS_BLOCK in value:
            raise ValueError(
                f"{ALWAYS_BLOCK} is not scored by a backend: it is decided from `sexual` and "
                f"`{DEPICTS_MINOR}` (cover both)"
            )
        return value

    @model_validator(mode="after")
    def _model_backends_are_configured(self) -> ImageBackend:
        field_name = _NEEDS_MODEL.get(self.type)
        if field_name is None:
            return self
        if not self.model:
            raise ValueError(f"a {self.type} backend needs `model:` (a local folder or a hub id)")
        empty = sorted(c for c, cover in self.covers.items() if not getattr(cover, field_name))
        if empty:
            raise ValueError(f"a {self.type} backend needs `{field_name}:` for {', '.join(empty)}")
        if self.type == "clip-zero-shot" and not self.baseline:
            raise ValueError("a clip-zero-shot backend needs at least one `baseline` prompt")
        return self


class ImagePolicy(_Section):
    """The image stage.  ``classifier`` (with ``category`` and ``thresholds``) is the primary
    backend, ``null`` for none; ``backends`` are checked beside it.  Every backend scores every
    image and the strongest action wins; a category no backend covers is reported as not checked."""

    enabled: bool = True
    classifier: str | None = "opennsfw"
    # The lowest score at which each action applies; the strongest reached action wins.
    thresholds: dict[ImageAction, float] = Field(default_factory=_default_thresholds)
    category: CategoryName = "sexual"
    backends: tuple[ImageBackend, ...] = ()

    @field_validator("thresholds")
    @classmethod
    def _ordered(cls, value: dict[str, float]) -> dict[str, float]:
        _rising(value)
        if "block" not in value:
            raise ValueError("a block threshold is required")
        return value

    @model_validator(mode="after")
    def _backends_are_named_once(self) -> ImagePolicy:
        ids = [b.id for b in self.resolved_backends()]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"image backend id {', '.join(twice)} is used twice")
        if self.enabled and not ids:
            raise ValueError("image safety is enabled but names no backend (set `enabled: false` to skip it)")
        return self

    def resolved_backends(self) -> tuple[ImageBackend, ...]:
        """Every backend the image stage runs: the primary ``classifier`` first, then ``backends``."""
        primary: tuple[ImageBackend, ...] = ()
        if self.classifier is not None:
            cover = ImageCover(thresholds=self.thresholds, score="nsfw")
            primary = (ImageBackend(id=self.classifier, type=self.classifier, covers={self.category: cover}),)
        return primary + self.backends
