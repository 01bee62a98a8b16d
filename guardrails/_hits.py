"""What every prompt detector reads and returns: the prepared prompt and its hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._normalise import Variant, variants

if TYPE_CHECKING:
    from ._terms import PhraseIndex


@dataclass
class Prepared:
    """A prompt and its normalised variants, computed once and shared by every detector."""

    original: str
    variants: list[Variant] = field(default_factory=list)
    # The policy's allowed phrases ("suicide prevention poster", "torture test"): the semantic
    # detector reads the prompt without them (a word list ignores a match inside them).
    allow: PhraseIndex[str] | None = None

    @classmethod
    def of(cls, prompt: str, allow: PhraseIndex[str] | None = None) -> Prepared:
        return cls(prompt, variants(prompt), allow)


@dataclass(frozen=True)
class Hit:
    """One match: which rule, where (original offsets), and through which variant."""

    rule_id: str
    category: str
    detector: str
    severity: str
    span: tuple[int, int]
    term: str
    variant: str
    score: float = 1.0
    kind: str = ""  # names: artist | character | trademark | public_figure
    variant_span: tuple[int, int] = (0, 0)
    # What the detector says about the match (the people detector names the person, the
    # context and the rule); empty: the explanation is built from the rule alone.
    note: str = ""
