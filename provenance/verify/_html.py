"""A self-contained HTML report of a verification batch: one card per image with its thumbnail
(a data URI), verdict, explanation, warnings and every check with its codes.

One file, no external resources (styles inline, thumbnails embedded), so it can be mailed or
archived.  Every string from an image (titles, signer names, codes) is escaped: a manifest is
attacker-controlled input.  A small inline script only counts the thumbnails that decoded, so a
browser test can tell that the page really rendered.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from hallmark.checks import CheckStatus

from ._report import VERDICTS, Verdict, VerificationReport

THUMBNAIL_PX = 200
# Thumbnails are only made for images whose size was already accepted by the verifier, and never
# above this, so a report cannot be made to decode a decompression bomb.
_THUMBNAIL_MAX_PIXELS = 100_000_000

_VERDICT_COLOUR = {
    Verdict.HALLMARK_SIGNED: "#1a7f37",
    Verdict.HALLMARK_RECOVERED: "#1a7f37",
    Verdict.HALLMARK_WATERMARK: "#2f6f9f",
    Verdict.WATERMARK_MISMATCH: "#c62828",
    Verdict.C2PA_AI_GENERATED: "#2f6f9f",
    Verdict.C2PA_SIGNED: "#2f6f9f",
    Verdict.UNTRUSTED_SIGNER: "#b35c00",
    Verdict.TAMPERED: "#c62828",
    Verdict.INVALID_CREDENTIALS: "#c62828",
    Verdict.UNREADABLE_CREDENTIALS: "#b35c00",
    Verdict.THIRD_PARTY_WATERMARK: "#8a5a00",
    Verdict.NO_PROVENANCE_FOUND: "#555555",
    Verdict.ERROR: "#7b1fa2",
}
_STATUS_MARK = {
    CheckStatus.PASSED: ("passed", "#1a7f37"),
    CheckStatus.CHECKED: ("checked", "#8a5a00"),
    CheckStatus.FAILED: ("failed", "#c62828"),
    CheckStatus.ERROR: ("error", "#7b1fa2"),
    CheckStatus.NOT_FOUND: ("not found", "#555555"),
    CheckStatus.NOT_CHECKED: ("not checked", "#8a8a8a"),
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2328;background:#f6f8fa}
h1{font-size:1.4rem;margin:0 0 .3rem}
.meta{color:#57606a;margin-bottom:1rem}
table.summary{border-collapse:collapse;margin-bottom:1.5rem;background:#fff}
table.summary td,table.summary th{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left}
section.image{display:flex;gap:1.2rem;background:#fff;border:1px solid #d0d7de;border-radius:8px;
  padding:1rem;margin-bottom:1rem}
.thumb{flex:0 0 200px;text-align:center}
.thumb img{max-width:200px;max-height:200px;border:1px solid #d0d7de}
.thumb .none{width:200px;height:120px;display:flex;align-items:center;justify-content:center;
  background:#eaeef2;color:#57606a;font-size:.85rem}
.body{flex:1;min-width:0}
.file{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all;color:#57606a}
.verdict{display:inline-block;color:#fff;border-radius:4px;padding:.1rem .5rem;font-weight:600;margin:.3rem 0}
.explanation{margin:.3rem 0 .6rem}
ul.warnings{margin:.2rem 0 .6rem;padding-left:1.2rem;color:#8a5a00}
table.checks{border-collapse:collapse;width:100%;font-size:.85rem}
table.checks td{border-top:1px solid #eaeef2;padding:.2rem .4rem;vertical-align:top}
table.checks td:nth-child(2){white-space:nowrap}
.compliance{font-size:.85rem;margin-top:.4rem}
.codes{font-family:ui-monospace,monospace;font-size:.8rem;color:#57606a}
.identity{font-size:.85rem;margin:.2rem 0}
"""

_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('.thumb img');
  var ok = 0;
  imgs.forEach(function (i) { if (i.complete && i.naturalWidth > 0) { ok++; } });
  document.body.setAttribute('data-thumbs-loaded', String(ok));
  document.body.setAttribute('data-rendered', 'yes');
});
"""


def render_html_report(
    reports: Sequence[VerificationReport],
    *,
    title: str = "hallmark verification report",
    now: dt.datetime | None = None,
) -> str:
    """The HTML text of a report on ``reports`` (one card per image, a summary table on top)."""
    when = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    counts = Counter(r.verdict for r in reports)
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No network: nothing on the page may load from anywhere else.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
        f"<title>{e(title)}</title><style>{_CSS}</style></head>",
        f'<body data-images="{len(reports)}">',
        f"<h1>{e(title)}</h1>",
        f'<div class="meta">{len(reports)} file(s), checked {e(when)}</div>',
        '<table class="summary"><tr><th>verdict</th><th>files</th><th>meaning</th></tr>',
    ]
    for verdict in Verdict:
        if counts.get(verdict):
            parts.append(
                f"<tr><td>{_badge(verdict)}</td><td>{counts[verdict]}</td><td>{e(VERDICTS[verdict])}</td></tr>"
            )
    parts.append("</table>")
    for report in reports:
        parts.append(_card(report))
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def write_html_report(
    reports: Sequence[VerificationReport], path: Path, *, now: dt.datetime | None = None
) -> Path:
    """Write the report to ``path`` (written whole, then renamed into place) and return it.

    Raises InputError naming the path when it cannot be written; no partial file is left."""
    import os

    from hallmark.errors import InputError

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(render_html_report(reports, now=now), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the HTML report to {path}: {e.strerror or type(e).__name__}") from e
    return path


def _badge(verdict: Verdict) -> str:
    colour = _VERDICT_COLOUR[verdict]
    return f'<span class="verdict" style="background:{colour}">{html.escape(verdict.value)}</span>'


def _card(report: VerificationReport) -> str:
    e = html.escape
    thumb = _thumbnail(report)
    thumb_html = (
        f'<img alt="thumbnail of {e(Path(report.source).name)}" src="{thumb}">'
        if thumb
        else '<div class="none">no preview</div>'
    )
    rows = []
    for check in report.checks:
        label, colour = _STATUS_MARK[check.status]
        codes = ", ".join(check.codes)
        rows.append(
            f'<tr><td>{e(check.name)}</td><td style="color:{colour};font-weight:600">{label}</td>'
            f'<td>{e(check.summary)}<div class="codes">{e(codes)}</div></td></tr>'
        )
    warnings = "".join(f"<li>{e(w)}</li>" for w in report.warnings)
    creds = ""
    c2pa = report.c2pa
    if c2pa is not None and c2pa.present:
        trust = "in your trust anchors" if c2pa.signer_trusted else "not in your trust anchors"
        facts = [
            f"C2PA {c2pa.state} ({c2pa.assessment.value})",
            f"signer {c2pa.signer or '?'} (issuer {c2pa.issuer or '?'}), {trust}",
            f"generator {c2pa.claim_generator or '?'}",
            "declares AI generation" if c2pa.ai_generated else "no AI declaration",
        ]
        if c2pa.training_mining:
            facts.append("training/mining: " + ", ".join(sorted(set(c2pa.training_mining.values()))))
        if c2pa.ingredients:
            facts.append(f"{len(c2pa.ingredients)} ingredient(s)")
        creds = f'<div class="codes">{e(" · ".join(facts))}</div>'
        for identity in c2pa.identities:
            creds += (
                f'<div class="identity" data-state="{e(identity.state)}">identity: {e(identity.named)} · '
                f"<b>{e(identity.state)}</b> · {e(identity.reason)}</div>"
            )
    record = ""
    if report.record:
        rec = report.record
        record = (
            f'<div class="codes">audit record {e(str(rec.get("record_id")))} · {e(str(rec.get("created")))} · '
            f"model {e(str(rec.get('model')))}</div>"
        )
    compliance = ""
    if report.profiles.line:
        compliance = f'<div class="compliance">{e(report.profiles.line)}</div>'
    if report.compliance:
        items = "".join(
            f"<li>{e(row.profile)} · {e(row.duty)}: <b>{e(row.state.replace('_', ' '))}</b> "
            f'<span class="codes">{e(row.evidence)}</span></li>'
            for row in report.compliance
        )
        compliance = (
            f'<details class="compliance"><summary>labelling duties ({e(", ".join(report.profiles.checked))})'
            f"</summary><ul>{items}</ul></details>" + compliance
        )
    return (
        f'<section class="image" data-verdict="{e(report.verdict.value)}">'
        f'<div class="thumb">{thumb_html}</div><div class="body">'
        f'<div class="file">{e(report.source)}</div>{_badge(report.verdict)}'
        f'<div class="explanation">{e(report.explanation)}</div>'
        + (f'<ul class="warnings">{warnings}</ul>' if warnings else "")
        + creds
        + record
        + (f'<table class="checks">{"".join(rows)}</table>' if rows else "")
        + compliance
        + "</div></section>"
    )


def _thumbnail(report: VerificationReport) -> str | None:
    """A small JPEG data URI of the image, or None when it cannot (or must not) be decoded."""
    from PIL import Image

    info = report.image
    if info is None or not info.width or not info.height or report.source == "<bytes>":
        return None
    if info.width * info.height > _THUMBNAIL_MAX_PIXELS or report.verdict is Verdict.ERROR:
        return None
    try:
        with Image.open(report.source) as im:
            im.draft("RGB", (THUMBNAIL_PX * 2, THUMBNAIL_PX * 2))  # JPEG: decode at reduced scale
            im.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "JPEG", quality=80)
    except Exception:  # a file that changed or broke since it was verified simply gets no preview
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
