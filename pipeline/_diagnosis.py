"""What ``hallmark doctor`` reports: one ``Diagnosis`` per thing looked at, and the report."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DiagnosisStatus(enum.Enum):
    """How one thing that ``hallmark generate`` needs looks."""

    OK = "ok"
    WARNING = "warning"  # works, but deserves a look (an expiring certificate, little disk space)
    PROBLEM = "problem"  # the default path cannot run until this is fixed
    NOT_CHECKED = "not_checked"  # not looked at: the policy does not use it, or what it needs failed


OK, WARNING, PROBLEM, NOT_CHECKED = (
    DiagnosisStatus.OK,
    DiagnosisStatus.WARNING,
    DiagnosisStatus.PROBLEM,
    DiagnosisStatus.NOT_CHECKED,
)


@dataclass(frozen=True)
class Diagnosis:
    """One thing looked at: what it is, how it looks, and (unless ok) what to do in one line."""

    name: str
    status: DiagnosisStatus
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class DoctorReport:
    """Every diagnosis for one home and one policy; ``ok`` when none of them is a problem."""

    home: Path
    policy: str
    checks: tuple[Diagnosis, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problems(self) -> list[Diagnosis]:
        return [d for d in self.checks if d.status is PROBLEM]

    @property
    def warnings(self) -> list[Diagnosis]:
        return [d for d in self.checks if d.status is WARNING]

    def check(self, name: str) -> Diagnosis | None:
        """The diagnosis called ``name`` (``"signing key"``, ``"package torch"``...)."""
        return next((d for d in self.checks if d.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        from hallmark import __version__

        return {
            "ok": self.ok,
            "hallmark_version": __version__,
            "home": str(self.home),
            "policy": self.policy,
            "checks": [d.to_dict() for d in self.checks],
        }


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    if len(text) > 200:
        text = text[:199] + "…"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _policy_missing(name: str) -> list[Diagnosis]:
    return [Diagnosis(name, NOT_CHECKED, "the policy did not load")]
