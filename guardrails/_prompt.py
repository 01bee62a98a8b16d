"""The prompt filter: normalise, detect, decide, rewrite, redact.

``PromptFilter.from_policy(policy)`` builds the detectors once (cached per policy digest) and
``evaluate(prompt)`` returns a ``PromptDecision`` whose findings each name the rule, category,
detector, severity and span of the original prompt.  Actions per finding come from the
category's per-severity table; the decision takes the strongest.  PII spans are always replaced
by ``<ENTITY>`` in ``redacted_prompt``; ``rewrite`` findings also change ``prompt_out``.
"""

from __future__ import annotations

import math
import re
import threading

from hallmark.errors import GuardrailError
from hallmark.policies import PII_NER_ENTITIES, PII_PATTERN_ENTITIES, Policy

from ._detectors import Hit, Prepared, PromptDetector, build_detectors
from ._pii import PiiScan, PiiSpan, find_pii, time_budget
from ._terms import PhraseIndex
from ._types import Action, CheckStatus, DetectorStatus, Finding, PromptDecision

_DEFAULT_PII = tuple(e for e in PII_PATTERN_ENTITIES if e != "DATE_TIME")
_INVOKE_BEFORE = re.compile(
    r"(?:\b(?:in|with)\s+(?:the\s+)?(?:art\s+)?(?:style|manner|vein|spirit)\s+of|\b(?:art\s+)?style\s+of"
    r"|\b(?:painted|drawn|illustrated|made|created|designed|photographed|art|artwork|painting|illustration)\s+by"
    r"|\binspired\s+by|\bby|\bafter|\ba\s+la|à\s+la|\blike)\s*$",
    re.IGNORECASE,
)
_INVOKE_AFTER = re.compile(r"(?:['’]s)?(?:\s*-?\s*(?:style|esque|inspired|like)\b)?", re.IGNORECASE)
_JOINER = re.compile(r"^\s*(?:,|and|&|,\s*and)\s*$", re.IGNORECASE)
_APPROX_TOKEN = re.compile(r"[^\W\d_]+|\d|[^\w\s]|_", re.UNICODE)
_CACHE: dict[str, PromptFilter] = {}
_CACHE_LOCK = threading.Lock()


def _approx_tokens(word: str) -> int:
    """A cautious CLIP-BPE token count for one regex token (long or non-ASCII words split)."""
    if not word.isascii():
        return max(1, len(word.encode("utf-8")) // 2)
    return 1 if len(word) <= 7 else math.ceil(len(word) / 5)


def truncate_to_tokens(text: str, budget: int) -> tuple[str, int]:
    """``text`` cut at the last whole token that fits ``budget`` estimated CLIP tokens."""
    used = 0
    for m in _APPROX_TOKEN.finditer(text):
        used += _approx_tokens(m.group())
        if used > budget:
            return text[: m.start()].rstrip(" ,;:-"), used
    return text, used


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"^(?:\s*(?:,|;|and\b|&))+\s*", "", text, flags=re.IGNORECASE)
    return text.strip(" ,;:-")


class PromptFilter:
    """Decides what happens to a prompt under a policy.  Build with ``from_policy``."""

    def __init__(self, policy: Policy, detectors: list[PromptDetector]) -> None:
        self.policy = policy
        self.detectors = detectors
        prompt = policy.prompt
        self._allow: PhraseIndex[str] = PhraseIndex()
        self._allow.extend(prompt.allow, "*")
        for name, cat in prompt.categories.items():
            self._allow.extend(cat.allow, name)
        pii = prompt.pii
        self._pii_actions = (
            {e: Action(a) for e, a in pii.entities.items() if e in PII_PATTERN_ENTITIES}
            if pii.entities
            else {e: Action(pii.default_action) for e in _DEFAULT_PII}
        )
        ner = sorted(set(pii.ner_entities) | {e for e in pii.entities if e in PII_NER_ENTITIES})
        self._statuses = [d.status() for d in detectors]
        if not prompt.enabled:
            reason = "prompt stage disabled by policy; sexual_minors is still checked"
            self._statuses.insert(0, DetectorStatus("categories", CheckStatus.NOT_CHECKED, reason))
        if pii.enabled:
            self._statuses.append(DetectorStatus("pii", CheckStatus.CHECKED))
            if ner:
                self._statuses.append(
                    DetectorStatus(
                        "pii.ner",
                        CheckStatus.NOT_CHECKED,
                        f"{', '.join(ner)} need a spaCy NER model, which is not installed",
                    )
                )
        else:
            self._statuses.append(DetectorStatus("pii", CheckStatus.NOT_CHECKED, "disabled by policy"))

    @classmethod
    def from_policy(cls, policy: Policy) -> PromptFilter:
        """The filter for ``policy``; built once per policy digest and then reused."""
        with _CACHE_LOCK:
            cached = _CACHE.get(policy.digest)
            if cached is None:
                cached = cls(policy, build_detectors(policy))
                _CACHE[policy.digest] = cached
            return cached

    # -- deciding ---------------------------------------------------------------------------

    def evaluate(self, prompt: str, *, negative_prompt: str | None = None) -> PromptDecision:
        """Check ``prompt`` against the policy and return the decision (never raises for odd
        text: empty, huge and binary prompts get a decision; a broken detector raises
        ``GuardrailError`` so that the caller fails closed)."""
        if not isinstance(prompt, str):
            raise GuardrailError(f"a prompt must be text, not {type(prompt).__name__}")
        policy = self.policy.prompt
        prompt = _scrub_surrogates(prompt)
        negative = _scrub_surrogates(negative_prompt) if negative_prompt is not None else None
        if len(prompt) > policy.max_prompt_chars:
            return self._too_long(prompt)
        prepared = Prepared.of(prompt, self._allow)
        # With the stage disabled the detectors cover sexual_minors only (see build_detectors).
        hits = self._drop_allowed(self._detect(prepared), prepared)
        findings = [self._finding(h, prompt) for h in _dedupe(hits)]
        scan = self._pii(prepared)
        pii = scan.spans
        findings += [self._pii_finding(p, prompt) for p in pii]
        statuses = self._statuses
        if scan.cut_off:
            findings.append(self._pii_cut_off(scan))
            statuses = [
                DetectorStatus("pii", CheckStatus.NOT_CHECKED, "cut off by its time budget")
                if s.detector == "pii"
                else s
                for s in statuses
            ]
        prompt_out = self._rewrite(prompt, hits, pii)
        # Not fully scanned, so not safe to keep: only its size is recorded.
        redacted = f"<PROMPT_NOT_FULLY_CHECKED {len(prompt)} chars>" if scan.cut_off else _redact(prompt, pii)
        budget = policy.max_prompt_tokens - 2  # CLIP adds begin and end tokens
        prompt_out, used = truncate_to_tokens(prompt_out, budget)
        if used > budget:
            findings.append(
                Finding(
                    "length.max_tokens",
                    "prompt_length",
                    "length",
                    Action.REWRITE,
                    explanation=f"about {used} tokens; cut to {budget} before the generator sees it",
                )
            )
        if negative:
            # The negative prompt reaches the generator (and maybe its logs) too: no PII in it.
            negative_scan = self._pii(Prepared.of(negative))
            negative = _redact(negative, negative_scan.spans)
            if negative_scan.cut_off:
                findings.append(self._pii_cut_off(negative_scan, where="negative prompt"))
        negative_out = self._negative(negative, budget)
        action = Action.strongest([f.action for f in findings])
        return PromptDecision(
            action=action,
            findings=tuple(sorted(findings, key=lambda f: (-f.action.severity, f.span or (0, 0)))),
            prompt_out=prompt_out,
            redacted_prompt=redacted,
            negative_prompt_out=negative_out,
            state=CheckStatus.CHECKED if policy.enabled else CheckStatus.NOT_CHECKED,
            detectors=tuple(statuses),
            policy_id=self.policy.id,
            policy_digest=self.policy.digest,
        )

    def _detect(self, prepared: Prepared) -> list[Hit]:
        hits: list[Hit] = []
        for detector in self.detectors:
            try:
                hits.extend(detector.analyze(prepared))
            except GuardrailError:
                raise
            except Exception as e:  # a detector bug must not let a prompt through
                raise GuardrailError(f"detector {detector.name} failed ({e.__class__.__name__})") from e
        return hits

    def _drop_allowed(self, hits: list[Hit], prepared: Prepared) -> list[Hit]:
        if not hits or not self._allow:
            return hits
        by_variant = {v.name: v for v in prepared.variants}
        allowed: dict[str, list[tuple[str, int, int]]] = {}
        for name in {h.variant for h in hits}:
            allowed[name] = [(cat, s, e) for cat, _, s, e in self._allow.search(by_variant[name])]
        kept = []
        for h in hits:
            s, e = h.variant_span
            inside = any(
                cat in ("*", h.category) and a <= s and e <= b for cat, a, b in allowed.get(h.variant, ())
            )
            if not inside:
                kept.append(h)
        return kept

    def _action(self, category: str, severity: str) -> Action:
        cat = self.policy.prompt.categories.get(category)  # type: ignore[call-overload]
        return Action(cat.actions.for_severity(severity)) if cat is not None else Action.FLAG

    def _finding(self, h: Hit, prompt: str) -> Finding:
        variant = "" if h.variant in ("unicode", "folded") else f" (seen after normalising: {h.variant})"
        what = f"{h.kind} name" if h.kind else h.detector
        # The explanation is kept in audit records, so it names the rule, never the listed term
        # or the pattern (which would repeat the prompt's words); ``matched`` holds the text.
        return Finding(
            rule_id=h.rule_id,
            category=h.category,
            detector=h.detector,
            action=self._action(h.category, h.severity),
            score=h.score,
            span=h.span,
            matched=prompt[h.span[0] : h.span[1]],
            explanation=f"{h.note} (rule {h.rule_id}{variant})"
            if h.note
            else f"{what} match of rule {h.rule_id}{variant}",
            severity=h.severity,
        )

    def _pii(self, prepared: Prepared) -> PiiScan:
        """PII in the original text, and in the NFKC and look-alike-folded variants (zero-width
        or full-width digits do not hide an e-mail address), mapped back to the original; all
        scans of one prompt share the policy's time budget."""
        pii = self.policy.prompt.pii
        if not pii.enabled:
            return PiiScan()
        entities = sorted(self._pii_actions)
        with time_budget(pii.time_budget_ms / 1000) as cut_off:
            found = find_pii(prepared.original, entities=entities, min_score=pii.min_score)
            for v in prepared.variants:
                if v.name not in ("unicode", "folded") or v.text.lower() == prepared.original.lower():
                    continue
                for p in find_pii(v.text, entities=entities, min_score=pii.min_score):
                    start, end = v.original_span(p.start, p.end)
                    if not any(start < q.end and q.start < end for q in found):
                        found.append(PiiSpan(p.entity, start, end, p.score, p.recognizer))
        return PiiScan(sorted(found, key=lambda p: p.start), sorted(set(cut_off)))

    def _pii_cut_off(self, scan: PiiScan, *, where: str = "prompt") -> Finding:
        pii = self.policy.prompt.pii
        return Finding(
            rule_id="pii.not_checked",
            category=pii.category,
            detector="pii",
            action=Action(pii.on_not_checked),
            explanation=(
                f"the {where} was not fully checked for personal data: "
                f"{', '.join(scan.cut_off)} ran past the {pii.time_budget_ms} ms budget "
                f"(policy: {pii.on_not_checked})"
            ),
            severity="high",
        )

    def _pii_finding(self, p: PiiSpan, prompt: str) -> Finding:
        category = self.policy.prompt.pii.category
        return Finding(
            rule_id=f"pii.{p.entity}",
            category=category,
            detector="pii",
            action=self._pii_actions.get(p.entity, Action.REWRITE),
            score=p.score,
            span=(p.start, p.end),
            matched=None,  # PII text is never copied into a finding
            explanation=f"{p.entity} found by presidio {p.recognizer or 'pattern recognizer'}",
            severity="high" if p.score >= 0.85 else "medium",
        )

    # -- rewriting --------------------------------------------------------------------------

    def _rewrite(self, prompt: str, hits: list[Hit], pii: list[PiiSpan]) -> str:
        """Remove the phrases invoking names whose action is ``rewrite``, and replace PII
        spans whose action is ``rewrite`` by their entity type."""
        cuts: list[tuple[int, int, str]] = []
        names = sorted(
            {
                h.span
                for h in hits
                if h.detector in ("names", "people")
                and self._action(h.category, h.severity) is Action.REWRITE
            }
        )
        last_end = -1
        for start, end in _outermost(names):
            before = _INVOKE_BEFORE.search(prompt, 0, start)
            cut_start = start
            if before is not None and before.end() == start:
                cut_start = before.start()
            elif last_end >= 0 and _JOINER.match(prompt[last_end:start]):
                cut_start = last_end
            after = _INVOKE_AFTER.match(prompt, end)
            cut_end = after.end() if after is not None else end
            cuts.append((cut_start, cut_end, ""))
            last_end = cut_end
        for p in pii:
            if self._pii_actions.get(p.entity, Action.REWRITE) is Action.REWRITE:
                cuts.append((p.start, p.end, f"<{p.entity}>"))
        if not cuts:
            return prompt
        out = []
        pos = 0
        for start, end, repl in sorted(cuts):
            if start < pos:
                continue
            out.append(prompt[pos:start])
            out.append(repl)
            pos = end
        out.append(prompt[pos:])
        return _tidy("".join(out))

    def _negative(self, negative: str | None, budget: int) -> str | None:
        safety = self.policy.prompt.safety_negative_prompt.strip()
        # The safety terms go first so that truncation never drops them.
        parts = [p for p in (safety, negative.strip() if negative else "") if p]
        if not parts:
            return negative
        return truncate_to_tokens(", ".join(parts), budget)[0]

    def _too_long(self, prompt: str) -> PromptDecision:
        limit = self.policy.prompt.max_prompt_chars
        finding = Finding(
            "length.max_chars",
            "prompt_length",
            "length",
            Action.BLOCK,
            explanation=f"prompt has {len(prompt)} characters; the policy allows {limit}",
        )
        return PromptDecision(
            action=Action.BLOCK,
            findings=(finding,),
            prompt_out="",
            # Not scanned, so not safe to keep: only its size is recorded.
            redacted_prompt=f"<PROMPT_TOO_LONG {len(prompt)} chars>",
            negative_prompt_out=None,
            state=CheckStatus.CHECKED,
            detectors=tuple(self._statuses),
            policy_id=self.policy.id,
            policy_digest=self.policy.digest,
        )


def _scrub_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (bytes smuggled through surrogateescape) cannot be printed or stored;
        # one replacement character each keeps every offset.
        return "".join("\ufffd" if 0xD800 <= ord(c) < 0xE000 else c for c in text)
    return text


def _outermost(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans, key=lambda x: (x[0], -x[1])):
        if out and s < out[-1][1]:
            continue
        out.append((s, e))
    return out


def _dedupe(hits: list[Hit]) -> list[Hit]:
    """One hit per rule and original span (the first variant that found it explains it);
    a hit inside a longer hit of the same rule is dropped."""
    seen: dict[tuple[str, tuple[int, int]], Hit] = {}
    for h in hits:
        seen.setdefault((h.rule_id, h.span), h)
    kept = list(seen.values())
    # Per rule, spans by start (longest first): a span ending no later than the furthest end seen
    # so far lies inside an earlier one.  A sweep, not all pairs: a prompt can hold 1,000 hits.
    inside: set[int] = set()
    by_rule: dict[str, list[Hit]] = {}
    for h in kept:
        by_rule.setdefault(h.rule_id, []).append(h)
    for group in by_rule.values():
        furthest = -1
        for h in sorted(group, key=lambda h: (h.span[0], -h.span[1])):
            if h.span[1] <= furthest:
                inside.add(id(h))
            furthest = max(furthest, h.span[1])
    return [h for h in kept if id(h) not in inside]


def _redact(prompt: str, pii: list[PiiSpan]) -> str:
    out = []
    pos = 0
    for p in pii:
        if p.start < pos:
            continue
        out.append(prompt[pos : p.start])
        out.append(f"<{p.entity}>")
        pos = p.end
    out.append(prompt[pos:])
    return "".join(out)
