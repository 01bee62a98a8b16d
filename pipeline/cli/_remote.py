"""``hallmark generate --remote`` and ``hallmark verify --remote``: queue the work for the workers,
show its progress, print what came back like the local commands do."""

from __future__ import annotations

import sys
import time
from typing import Any

import typer

from ._common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, console, fail, print_json, print_json_line

_POLL_S = 0.2


def generate_remote(*, wait: float, json_out: bool, **request: Any) -> None:
    """Queue one generation job (a fresh request id) and wait for it."""
    from .._records import new_record_id
    from ..worker import GenerationJob, make_app, submit_generation

    app = make_app()
    job = GenerationJob(request_id=str(new_record_id()), **request)
    async_result = submit_generation(app, job)
    print(f"queued generation job {job.request_id}", file=sys.stderr)
    with _spinner(enabled=not json_out) as show:
        deadline = time.monotonic() + wait
        while not async_result.ready():
            if time.monotonic() > deadline:
                fail(
                    f"job {job.request_id} not finished after {wait:g} s ({async_result.state})",
                    hint=f"It stays queued; see it with `hallmark jobs show {job.request_id}`.",
                )
            show(f"job {job.request_id}: {async_result.state.lower()}")
            time.sleep(_POLL_S)
    if async_result.failed():
        error = async_result.result
        fail(f"job {job.request_id} failed: {type(error).__name__}: {error}")
    result = async_result.result
    if json_out:
        print_json({"id": job.request_id, "state": "SUCCESS", "result": result}, schema="job-result")
    else:
        _render_generation(result)
    if result["blocked"] or not result["images"]:
        raise typer.Exit(EXIT_FAILED)


def verify_remote(files: list[str], *, chunk_size: int, wait: float, json_out: bool) -> None:
    """Queue a bulk verification of ``files`` (paths the workers can read, and URLs), with progress."""
    from ..worker import make_app, submit_verification

    app = make_app()
    summary = submit_verification(app, files, chunk_size=chunk_size)
    chunks = summary.parent.results if summary.parent is not None else []
    print(f"queued verification of {len(files)} files in {len(chunks)} jobs ({summary.id})", file=sys.stderr)
    reports: list[dict[str, Any]] = []
    pending = list(chunks)
    deadline = time.monotonic() + wait
    with _bar(len(files), enabled=not json_out) as advance:
        while pending:
            if time.monotonic() > deadline:
                fail(f"verification {summary.id} not finished after {wait:g} s", hint="It stays queued.")
            still = []
            for chunk in pending:
                if not chunk.ready():
                    still.append(chunk)
                    continue
                if chunk.failed():
                    fail(f"a verification job failed: {type(chunk.result).__name__}: {chunk.result}")
                for report in chunk.result:
                    reports.append(report)
                    if json_out:
                        print_json_line(report, schema="verify-report")
                advance(len(chunk.result))
            pending = still
            if pending:
                time.sleep(_POLL_S)
        counts = summary.get(timeout=max(1.0, deadline - time.monotonic()))
    for r in reports:
        if r["verdict"] == "error":
            print(f"error: {r['source']}: {r.get('error')}", file=sys.stderr)
    if not json_out:
        _render_verification(reports, counts)
    if any(not r["passed"] and r["verdict"] != "error" for r in reports):
        raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(EXIT_USAGE if any(r["verdict"] == "error" for r in reports) else EXIT_OK)


def _render_generation(result: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    d = result["decision"]
    if result["blocked"]:
        con.print(f"[bold red]blocked[/] by policy ({', '.join(d['categories'])}): {', '.join(d['rules'])}")
        return
    table = Table("image", "record", "classifier", "watermark")
    for img in result["images"]:
        table.add_row(
            img["path"], img["record_id"], img["verdict"]["action"], img["watermark"]["payload"] or "-"
        )
    for w in result["withheld"]:
        table.add_row("[red]withheld[/]", w["record_id"], w["reason"], w.get("error") or "-")
    con.print(table)
    con.print(f"released by worker {result['worker']}", highlight=False)


def _render_verification(reports: list[dict[str, Any]], counts: dict[str, Any]) -> None:
    from rich.table import Table

    from hallmark.provenance import VERDICTS, Verdict

    con = console()
    if len(reports) <= 50:
        table = Table(
            "file", "verdict", "audit record", title="hallmark verify --remote", title_justify="left"
        )
        for r in reports:
            table.add_row(r["source"], r["verdict"], str((r.get("record") or {}).get("record_id") or "-"))
        con.print(table)
    con.print(f"{counts['files']} files, {counts['passed']} passed")
    for verdict, n in counts["verdicts"].items():
        con.print(f"  {n:>5}  {verdict}: {VERDICTS[Verdict(verdict)]}", highlight=False)


class _spinner:
    """A status line on stderr while a job runs (hidden for --json or without a terminal)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._status: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda text: None
        from rich.console import Console

        self._status = Console(stderr=True).status("queued")
        self._status.__enter__()
        return lambda text: self._status.update(text)

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)


class _bar:
    """A progress bar on stderr while files are verified (hidden for --json or without a terminal)."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("verifying (remote)"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.__enter__()
        task = self._bar.add_task("verify", total=self.total)
        return lambda n: self._bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
