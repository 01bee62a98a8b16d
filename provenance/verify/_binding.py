"""Verdicts that rest on a watermark, and the check that binds them to the picture.

A watermark proves that a payload is present, not that the picture around it is the one the
payload's record released: a mark can be lifted blind from any hallmark image and added to an
unrelated photo.  So a watermark earns ``hallmark-recovered`` only when the found picture matches
the fingerprint its record kept (or is byte for byte the released file); a mark on a picture that
does not match is ``watermark-mismatch``.  A decode alone says "made with your key" only for a
scheme whose decode carries a keyed check strong enough to mean it (``_checks.KEYED_EVIDENCE``), and
even then the verdict says that nothing binds the mark to the picture.
"""

from __future__ import annotations

from typing import Any

from hallmark.checks import CheckStatus

from ..watermark import WatermarkReading, bind_content
from ._checks import _keyed, _Run
from ._report import Check, Verdict


def _bind(image: Any, ours: list[WatermarkReading], *, run: _Run) -> None:
    """Compare the found picture with the fingerprint of the record its watermark led to, and
    append the ``binding`` check."""
    record = run.record
    if not record:
        why = "no watermark payload led to an audit record"
        if any(r.found for r in ours):
            why = "no audit record was found, so nothing binds the watermark to this picture"
        run.checks.append(Check("binding", CheckStatus.NOT_CHECKED, f"Not compared: {why}."))
        return
    if record.get("file_matches_record"):
        run.checks.append(
            Check("binding", CheckStatus.PASSED, "The file is byte for byte the released image.")
        )
        return
    if run.fingerprint is None:
        run.checks.append(
            Check("binding", CheckStatus.NOT_CHECKED, "Not bound: the record predates content binding.")
        )
        return
    if image is None:
        run.checks.append(Check("binding", CheckStatus.NOT_CHECKED, "The pixels could not be decoded."))
        return
    reading = next(
        (r for r in ours if r.found and r.payload and r.payload.hex() == record.get("payload")), None
    )
    try:
        binding = bind_content(image, run.fingerprint, reading=reading)
    except Exception as e:  # a fingerprint failure must not take the whole verification down
        run.warnings.append(f"the content binding failed: {type(e).__name__}")
        run.checks.append(
            Check("binding", CheckStatus.NOT_CHECKED, f"The comparison failed ({type(e).__name__}).")
        )
        return
    run.binding = binding
    figures = f"fingerprint distance {_distance(binding)}, threshold {binding.threshold:.2f}, {binding.compared} cell pairs"
    if binding.matched:
        summary = f"The picture matches the image released under the record ({figures})."
        run.checks.append(Check("binding", CheckStatus.PASSED, summary, details=binding.to_dict()))
    elif binding.matched is False:
        summary = f"The picture does not match the image released under the record ({figures})."
        run.checks.append(
            Check("binding", CheckStatus.FAILED, summary, ("fingerprint.mismatch",), binding.to_dict())
        )
    else:
        summary = f"Not compared: {binding.reason}."
        run.checks.append(Check("binding", CheckStatus.NOT_CHECKED, summary, details=binding.to_dict()))


def _watermark_verdict(ours: list[WatermarkReading], *, run: _Run) -> tuple[Verdict, str] | None:
    """The verdict when the file carries no manifest and our watermark is what remains, or None
    when no watermark of ours says anything (the caller goes on to third-party marks)."""
    record = run.record
    if record:
        rid = record.get("record_id")
        binding = run.binding
        if record.get("file_matches_record") or (binding is not None and binding.matched):
            return Verdict.HALLMARK_RECOVERED, _recovered(record, run) + _bound(binding)
        if binding is not None and binding.matched is False:
            return Verdict.WATERMARK_MISMATCH, (
                f"This image carries the invisible watermark of hallmark record {rid}, but the picture does not "
                f"match the image released under that record (fingerprint distance {_distance(binding)}, "
                f"above the threshold of {binding.threshold:.2f}): the watermark was copied from another image, "
                "or the picture was changed beyond recognition. It cannot be taken as made with hallmark."
            )
        if run.fingerprint is None:
            why = "that record predates content binding, so nothing confirms"
        else:
            reason = binding.reason if binding is not None else "the pixels could not be read"
            why = f"the picture could not be compared with the one released ({reason}), so nothing confirms"
        return Verdict.HALLMARK_WATERMARK, (
            f"This image carries hallmark's invisible watermark made with your key, which leads to audit record "
            f"{rid}; but {why} that this picture is the one released under it (a watermark can be copied onto "
            "another image)."
        )
    if any(r.found and _keyed(r) for r in ours):
        return Verdict.HALLMARK_WATERMARK, (
            "This image carries hallmark's invisible watermark made with your key, but no record of it was "
            "found, so nothing binds the mark to this picture (a watermark can be copied from one image onto "
            "another) and nothing more can be said about how it was made."
        )
    for r in ours:
        if r.found and r.payload is not None:
            odds = (
                f"about 1 in {1 / r.false_positive_probability:,.0f}"
                if r.false_positive_probability
                else "many"
            )
            run.warnings.append(
                f"{r.scheme_id} decoded payload {r.payload.hex()}, but that scheme has no keyed check ({odds} "
                "unmarked images decode as one of its payloads) and no audit record matches it: it says nothing "
                "about where the image came from"
            )
    return None


def _recovered(record: dict[str, Any], run: _Run) -> str:
    rid = record.get("record_id")
    if run.recovery_ok:
        return (
            "This image was made by an AI system using hallmark. Its Content Credentials were removed, but "
            f"its invisible watermark led to record {rid}, whose stored credentials were recovered: the image "
            "was altered after signing (for example re-saved or resized)."
        )
    recovery = next((c for c in run.checks if c.name == "recovery"), None)
    tail = ""
    if recovery is not None and recovery.status is CheckStatus.FAILED:
        tail = " The credentials stored for that record do not validate, so treat the record with caution."
    return (
        "This image was made by an AI system using hallmark. Its Content Credentials were removed, but its "
        f"invisible watermark led to audit record {rid}.{tail}"
    )


def _bound(binding: Any) -> str:
    if binding is None or not binding.matched:
        return " The file is byte for byte the released image."
    return (
        f" The picture matches the image released under that record (fingerprint distance {_distance(binding)}, "
        f"threshold {binding.threshold:.2f})."
    )


def _distance(binding: Any) -> str:
    return "-" if binding.distance is None else f"{binding.distance:.2f}"
