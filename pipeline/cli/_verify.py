"""``hallmark verify PATH...``: where did these images come from?

Parses the arguments, wires the audit log and the manifest store of HALLMARK_HOME into
``hallmark.provenance.verify_batch``, and renders the reports (a rich table, JSON lines or an HTML file).
Exit 0 when every image verified, 1 when any is tampered or fails verification, 2 when a path is
missing or a file could not be checked at all.  c2pa, numpy and the watermark decoders are only
imported once there is something to verify.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    HomeOption,
    JsonLinesOption,
    command,
    fail,
    print_json_line,
)


@command
def verify(
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders (searched recursively).")],
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="PEM file of trusted CA certificates (repeatable)."),
    ] = None,
    trust_list: Annotated[
        Path | None, typer.Option("--trust-list", help="A C2PA trust list (PEM bundle of trust anchors).")
    ] = None,
    home: HomeOption = None,
    json_out: JsonLinesOption = False,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report to this file.")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Worker processes (0: verify in this process, no time limit).")
    ] = 1,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds allowed per file.")] = 60.0,
    allow_network: Annotated[
        bool,
        typer.Option(
            "--allow-network", help="Fetch remote manifests and check certificate revocation (OCSP)."
        ),
    ] = False,
    profile: Annotated[
        list[str] | None,
        typer.Option(
            "--profile",
            help="Also check this labelling profile's duties (repeatable; e.g. eu_ai_act). "
            "Without it only the profiles an image declares are checked.",
        ),
    ] = None,
    scheme: Annotated[
        list[str] | None,
        typer.Option(
            "--scheme",
            help="Watermark scheme to read (repeatable). Default: the keyed schemes (hallmark.wm1); "
            "hallmark.dwtdctsvd-bch, which has no keyed check, is read only when named.",
        ),
    ] = None,
    remote: Annotated[
        bool,
        typer.Option(
            "--remote",
            help="Verify on `hallmark worker`s ($HALLMARK_BROKER_URL) in chunks; the files must be readable "
            "by the workers under the same paths.",
        ),
    ] = False,
    chunk: Annotated[int, typer.Option("--chunk", help="With --remote: files per job.")] = 50,
    wait: Annotated[float, typer.Option(help="With --remote: seconds to wait for the jobs.")] = 3600.0,
) -> None:
    """Verify images: C2PA credentials, hallmark and third-party watermarks, the audit record, one verdict each.

    Example: hallmark verify out/ downloads/photo.jpg --html report.html
    """
    from hallmark.provenance import walk_images

    from .._request import check_writable_file
    from .._verifier import Verifier

    if html_out is not None:
        check_writable_file(html_out, what="the HTML report")  # before any image is read
    walk = walk_images(paths)
    files = walk.files
    if not files:
        fail(
            "no image files found in "
            + ", ".join(str(p) for p in paths)
            + (f" ({walk.skipped_line()})" if walk.skipped else ""),
            hint="Folders are searched for .jpg, .png, .webp and other image files.",
        )
    if walk.skipped:
        print(walk.skipped_line(), file=sys.stderr)
    if remote:
        if html_out is not None or trust or trust_list or profile or scheme or allow_network:
            fail(
                "--remote verifies with the workers' own homes: --html, --trust, --trust-list, --profile, "
                "--scheme and --allow-network apply to local verification only"
            )
        from ._remote import verify_remote

        verify_remote(files, chunk_size=chunk, wait=wait, json_out=json_out)
    verifier = Verifier.from_home(
        home,
        trust=trust or [],
        trust_list=trust_list,
        allow_network=allow_network,
        profiles=profile or [],
        schemes=scheme,
    )
    reports = []
    with _progress(len(files), enabled=not json_out) as tick:
        for report in verifier.verify_batch(files, workers=workers, timeout_s=timeout):
            reports.append(report)
            if json_out:
                print_json_line(report.to_dict(), schema="verify-report")
            tick(report)
    from hallmark.provenance import Verdict

    for report in reports:
        if report.verdict is Verdict.ERROR:  # one line per unreadable file, whatever the output format
            print(f"error: {report.source}: {report.error}", file=sys.stderr)
    if html_out is not None:
        from hallmark.provenance import write_html_report

        write_html_report(reports, html_out)
    if not json_out:
        _render(reports, html_out=html_out)
    raise typer.Exit(_exit_code(reports))


def _exit_code(reports: list[Any]) -> int:
    from hallmark.provenance import Verdict

    if any(not r.passed and r.verdict is not Verdict.ERROR for r in reports):
        return EXIT_FAILED
    if any(r.verdict is Verdict.ERROR for r in reports):
        return EXIT_USAGE
    return EXIT_OK


class _progress:
    """A progress bar on stderr while files are verified (hidden for --json or without a terminal)."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and sys.stderr.isatty() and total > 1
        self._bar: Any = None

    def __enter__(self) -> Callable[[Any], None]:
        if not self.enabled:
            return lambda report: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.__enter__()
        task = self._bar.add_task("verify", total=self.total)
        return lambda report: self._bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def _render(reports: list[Any], *, html_out: Path | None) -> None:
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    from hallmark.provenance import VERDICTS, Verdict

    out = Console()
    colour = {
        Verdict.TAMPERED: "red",
        Verdict.INVALID_CREDENTIALS: "red",
        Verdict.UNREADABLE_CREDENTIALS: "red",
        Verdict.UNTRUSTED_SIGNER: "red",
        Verdict.WATERMARK_MISMATCH: "red",
        Verdict.ERROR: "magenta",
        Verdict.HALLMARK_SIGNED: "green",
        Verdict.HALLMARK_RECOVERED: "green",
    }
    if len(reports) <= 3:
        for r in reports:
            _render_one(out, r, colour.get(r.verdict, "cyan"))
    table = Table(title="hallmark verify", title_justify="left")
    identities = any(r.c2pa and r.c2pa.identities for r in reports)
    for col in ("file", "verdict", "C2PA", "watermark", "audit record") + ("identity",) * identities:
        table.add_column(col, overflow="fold")
    for r in reports:
        marks = [w.scheme_id for w in r.watermarks if w.found]
        record = (r.record or {}).get("record_id") or ""
        # The manifest's state and what it amounts to: "Valid (valid)" reads as signer untrusted.
        c2pa = f"{r.c2pa.state} ({r.c2pa.assessment.value})" if r.c2pa and r.c2pa.present else "-"
        style = colour.get(r.verdict, "cyan")
        row = [r.source, f"[{style}]{r.verdict.value}[/]", c2pa, ", ".join(marks) or "-", str(record) or "-"]
        if identities:
            named = [f"{i.named} ({i.state})" for i in (r.c2pa.identities if r.c2pa else ())]
            row.append("; ".join(named) or "-")
        table.add_row(*row)
    out.print(table)
    counts = Counter(r.verdict for r in reports)
    for verdict, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        out.print(
            f"  {n:>5}  [{colour.get(verdict, 'cyan')}]{verdict.value}[/]: {VERDICTS[verdict]}",
            highlight=False,
        )
    if html_out is not None:
        out.print(f"HTML report written to {html_out}")


def _render_one(out: Any, r: Any, style: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    out.print(f"[bold]{escape(r.source)}[/]: [{style}]{r.verdict.value}[/]")
    out.print(f"  {escape(r.explanation)}", highlight=False)
    for w in r.warnings:
        out.print(f"  [yellow]warning:[/] {escape(w)}", highlight=False)
    if r.checks:
        table = Table(show_header=False, box=None, padding=(0, 1))
        for c in r.checks:
            mark = {
                "passed": "green",
                "checked": "yellow",
                "failed": "red",
                "error": "magenta",
                "not_found": "dim",
                "not_checked": "dim",
            }[c.status.value]
            codes = f" [dim]{escape(', '.join(c.codes))}[/]" if c.codes else ""
            table.add_row(f"  {c.name}", f"[{mark}]{c.status.value}[/]", escape(c.summary) + codes)
        out.print(table)
    profiles: dict[str, list[str]] = {}
    for row in r.compliance:
        profiles.setdefault(row.profile, []).append(f"{row.duty} {row.state.replace('_', ' ')}")
    for profile, duties in profiles.items():
        out.print(f"  [dim]{escape(profile)}: {escape(', '.join(duties))}[/]", highlight=False)
    if r.profiles.line:
        out.print(f"  [dim]{escape(r.profiles.line)}[/]", highlight=False)
