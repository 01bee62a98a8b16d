"""Verification reports as the API sends them: the JSON ``hallmark verify --json`` prints, with
the upload's display name as its source.  Shared by the server's threads and its worker
processes."""

from __future__ import annotations

import dataclasses
from typing import Any

from hallmark._schemas import schema_id

from .._home import Home
from .._verifier import Verifier
from ._settings import ServeSettings


def build_verifier(settings: ServeSettings) -> Verifier:
    """The verifier of the settings' home."""
    from pathlib import Path

    return Verifier.from_home(
        Home.resolve(settings.home),
        trust=[Path(p) for p in settings.trust],
        trust_list=Path(settings.trust_list) if settings.trust_list else None,
        allow_network=settings.allow_network,
    )


def report_json(verifier: Verifier, data: bytes, *, label: str) -> tuple[dict[str, Any], bool]:
    """``verifier``'s report on ``data`` as verify-report JSON with ``label`` as its source, and
    whether the image could be checked at all."""
    from hallmark.provenance import Verdict

    report = dataclasses.replace(verifier.verify(data), source=label)
    return {"schema": schema_id("verify-report"), **report.to_dict()}, report.verdict is not Verdict.ERROR


def error_json(label: str, reason: str, *, seconds: float) -> dict[str, Any]:
    """The verify-report JSON of an upload that could not be checked at all."""
    from hallmark.provenance import error_report

    return {"schema": schema_id("verify-report"), **error_report(label, reason, seconds=seconds).to_dict()}


def report_html(verifier: Verifier, data: bytes, *, label: str) -> tuple[str, bool]:
    """``verifier``'s report on ``data`` as the self-contained HTML report ``hallmark verify
    --html`` writes, and whether the image could be checked at all."""
    from hallmark.provenance import Verdict, render_html_report

    report = dataclasses.replace(verifier.verify(data), source=label)
    return render_html_report([report]), report.verdict is not Verdict.ERROR


def error_html(label: str, reason: str, *, seconds: float) -> str:
    """The HTML report of an upload that could not be checked at all."""
    from hallmark.provenance import error_report, render_html_report

    return render_html_report([error_report(label, reason, seconds=seconds)])
