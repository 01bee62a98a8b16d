"""The registry of regulation profiles: an explicit table from profile name to implementation.

Its order is the order profiles run in at generation, whatever order a policy lists them in,
and its names are the policy schema's ``KNOWN_PROFILES``, in the same order.
"""

from __future__ import annotations

from typing import TypeAlias

from hallmark.errors import ProvenanceError
from hallmark.policies import KNOWN_PROFILES
from hallmark.registry import Registry

from ._eu_ai_act import EuAiAct
from ._gb45438 import CnGb45438
from ._sb942 import UsCaSb942

ProfileClass: TypeAlias = type[CnGb45438] | type[EuAiAct] | type[UsCaSb942]

PROFILES: Registry[ProfileClass] = Registry("labels profile", error=ProvenanceError)
PROFILES.register(CnGb45438.name, CnGb45438)
PROFILES.register(EuAiAct.name, EuAiAct)
PROFILES.register(UsCaSb942.name, UsCaSb942)
assert tuple(PROFILES) == KNOWN_PROFILES


def _profile_class(name: str) -> ProfileClass:
    """The profile registered as ``name``.  An unknown name raises ``ProvenanceError`` listing the
    known ones in the words the policy schema uses for the same mistake."""
    if name not in PROFILES:
        raise ProvenanceError(f"unknown labels profile {name!r}; known profiles: {', '.join(PROFILES)}")
    return PROFILES.get(name)
