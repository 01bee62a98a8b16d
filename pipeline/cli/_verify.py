"""``hallmark verify PATH...``: where did these images come from?

Parses the arguments, wires the audit log and the manifest store of HALLMARK_HOME into
``hallmark.provenance.verify_batch``, and renders the reports (a rich table, JSON lines or an HTML file).
Exit 0 when every image verified, 1 when any is tampered or fails verification, 2 when a path is
missing or a file could not be checked at all.  c2pa, numpy and the watermark decoders are only
imported once there is something to verify.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    AllowNetworkOption,
    HomeOption,
    JsonLinesOption,
    TrustListOption,
    TrustOption,
    command,
    fail,
    print_json_line,
    with_schema,
)


@command
def verify(
    items: Annotated[
        list[str],
        typer.Argument(
            metavar="PATHS",
            help="Image files or folders (searched recursively); with --remote also http(s) URLs, "
            "which workers started with --allow-network fetch.",
        ),
    ],
    trust: TrustOption = None,
    trust_list: TrustListOption = None,
    home: HomeOption = None,
    json_out: JsonLinesOption = False,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report to this file.")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Worker processes (0: verify in this process, no time limit).")
    ] = 1,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds allowed per file.")] = 60.0,
    allow_network: AllowNetworkOption = False,
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
    jsonl: Annotated[
        Path | None,
        typer.Option(
            "--jsonl",
            help="Also write each report to this JSON Lines file as soon as its file is verified "
            "(an interrupted run leaves every finished report in it).",
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            help="Skip files already reported in this JSON Lines file (same path, same content) and "
            "append the rest to it.",
        ),
    ] = None,
    ordered: Annotated[
        bool,
        typer.Option(
            "--ordered/--as-done", help="Report files in the order given, or as each finishes (workers)."
        ),
    ] = True,
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

    A long run over an archive: --jsonl FILE keeps every report as it finishes, --resume FILE
    picks up where an interrupted run stopped (hallmark verify archive/ --workers 2 --resume
    archive.jsonl).

    Example: hallmark verify out/ downloads/photo.jpg --html report.html
    """
    from hallmark.provenance import walk_images

    from .._request import check_writable_file
    from .._verifier import Verifier

    if html_out is not None:
        check_writable_file(html_out, what="the HTML report")  # before any image is read
    if jsonl is not None and resume is not None and jsonl.resolve() != resume.resolve():
        fail("--jsonl and --resume name different files", hint="--resume FILE appends to FILE itself.")
    log_path = resume or jsonl
    if log_path is not None:
        check_writable_file(log_path, what="reports")
    urls = [i for i in items if i.startswith(("http://", "https://"))]
    paths = [Path(i) for i in items if i not in urls]
    if urls and not remote:
        fail(
            f"{urls[0]} is a URL: URLs are fetched and verified by workers (hallmark verify --remote)",
            hint="Download it and verify the file, or start workers with --allow-network and use --remote.",
        )
    walk = walk_images(paths)
    files = walk.files
    if not files and not urls:
        fail(
            "no image files found in "
            + ", ".join(str(p) for p in paths)
            + (f" ({walk.skipped_line()})" if walk.skipped else ""),
            hint="Folders are searched for .jpg, .png, .webp and other image files.",
        )
    if walk.skipped:
        print(walk.skipped_line(), file=sys.stderr)
    if remote:
        if html_out is not None or trust or trust_list or profile or scheme or allow_network or log_path:
            fail(
                "--remote verifies with the workers' own homes: --html, --trust, --trust-list, --profile, "
                "--scheme, --allow-network, --jsonl and --resume apply to local verification only"
            )
        from ._remote import verify_remote

        verify_remote(
            [str(f.resolve()) for f in files] + urls, chunk_size=chunk, wait=wait, json_out=json_out
        )
    verifier = Verifier.from_home(
        home,
        trust=trust or [],
        trust_list=trust_list,
        allow_network=allow_network,
        profiles=profile or [],
        schemes=scheme,
    )
    from .._report_log import ReportLog

    with ReportLog.open(log_path, resume=resume is not None) if log_path else nullcontext() as log:
        tally = _Tally()
        todo = files
        if log is not None and log.recorded:
            todo = []
            for f in files:
                if (seen := log.done(f)) is not None:
                    tally.add_recorded(seen)
                else:
                    todo.append(f)
            print(f"resuming: {len(files) - len(todo)} files already reported in {log.path}", file=sys.stderr)
        # Every report is kept for an HTML file or a table of a few files; a long run keeps counts.
        keep = html_out is not None or (not json_out and len(todo) <= MAX_TABLE_ROWS)
        reports = []
        with _progress(len(todo), enabled=not json_out) as tick:
            for report in verifier.verify_batch(todo, workers=workers, timeout_s=timeout, ordered=ordered):
                line = with_schema(report.to_dict(), "verify-report")
                if log is not None:
                    log.append(line)
                if json_out:
                    print_json_line(report.to_dict(), schema="verify-report")
                tally.add(report)
                if keep:
                    reports.append(report)
                tick(report)
    for source, error in tally.errors:  # one line per unreadable file, whatever the output format
        print(f"error: {source}: {error}", file=sys.stderr)
    if html_out is not None:
        from hallmark.provenance import write_html_report

        write_html_report(reports, html_out)
    if not json_out:
        _render(reports, tally, html_out=html_out, shown=keep)
    raise typer.Exit(tally.exit_code())


MAX_TABLE_ROWS = 2000  # a longer run prints its counts, not a row per file (see --jsonl)


class _Tally:
    """What decides the exit code and the summary: counts by verdict, and the files that failed
    to verify at all, for a run that does not keep its reports."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.failed = 0
        self.errors: list[tuple[str, str]] = []

    def add(self, report: Any) -> None:
        from hallmark.provenance import Verdict

        self.counts[report.verdict.value] += 1
        if report.verdict is Verdict.ERROR:
            self.errors.append((report.source, report.error))
        elif not report.passed:
            self.failed += 1

    def add_recorded(self, seen: Any) -> None:
        """A file a resumed run skips, by what its earlier report said."""
        from hallmark.provenance import Verdict

        self.counts[seen.verdict] += 1
        known = {v.value: v for v in Verdict}
        # A verdict this version does not know counts as failed: exit 0 only for what it can vouch for.
        if seen.checks_failed or seen.verdict not in known or known[seen.verdict].failing:
            self.failed += 1

    def exit_code(self) -> int:
        if self.failed:
            return EXIT_FAILED
        if self.errors:
            return EXIT_USAGE
        return EXIT_OK


class _progress:
    """A progress bar on stderr while files are verified, with the rate and the time left
    (hidden for --json or without a terminal)."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and sys.stderr.isatty() and total > 1
        self._bar: Any = None

    def __enter__(self) -> Callable[[Any], None]:
        if not self.enabled:
            return lambda report: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.__enter__()
        task = self._bar.add_task("verify", total=self.total, rate="")

        def tick(report: Any) -> None:
            self._bar.advance(task)
            speed = self._bar.tasks[0].speed
            self._bar.update(task, rate=f"{speed:.1f} files/s" if speed else "")

        return tick

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def _render(reports: list[Any], tally: _Tally, *, html_out: Path | None, shown: bool) -> None:
    from rich.console import Console

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
    if shown:
        _table(out, reports, colour)
    else:
        out.print(f"{sum(tally.counts.values())} files: one row each is in --jsonl or --json output")
    known = {v.value: v for v in Verdict}
    for value, n in sorted(tally.counts.items(), key=lambda kv: -kv[1]):
        verdict = known.get(value)
        if verdict is None:
            meaning, style = "a verdict this version of hallmark does not know", "cyan"
        else:
            meaning, style = VERDICTS[verdict], colour.get(verdict, "cyan")
        out.print(f"  {n:>5}  [{style}]{value}[/]: {meaning}", highlight=False)
    if html_out is not None:
        out.print(f"HTML report written to {html_out}")


def _table(out: Any, reports: list[Any], colour: dict[Any, str]) -> None:
    from rich.table import Table

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
