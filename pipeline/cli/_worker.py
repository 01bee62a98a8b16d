"""``hallmark worker`` and ``hallmark jobs``: the Celery door onto the library.

Celery comes with the ``worker`` extra; without it these commands fail in one line naming the
install command (exit 2).  Nothing here imports Celery before a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    AllowNetworkOption,
    HomeOption,
    JsonLinesOption,
    JsonOption,
    PolicyOption,
    command,
    console,
    fail,
    print_json,
    print_json_line,
)

app = typer.Typer(
    help="Queued jobs: list them, show or cancel one by its id (a generation job's request id).\n\n"
    "Example: hallmark jobs show 01a23744-6ad0-7e4b-ae6a-99ddca71aea1",
    no_args_is_help=True,
)


@command
def worker(
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="Comma-separated queues to serve: generate, verify.")
    ] = "generate,verify",
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Pool processes, each with its own loaded model.")
    ] = 1,
    model: Annotated[str, typer.Option(help="The model every pool process loads once.")] = "tiny",
    policy: PolicyOption = "default",
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Root folder for released images; jobs name folders under it.")
    ] = Path("."),
    allow_sqlite: Annotated[
        bool,
        typer.Option(
            "--allow-sqlite", help="Accept a SQLite audit log: every worker runs on this one machine."
        ),
    ] = False,
    allow_network: AllowNetworkOption = False,
    max_deliveries: Annotated[
        int | None,
        typer.Option(
            "--max-deliveries",
            help="Give a job up (poison job) once its worker died during this many deliveries "
            "of it. Default: $HALLMARK_MAX_DELIVERIES or 5.",
        ),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery's log level.")] = "INFO",
    home: HomeOption = None,
) -> None:
    """Run a worker: generation and bulk verification jobs from the broker ($HALLMARK_BROKER_URL).

    Each pool process loads the model and the verifier once. The audit log is $HALLMARK_AUDIT_URL
    (PostgreSQL, shared by every worker); keys are read from this machine's home. With
    --allow-network the worker also fetches the URLs of a bulk verification.

    Example: hallmark worker --concurrency 2 --out /shared/images  (with HALLMARK_AUDIT_URL=postgresql://db/hallmark)
    """
    from .._home import Home
    from ..worker import (
        QUEUES,
        WorkerSettings,
        check_audit_url,
        check_worker_keys,
        require_celery,
        run_worker,
    )

    require_celery()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in names if q not in QUEUES]
    if unknown or not names:
        fail(f"unknown queue {unknown[0] if unknown else queues!r}; known: {', '.join(QUEUES)}")
    if concurrency < 1:
        fail(f"--concurrency must be at least 1, got {concurrency}")
    resolved = Home.resolve(home)
    check_audit_url(resolved.audit_url, allow_sqlite=allow_sqlite)
    if not resolved.audit_url.startswith("sqlite"):
        check_worker_keys(resolved.audit_key)
    settings = WorkerSettings.from_env(
        home=resolved.root,
        model=model,
        policy=policy,
        out_root=out,
        max_deliveries=max_deliveries,
        allow_network=allow_network or None,
    )
    run_worker(settings, queues=names, concurrency=concurrency, loglevel=loglevel)


@app.command("list")
@command
def list_(json_out: JsonLinesOption = False) -> None:
    """List the jobs the workers are running or hold, and how many wait in each queue.

    Example: hallmark jobs list
    """
    from ..worker import list_jobs, make_app

    listing = list_jobs(make_app())
    if json_out:
        for job in listing["jobs"]:
            print_json_line(job, schema="job-result")
        return
    con = console()
    for job in listing["jobs"]:
        con.print(f"{job['id']}  {job['state']:<8}  {job['task']}  {job['worker']}", highlight=False)
    waiting = ", ".join(f"{n} {q}" for q, n in listing["waiting"].items())
    con.print(f"{len(listing['jobs'])} jobs on workers; waiting in the queues: {waiting}", highlight=False)


@app.command("show")
@command
def show(
    job_id: Annotated[str, typer.Argument(help="The job id (a generation job's request id).")],
    json_out: JsonOption = False,
) -> None:
    """Show a job's state and, once it finished, its result (an id the result store does not
    know, or whose result expired, shows as PENDING).

    Example: hallmark jobs show 01a23744-6ad0-7e4b-ae6a-99ddca71aea1
    """
    from ..worker import job_status, make_app

    status = job_status(make_app(), job_id)
    if json_out:
        print_json(status, schema="job-result")
        return
    con = console()
    con.print(f"{job_id}: {status['state']}")
    if "deliveries" in status:
        con.print(f"  delivered {status['deliveries']} times (put back after a worker died)", highlight=False)
    if "error" in status:
        con.print(f"  error: {status['error']}", highlight=False)
    result = status.get("result")
    if isinstance(result, dict) and "images" in result:
        for image in result["images"]:
            con.print(f"  {image['path']}  {image['record_id']}", highlight=False)
    elif isinstance(result, dict) and "verdicts" in result:
        for verdict, n in result["verdicts"].items():
            con.print(f"  {n:>5}  {verdict}", highlight=False)


@app.command("cancel")
@command
def cancel(job_id: Annotated[str, typer.Argument(help="The job id.")]) -> None:
    """Cancel a job that has not started yet (one already running finishes).

    Example: hallmark jobs cancel 01a23744-6ad0-7e4b-ae6a-99ddca71aea1
    """
    from ..worker import cancel_job, make_app

    cancel_job(make_app(), job_id)
    print(f"cancelled {job_id} (a job already running finishes)")
