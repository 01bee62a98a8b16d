"""``hallmark doctor``: what this machine and this home need, and what to do about each problem."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from ._common import EXIT_FAILED, HomeOption, JsonOption, PolicyOption, command, console, print_json

if TYPE_CHECKING:
    from .._doctor import DoctorReport


@command
def doctor(home: HomeOption = None, policy: PolicyOption = "default", json_out: JsonOption = False) -> None:
    """Check this machine and HOME for what `hallmark generate` needs: Python, every dependency,
    the classifier model, label fonts, keys and their permissions, the audit log, disk space.

    Each problem comes with what to do about it, in one line.  Nothing is created or changed.
    Exit 0 when generating can run (warnings allowed), 1 when a problem stops it.

    Example: hallmark doctor --policy strict
    """
    from .._doctor import diagnose

    with _progress(enabled=not json_out) as tick:
        report = diagnose(home, policy=policy, progress=tick)
    if json_out:
        print_json(report.to_dict(), schema="doctor-report")
    else:
        _render(report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr naming the check that runs (importing every dependency takes a while)."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda name: None
        return
    from rich.console import Console

    with Console(stderr=True).status("checking") as status:
        yield lambda name: status.update(f"checking {name}")


_STYLE = {"ok": "green", "warning": "yellow", "problem": "bold red", "not_checked": "dim"}


def _render(report: DoctorReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    table = Table(title=f"hallmark doctor: home {report.home}, policy {report.policy}", title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    packages = [d for d in report.checks if d.name.startswith("package ") and d.status.value == "ok"]
    shown_packages = False
    for d in report.checks:
        if d in packages:
            if not shown_packages:  # the healthy dependencies on one row; a broken one gets its own
                versions = ", ".join(f"{p.name.removeprefix('package ')} {p.detail}" for p in packages)
                table.add_row("packages", "[green]ok[/]", escape(versions))
                shown_packages = True
            continue
        style = _STYLE[d.status.value]
        table.add_row(escape(d.name), f"[{style}]{d.status.value}[/]", escape(d.detail))
    out.print(table)
    todo = [d for d in report.checks if d.fix and d.status.value in ("problem", "warning")]
    if todo:
        out.print("To fix:")
        for d in todo:
            style = _STYLE[d.status.value]
            # one line each, however narrow the terminal: a fix is often a command to copy
            out.print(f"  [{style}]{escape(d.name)}[/]: {escape(d.fix)}", highlight=False, soft_wrap=True)
    if report.ok:
        warned = f" ({len(report.warnings)} warnings)" if report.warnings else ""
        out.print(f"[green]ready[/]: `hallmark generate` can run with policy {report.policy}{warned}")
    else:
        n = len(report.problems)
        out.print(
            f"[bold red]{n} problem{'s' if n > 1 else ''}[/] stop `hallmark generate`; "
            "fix them and run `hallmark doctor` again"
        )
