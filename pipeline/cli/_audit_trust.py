"""Trust in the audit log beyond its database: ``hallmark audit verify`` (read-only; which key it
trusted and where from, the checkpoints kept outside the log, witnesses), ``hallmark audit
checkpoint`` (export a copy, pin the home's file) and ``hallmark audit witness add|list|cosign``
(C2SP tlog-witness: witnesses that cosign the log's checkpoints).  ``_audit`` registers them."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._common import (
    EXIT_FAILED,
    EXIT_UNCHECKED,
    HomeOption,
    JsonLinesOption,
    JsonOption,
    command,
    console,
    fail,
    print_json,
    print_json_line,
)

if TYPE_CHECKING:
    from hallmark.audit import LogCheck

LogOption = Annotated[
    str | None,
    typer.Option("--log", help="Audit log URL (sqlite:///path or postgresql://...). Default: HOME's log."),
]


@command
def verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            help="A checkpoint kept elsewhere (`audit checkpoint --export`): the log must extend it. Repeatable."
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="The log's verifier key (NAME+HASH+KEY) or a file holding it. Default: the home's checkpoint"
            " key; without one, the key recorded in the log itself (exit 3)."
        ),
    ] = None,
    witness: Annotated[
        bool,
        typer.Option(
            "--witness",
            help="Require a cosignature from every registered witness on a checkpoint at least as new as the home's.",
        ),
    ] = False,
    files: Annotated[
        bool, typer.Option("--files/--no-files", help="Report released images whose file is gone.")
    ] = True,
    log: LogOption = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Re-derive every hash, the chain and the Merkle tree; hold the log to checkpoints kept outside it.

    Opens the database read-only.  The log must extend the home's checkpoint file and every
    --checkpoint; the home's manifests must all have their record.  Exit codes: 0 verified;
    1 verification failed (edited, rolled back, forked, replaced, a manifest without its record, a
    witness missing); 2 usage or input error (no log at all, an unreadable key); 3 consistent, but
    not fully checked: the checkpoint key was read from the log itself (pass --key), or there was
    no checkpoint kept outside the log to hold it to.

    Example: hallmark audit verify --checkpoint ~/kept/checkpoint.txt
    """
    from hallmark.audit import WitnessList, verify_log

    from .._home import Home

    h = Home.resolve(home)
    mine = h.is_home_log(log)
    witnesses = None
    if witness:
        witnesses = [w.key for w in WitnessList(h.witnesses).load()]
        if not witnesses:
            fail("no witnesses are registered", hint="Run `hallmark audit witness add URL|FILE` first.")
    check = verify_log(
        log or h.audit_url,
        key_path=h.audit_key,
        verifier_key=verifier_key(key),
        checkpoint_file=h.audit_checkpoint if mine else None,
        checkpoints={f"the checkpoint file {p}": read_text(p) for p in checkpoint or []},
        records=h.manifest_records() if mine else None,
        witnesses=witnesses,
        check_files=files,
    )
    if json_out:
        print_json(check.to_dict(), schema="audit-log-check")
    else:
        render_check(check)
    if not check.ok:
        raise typer.Exit(EXIT_FAILED)
    if check.unchecked:
        raise typer.Exit(EXIT_UNCHECKED)


@command
def checkpoint(
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            "--out",
            "-o",
            help="Also write the signed note to this file: a copy to keep elsewhere (`audit verify --checkpoint`).",
        ),
    ] = None,
    pin: Annotated[
        bool,
        typer.Option(
            "--pin",
            help="Write the home's checkpoint file from this log if it is missing or older (the log is verified first).",
        ),
    ] = False,
    log: LogOption = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Print the signed checkpoint of the current tree and the verifier key to check it with.

    Example: hallmark audit checkpoint --export ~/kept/checkpoint.txt
    """
    from .._home import Home

    if pin and not Home.resolve(home).is_home_log(log):
        fail("--pin writes the home's checkpoint file: it follows the home's own log only")
    with Home.resolve(home).open_audit_log(log, create=False) as audit_log:
        if pin:
            audit_log.pin()
        cp = audit_log.checkpoint()
        vkey = audit_log.verifier_key()
    if export:
        export.write_text(cp.note)
    if json_out:
        print_json(
            {
                "origin": cp.origin,
                "size": cp.size,
                "root_hash": cp.root_hex,
                "note": cp.note,
                "verifier_key": vkey,
            },
            schema="audit-checkpoint",
        )
        return
    typer.echo(cp.note, nl=False)
    typer.echo(f"\nverifier key: {vkey}")


def render_check(check: LogCheck) -> None:
    """What ``audit verify`` found: the key it trusted and where from, the verdict, witnesses, files."""
    out = console()
    source = {"key file": f"the key file {check.key_path}", "argument": "--key", "log": "the log itself"}
    if check.verifier_key:
        out.print(
            f"checkpoint key {check.verifier_key} (from {source.get(check.key_source, check.key_source)})"
        )
    if check.ok:
        held = f"; extends {', '.join(check.anchors)}" if check.anchors else ""
        if check.unchecked:
            out.print(
                f"[yellow]audit log is consistent[/yellow]: {check.size} entries, root {check.root_hash}{held}"
            )
            for item in check.unchecked:
                out.print(f"[yellow]consistent, but {item}[/yellow]")
        else:
            out.print(
                f"[green]audit log verifies[/green]: {check.size} entries, root {check.root_hash}{held}"
            )
    else:
        where = f" at entry {check.first_bad_index}" if check.first_bad_index is not None else ""
        out.print(f"[red]audit log does NOT verify{where}[/red]: {check.reason}")
    for w in check.witnesses:
        state = f"[green]cosigned {w.size} entries[/green]" if w.ok else f"[red]{w.reason}[/red]"
        out.print(f"witness {w.name}: {state}")
    for m in check.missing_files:
        out.print(f"[yellow]missing file[/yellow] entry {m.index} record {m.record_id}: {m.path}")


witness_app = typer.Typer(
    help="Witnesses that cosign the log's checkpoints (C2SP tlog-witness, cosignature/v1).\n\n"
    "Example: hallmark audit witness list",
    no_args_is_help=True,
)


@witness_app.command("add")
@command
def witness_add(
    target: Annotated[
        str,
        typer.Argument(
            help="An online witness's URL (its add-checkpoint prefix), or a FILE holding its key."
        ),
    ],
    key: Annotated[
        str | None,
        typer.Option(help="The witness's key NAME+KEYID+KEY (Ed25519 cosignature/v1); needed with a URL."),
    ] = None,
    home: HomeOption = None,
    json_out: JsonLinesOption = False,
) -> None:
    """Register a witness: `audit witness cosign` asks it to cosign, `audit verify --witness` requires it.

    Example: hallmark audit witness add https://witness.example.org --key NAME+KEYID+KEY
    """
    from hallmark.audit import Witness, WitnessList

    from .._home import Home

    witnesses = WitnessList(Home.resolve(home).witnesses).add(Witness.from_target(target, key=key))
    if json_out:
        for w in witnesses:
            print_json_line(w.to_dict(), schema="audit-witness")
        return
    added = witnesses[-1]
    console().print(f"registered witness {added.name} ({added.url or 'offline'}); {len(witnesses)} in all")


@witness_app.command("list")
@command
def witness_list(home: HomeOption = None, json_out: JsonLinesOption = False) -> None:
    """List the registered witnesses.

    Example: hallmark audit witness list --json
    """
    from hallmark.audit import WitnessList

    from .._home import Home

    witnesses = WitnessList(Home.resolve(home).witnesses).load()
    if json_out:
        for w in witnesses:
            print_json_line(w.to_dict(), schema="audit-witness")
        return
    for w in witnesses:
        console().print(f"{w.name}  {w.url or 'offline'}  {w.key}")


@witness_app.command("cosign")
@command
def witness_cosign(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each witness.")] = 10.0,
    home: HomeOption = None,
    json_out: JsonLinesOption = False,
) -> None:
    """Ask every online witness to cosign the home's checkpoint; exit 1 if one did not.

    Example: hallmark audit witness cosign --timeout 5
    """
    from hallmark.audit import WitnessList, request_cosignatures

    from .._home import Home

    h = Home.resolve(home)
    witnesses = WitnessList(h.witnesses).load()
    if not witnesses:
        fail("no witnesses are registered", hint="Run `hallmark audit witness add URL|FILE` first.")
    with h.open_audit_log(create=False) as audit_log:
        results = request_cosignatures(
            audit_log, witnesses, checkpoint_file=h.audit_checkpoint, timeout=timeout
        )
    if json_out:
        for r in results:
            print_json_line(asdict(r), schema="audit-cosignature")
    else:
        for r in results:
            line = f"[green]{r.name} cosigned {r.size} entries[/green]" if r.ok else f"[red]{r.reason}[/red]"
            console().print(line if not r.offline else f"[yellow]{r.reason}[/yellow]")
    if not all(r.ok for r in results if not r.offline):
        raise typer.Exit(EXIT_FAILED)


def read_text(path: Path) -> str:
    from hallmark.errors import InputError

    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path}: {type(e).__name__}") from e


def verifier_key(value: str | None) -> str | None:
    """A verifier key given inline or as a file path."""
    if value is None:
        return None
    p = Path(value)
    if "+" not in value or p.is_file():
        return read_text(p).strip()
    return value.strip()
