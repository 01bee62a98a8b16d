"""PII through presidio's pattern recognizers on the offline ``no_op`` NLP engine.

presidio is imported lazily, and only for prompts that could hold a pattern entity at all (a
digit, an ``@``, a URL-like dot): every pattern entity presidio knows needs one of those, so a
prompt like "a cat on a mat" never pays for the import (about 1 s here, 6 s if transformers
were allowed to load).  presidio's package ``__init__`` imports its transformers NLP engine,
which pulls in torch; we hide torch and transformers during that import (when nobody has
loaded them yet) so the optional-import fallbacks in presidio take over.  No spaCy model is
ever requested: PERSON and LOCATION need NER and are reported as not checked.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any

from hallmark.errors import GuardrailError

# Every presidio pattern entity needs a digit, "@", a scheme or a dotted host name.
_MAY_HOLD_PII = re.compile(r"[0-9@]|://|www\.|[a-z0-9]\.[a-z]{2,}", re.IGNORECASE)
_LOCK = threading.Lock()
_ENGINE: Any = None
_CONTEXT: dict[str, tuple[str, ...]] = {}
_CONTEXT_FLOOR = 0.01  # the lowest pattern score presidio gives; context lifts it to min_score


@dataclass(frozen=True)
class PiiSpan:
    entity: str
    start: int
    end: int
    score: float
    recognizer: str


def may_hold_pii(text: str) -> bool:
    """Cheap pre-screen: False only when no presidio pattern entity can match ``text``."""
    return _MAY_HOLD_PII.search(text) is not None


def _import_presidio() -> tuple[Any, Any, Any]:
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    hidden = [m for m in ("torch", "transformers") if m not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError as e:
        raise GuardrailError(
            f"presidio-analyzer cannot be imported ({e.__class__.__name__})",
            hint="Install presidio-analyzer, or disable prompt.pii in the policy.",
        ) from e
    finally:
        for name in hidden:
            sys.modules.pop(name, None)
    return AnalyzerEngine, RecognizerRegistry, NlpEngineProvider


def _extra_recognizers() -> list[Any]:
    """Pattern recognizers that widen presidio's own for formats it misses: card numbers of
    12-19 digits outside its issuer prefixes (still Luhn-checked by presidio's validator), and
    phone numbers in short national formats ("467 3395", "(37) 788-063"), kept at a low score
    and checked for a plausible digit count and against dates."""
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

    class NationalPhoneRecognizer(PatternRecognizer):  # type: ignore[misc]
        def validate_result(self, pattern_text: str) -> bool | None:
            digits = sum(c.isdigit() for c in pattern_text)
            text = pattern_text.strip()
            if not 7 <= digits <= 15 or _DATE_LIKE.fullmatch(text) or _SSN_LIKE.fullmatch(text):
                return False
            return None  # keep the pattern's own score

    cards = CreditCardRecognizer(
        patterns=[Pattern("Card (any issuer, 12-19 digits)", r"\b(?:\d[ -]?){11,18}\d\b", 0.3)],
        name="HallmarkWideCreditCardRecognizer",
    )
    phones = NationalPhoneRecognizer(
        supported_entity="PHONE_NUMBER",
        name="HallmarkNationalPhoneRecognizer",
        patterns=[
            Pattern(
                "national phone",
                r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?![\w.])",
                0.4,
            )
        ],
        context=["phone", "call", "tel", "telephone", "mobile", "cell", "number", "fax", "contact"],
    )
    return [cards, phones]


_SSN_LIKE = re.compile(r"\d{3}-\d{2}-\d{4}")
_DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{4}")


def analyzer() -> Any:
    """The process-wide presidio AnalyzerEngine with pattern recognizers only (built once)."""
    global _ENGINE, _CONTEXT
    with _LOCK:
        if _ENGINE is None:
            analyzer_engine, registry_cls, provider_cls = _import_presidio()
            try:
                config = {"nlp_engine_name": "no_op", "models": [{"lang_code": "en", "model_name": "no_op"}]}
                nlp = provider_cls(nlp_configuration=config).create_engine()
                registry = registry_cls(supported_languages=["en"])
                # presidio warns once per recognizer of every other language it skips.
                log = logging.getLogger("presidio-analyzer")
                level = log.level
                log.setLevel(logging.ERROR)
                try:
                    registry.load_predefined_recognizers(nlp_engine=nlp, languages=["en"])
                finally:
                    log.setLevel(level)
                for recognizer in _extra_recognizers():
                    registry.add_recognizer(recognizer)
                context: dict[str, set[str]] = {}
                for recognizer in registry.recognizers:
                    for entity in recognizer.supported_entities:
                        context.setdefault(entity, set()).update(
                            w.lower() for w in (recognizer.context or ())
                        )
                _CONTEXT = {k: tuple(sorted(v)) for k, v in context.items()}
                _ENGINE = analyzer_engine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
            except Exception as e:  # presidio raises bare exceptions of many kinds
                raise GuardrailError(f"presidio analyzer could not be built ({e.__class__.__name__})") from e
    return _ENGINE


def _has_context(text: str, start: int, entity: str) -> bool:
    """Whether one of the entity's context words (presidio's own lists) precedes the span.

    presidio boosts weak patterns (driver's licence, passport, bank numbers) by context found
    through lemmas, which the no-op NLP engine does not produce; this does the same on words."""
    words = _CONTEXT.get(entity, ())
    window = text[max(0, start - 60) : start].lower()
    return any(w in window for w in words)


def find_pii(text: str, *, entities: list[str], min_score: float) -> list[PiiSpan]:
    """Non-overlapping PII spans in ``text`` (the higher score, then the longer span wins)."""
    if not entities or not may_hold_pii(text):
        return []
    engine = analyzer()
    try:
        results = engine.analyze(text=text, language="en", entities=entities, score_threshold=_CONTEXT_FLOOR)
    except Exception as e:
        raise GuardrailError(f"presidio analysis failed ({e.__class__.__name__})") from e
    results = [
        r
        for r in results
        if r.score >= min_score or (r.score > 0 and _has_context(text, r.start, r.entity_type))
    ]
    ordered = sorted(results, key=lambda r: (-r.score, -(r.end - r.start), r.start))
    kept: list[PiiSpan] = []
    for r in ordered:
        if any(r.start < k.end and k.start < r.end for k in kept):
            continue
        explanation = getattr(r, "analysis_explanation", None)
        recognizer = getattr(explanation, "recognizer", "") if explanation is not None else ""
        kept.append(PiiSpan(r.entity_type, r.start, r.end, float(r.score), str(recognizer)))
    return sorted(kept, key=lambda k: k.start)
