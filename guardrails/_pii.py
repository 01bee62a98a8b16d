"""PII through presidio's pattern recognizers on the offline ``no_op`` NLP engine.

presidio is imported lazily, and only for prompts that could hold a pattern entity at all (a
digit, an ``@``, a URL-like dot): every pattern entity presidio knows needs one of those, so a
prompt like "a cat on a mat" never pays for the import (about 1 s here, 6 s if transformers
were allowed to load).  presidio's package ``__init__`` imports its transformers NLP engine,
which pulls in torch; we hide torch and transformers during that import (when nobody has
loaded them yet) so the optional-import fallbacks in presidio take over.  No spaCy model is
ever requested: PERSON and LOCATION need NER and are reported as not checked.

Every pattern runs under a deadline shared by one prompt's scans (the ``regex`` module's
``timeout``): some of presidio's patterns backtrack for seconds on crafted text ("1.1.1.1."
repeated), and presidio itself skips a pattern that times out as if it had found nothing.  Here a
pattern cut off by the deadline is reported, so that the policy can decide what an unchecked
prompt gets.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hallmark.errors import GuardrailError

# Every presidio pattern entity needs a digit, "@", a scheme or a dotted host name.
_MAY_HOLD_PII = re.compile(r"[0-9@]|://|www\.|[a-z0-9]\.[a-z]{2,}", re.IGNORECASE)
_LOCK = threading.Lock()
_ENGINE: Any = None
_CONTEXT: dict[str, tuple[str, ...]] = {}
_CONTEXT_FLOOR = 0.01  # the lowest pattern score presidio gives; context lifts it to min_score


# A pattern may run for this many times the CPU budget left, in wall time, before it is retried:
# enough for a pattern that shares the CPU, little enough that a catastrophic one stops near the
# budget (what it burns past it counts against the patterns after it, which are then cut off).
_WALL_SLACK = 1.5

_SCAN = threading.local()  # this thread's deadline and the patterns it cut off


@dataclass
class PiiScan:
    """What one prompt's PII scans found, and which patterns the time budget cut off."""

    spans: list[PiiSpan] = field(default_factory=list)
    cut_off: list[str] = field(default_factory=list)  # "Recognizer: pattern" that did not finish


@contextmanager
def time_budget(seconds: float) -> Iterator[list[str]]:
    """Run this thread's PII scans under one budget of ``seconds`` of this thread's CPU time;
    yields the list of patterns cut off.  The clock starts at the first scan, once presidio is
    loaded: building the analyzer (a second, once per process) is not the prompt's cost.

    CPU time, not wall time: what a crafted prompt costs is the CPU it burns, while a busy
    machine that takes the CPU away between two patterns must not cut an ordinary prompt off."""
    _SCAN.budget, _SCAN.deadline, _SCAN.cut_off = seconds, None, []
    try:
        yield _SCAN.cut_off
    finally:
        del _SCAN.budget, _SCAN.deadline


def _start_clock() -> None:
    if getattr(_SCAN, "budget", None) is not None and _SCAN.deadline is None:
        _SCAN.deadline = time.thread_time() + _SCAN.budget


class _BoundedPattern:
    """A compiled presidio pattern whose matching stops at this thread's deadline.

    presidio calls ``finditer(text, timeout=...)`` and then iterates; the matches are collected
    here, under the time left, so the deadline covers the whole scan.  A cut-off pattern is
    recorded and yields nothing (presidio goes on with its other patterns)."""

    def __init__(self, compiled: Any, name: str) -> None:
        self._compiled = compiled
        self.name = name

    def finditer(self, text: str, timeout: float | None = None) -> Iterator[Any]:
        deadline = getattr(_SCAN, "deadline", None)
        if deadline is None:
            return self._compiled.finditer(text, timeout=timeout)
        while (left := deadline - time.thread_time()) > 0:
            # regex's timeout is wall time: a pattern that ran out of it while this thread had
            # CPU budget left was kept waiting by a busy machine, and runs again.
            try:
                return iter(list(self._compiled.finditer(text, timeout=_WALL_SLACK * left)))
            except TimeoutError:
                continue
        _SCAN.cut_off.append(self.name)
        return iter(())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compiled, name)


def _past_deadline() -> bool:
    deadline = getattr(_SCAN, "deadline", None)
    return deadline is not None and time.thread_time() >= deadline


def _bounded_phone_recognizer() -> Any:
    """presidio's PhoneRecognizer, scanning in overlapping windows with the deadline checked
    between them: python-phonenumbers' matcher tries every digit run it meets, which costs
    ~0.1 s per region on 4,000 characters of digits.

    Windows overlap by more than the longest phone number, so every number lies whole inside
    one of them; a match that touches an inner window edge may be a cut-off piece and is left
    to the neighbouring window."""
    import phonenumbers
    from presidio_analyzer import EntityRecognizer
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    window, overlap = 256, 64

    class BoundedPhoneRecognizer(PhoneRecognizer):  # type: ignore[misc]
        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            results: list[Any] = []
            starts = range(0, max(len(text) - overlap, 1), window - overlap)
            for region in self.supported_regions:
                for offset in starts:
                    if _past_deadline():
                        _SCAN.cut_off.append("PhoneRecognizer")
                        return list(EntityRecognizer.remove_duplicates(results))
                    chunk = text[offset : offset + window]
                    inner_start, inner_end = offset > 0, offset + window < len(text)
                    leniency = phonenumbers.Leniency.VALID if self.leniency is None else self.leniency
                    for match in phonenumbers.PhoneNumberMatcher(chunk, region, leniency=leniency):
                        if (inner_start and match.start == 0) or (inner_end and match.end == len(chunk)):
                            continue
                        try:
                            found_region = phonenumbers.region_code_for_number(
                                phonenumbers.parse(chunk[match.start : match.end])
                            )
                        except phonenumbers.NumberParseException:
                            found_region = region
                        result = self._get_recognizer_result(match, chunk, found_region, nlp_artifacts)
                        result.start, result.end = match.start + offset, match.end + offset
                        results.append(result)
            return list(EntityRecognizer.remove_duplicates(results))

    return BoundedPhoneRecognizer()


def _bound_patterns(registry: Any) -> None:
    """Give every pattern of every pattern recognizer its deadline-aware compiled form."""
    import regex

    for recognizer in registry.recognizers:
        flags = getattr(recognizer, "global_regex_flags", None)
        for pattern in getattr(recognizer, "patterns", ()) or ():
            compiled = regex.compile(pattern.regex, flags=flags)
            pattern.compiled_regex = _BoundedPattern(compiled, f"{recognizer.name}: {pattern.name}")
            pattern.compiled_with_flags = flags


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


# Text that reaches every recognizer's patterns once (digits, an address, a name-like word).
_WARM_UP = "call +1 415 555 0100 or +44 20 7946 0958, mail a.b@example.org, 4111 1111 1111 1111, 10.0.0.1"


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
                registry.remove_recognizer("PhoneRecognizer")
                registry.add_recognizer(_bounded_phone_recognizer())
                _bound_patterns(registry)
                context: dict[str, set[str]] = {}
                for recognizer in registry.recognizers:
                    for entity in recognizer.supported_entities:
                        context.setdefault(entity, set()).update(
                            w.lower() for w in (recognizer.context or ())
                        )
                _CONTEXT = {k: tuple(sorted(v)) for k, v in context.items()}
                engine = analyzer_engine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
                # The first analysis compiles every pattern and loads phonenumbers' metadata
                # (~0.5 s): a cost of building the engine, not of the first prompt's time budget.
                engine.analyze(text=_WARM_UP, language="en", score_threshold=_CONTEXT_FLOOR)
                _ENGINE = engine
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
    """Non-overlapping PII spans in ``text`` (the higher score, then the longer span wins).

    Under ``time_budget``, patterns still running at the deadline are skipped and listed."""
    if not entities or not may_hold_pii(text):
        return []
    engine = analyzer()
    _start_clock()
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
