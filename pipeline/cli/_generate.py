"""``hallmark generate``: one guarded request from the command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._common import (
    DOCTOR,
    EXIT_FAILED,
    HomeOption,
    JsonOption,
    PolicyOption,
    command,
    console,
    fail,
    print_json,
    with_doctor,
)

if TYPE_CHECKING:
    from .._guarded import GenerationResult


@command
def generate(
    prompt: Annotated[str, typer.Argument(help="What to draw.")],
    n: Annotated[int, typer.Option("-n", "--n", help="Number of images.")] = 1,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (default: random, recorded in the audit log).")
    ] = None,
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT or one number for a square.")] = "512",
    steps: Annotated[int, typer.Option(help="Denoising steps.")] = 2,
    model: Annotated[
        str,
        typer.Option(help="'tiny' (built-in, random weights: draws noise), a diffusers folder, or a hub id."),
    ] = "tiny",
    negative: Annotated[str | None, typer.Option("--negative", help="Negative prompt.")] = None,
    policy: PolicyOption = "default",
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the images.")] = Path("."),
    fmt: Annotated[
        str | None, typer.Option("--format", help="png, jpeg or webp (default: the policy's).")
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Who asked (kept apart from the log entry, erasable).")
    ] = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
    remote: Annotated[
        bool,
        typer.Option(
            "--remote",
            help="Queue the request for `hallmark worker` ($HALLMARK_BROKER_URL); --out names a folder "
            "under the worker's output root, --model and --policy must be the worker's (or left out).",
        ),
    ] = False,
    wait: Annotated[float, typer.Option(help="With --remote: seconds to wait for the job.")] = 600.0,
) -> None:
    """Generate images through the policy, safety classifier, watermark, C2PA signer and audit log.

    Example: hallmark generate "a lighthouse at dawn" -n 2 --seed 7 --out out
    """
    from .._tiny import TINY_MODEL_ID, TINY_NOTE

    try:
        width, height = _parse_size(size)
    except ValueError:
        fail(f"--size must be N or WIDTHxHEIGHT, got {size!r}")
    if remote:
        from ._remote import generate_remote

        generate_remote(
            wait=wait,
            json_out=json_out,
            prompt=prompt,
            n=n,
            seed=seed,
            width=width,
            height=height,
            steps=steps,
            negative_prompt=negative,
            user=user,
            out=None if out == Path(".") else str(out),
            fmt=fmt,
            model=None if model == TINY_MODEL_ID else model,
            policy=None if policy == "default" else policy,
        )
        return

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from hallmark.errors import AuditError, KeyMaterialError

    from .._guarded import GuardedPipeline

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        transient=True,
        disable=json_out or not sys.stderr.isatty(),
        console=None,
    )
    with progress, _doctor_finds(KeyMaterialError, AuditError):
        task = progress.add_task("loading model", total=n)
        with GuardedPipeline.from_pretrained(model, policy=policy, home=home) as pipe:

            def tick(stage: str, done: int) -> None:
                progress.update(
                    task,
                    description={"generate": "generating", "release": "releasing"}[stage],
                    completed=done,
                )

            result = pipe(
                prompt,
                negative_prompt=negative,
                n=n,
                seed=seed,
                size=(width, height),
                steps=steps,
                user=user,
                out_dir=out,
                fmt=fmt,
                progress=tick,
            )

    if json_out:
        print_json(result.to_dict(), schema="generate-result")
    else:
        _render(result)
        if model == TINY_MODEL_ID and result.images:
            print(f"note: {TINY_NOTE}", file=sys.stderr)
    for w in result.withheld:  # one line each on stderr, whatever the output format
        if w.reason.startswith("failed:"):
            print(f"error: image {w.record_id} withheld, {_failure_line(w.reason, w.error)}", file=sys.stderr)
    if result.blocked or not result.images:
        raise typer.Exit(EXIT_FAILED)


@contextmanager
def _doctor_finds(*kinds: type[Exception]) -> Iterator[None]:
    """Errors of these kinds (missing keys, an unreachable audit log) end with the pointer to
    ``hallmark doctor``, which finds their cause."""
    try:
        yield
    except kinds as e:
        hint = getattr(e, "hint", "")
        fail(str(e), hint=with_doctor(hint))


def _failure_line(reason: str, error: str) -> str:
    line = f"{reason.removeprefix('failed:')} failed: {error}"
    if error.startswith("missing Python module") and "hallmark doctor" not in error:
        line += f" ({DOCTOR})"
    return line


def _parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) == 1:
        return int(parts[0]), int(parts[0])
    if len(parts) == 2:
        return int(parts[0]), int(parts[1])
    raise ValueError(text)


def _render(result: GenerationResult) -> None:
    from rich.table import Table

    con = console()
    d = result.decision
    if result.blocked:
        con.print(f"[bold red]blocked[/] by policy {d.policy_id} ({', '.join(d.categories)})")
        for f in d.findings:
            con.print(f"  {f.rule_id} [{f.category}, {f.detector}] {f.explanation}")
        return
    if d.findings:
        con.print(f"prompt: [yellow]{d.action.value}[/] ({', '.join(d.categories)})")
    table = Table("image", "record", "classifier", "watermark")
    for img in result.images:
        table.add_row(str(img.path), img.record_id, img.verdict.action.value, img.payload or "-")
    for w in result.withheld:
        table.add_row("[red]withheld[/]", w.record_id, w.reason, w.error or "-")
    con.print(table)
    verdicts = [i.verdict for i in result.images] + [w.verdict for w in result.withheld if w.verdict]
    unchecked = sorted({c for v in verdicts for c in v.not_checked})
    if unchecked:  # allowed means allowed on what was looked at: say what was not
        con.print(f"image categories not checked by any backend: {', '.join(unchecked)}", highlight=False)
