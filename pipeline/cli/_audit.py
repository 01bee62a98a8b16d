"""``hallmark audit ...``: read, verify, prove, erase, export and move the audit log.

Each command opens the log of HALLMARK_HOME (or ``--log URL``), makes one library call and renders
the result as a table or ``--json``.  ``verify`` and ``verify-proof`` exit 1 when verification fails;
``verify`` exits 3 when the log is consistent but could not be fully checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._common import EXIT_FAILED, EXIT_UNCHECKED, HomeOption, JsonOption, command, console, fail, print_json

if TYPE_CHECKING:
    from hallmark.audit import AuditLog, Entry, LogCheck

app = typer.Typer(help="Review, verify and prove the tamper-evident audit log.", no_args_is_help=True)

LogOption = Annotated[
    str | None,
    typer.Option("--log", help="Audit log URL (sqlite:///path or postgresql://...). Default: HOME's log."),
]
SinceOption = Annotated[
    str | None, typer.Option(help="Only entries created at or after this RFC 3339 time or date.")
]
UntilOption = Annotated[
    str | None, typer.Option(help="Only entries created before this RFC 3339 time or date.")
]
UserOption = Annotated[str | None, typer.Option(help="Only entries of this user.")]
KindOption = Annotated[str | None, typer.Option(help="Only this kind (image.released, prompt.blocked, ...).")]
CategoryOption = Annotated[str | None, typer.Option(help="Only entries with a finding in this category.")]
DigestOption = Annotated[
    str | None, typer.Option("--policy-digest", help="Only entries under this policy digest (prefix).")
]
ModelOption = Annotated[str | None, typer.Option(help="Only entries from this model.")]
VerdictOption = Annotated[
    str | None, typer.Option(help="Only this outcome: released, blocked, failed, erased.")
]
ActionOption = Annotated[
    str | None, typer.Option(help="Only entries with a decision of this action (block, flag, ...).")
]


def _open(home: Path | None, url: str | None, *, create: bool = False) -> AuditLog:
    from hallmark.audit import AuditLog

    from .._home import Home

    h = Home.resolve(home)
    # The home's own log keeps its checkpoint file: appends move it forward, and a log wiped or
    # replaced behind it is never opened as a fresh one.
    pin = h.audit_checkpoint if h.is_home_log(url) else None
    return AuditLog.open(url or h.audit_url, key_path=h.audit_key, create=create, checkpoint_path=pin)


def _filters(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


def _table(entries: list[Entry], *, title: str) -> None:
    from rich.table import Table

    from hallmark.audit import decisions_of

    table = Table(title=title, title_justify="left")
    for col in ("#", "created", "kind", "record", "model", "decisions", "user"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            str(e.index),
            e.created,
            e.kind,
            str(e.data.get("record_id", "")),
            str(e.data.get("model", "")),
            ", ".join(decisions_of(e)),
            str((e.personal or {}).get("user") or ""),
        )
    console().print(table)


@app.command("list")
@command
def list_(
    since: SinceOption = None,
    until: UntilOption = None,
    user: UserOption = None,
    kind: KindOption = None,
    category: CategoryOption = None,
    policy_digest: DigestOption = None,
    model: ModelOption = None,
    verdict: VerdictOption = None,
    action: ActionOption = None,
    limit: Annotated[int, typer.Option(help="At most this many entries.")] = 50,
    log: LogOption = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """List entries, oldest first, filtered by time, user, kind, category, policy, model, verdict."""
    with _open(home, log) as audit_log:
        found = list(
            audit_log.entries(
                **_filters(
                    since=since,
                    until=until,
                    user=user,
                    kind=kind,
                    category=category,
                    policy_digest=policy_digest,
                    model=model,
                    verdict=verdict,
                    action=action,
                ),
                limit=limit,
            )
        )
    if json_out:
        print_json([e.to_dict() for e in found])
        return
    _table(found, title=f"{len(found)} audit entries")


@app.command("show")
@command
def show(
    what: Annotated[str, typer.Argument(help="Entry index or record id.")],
    log: LogOption = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Show one entry (by index) or every entry of a record id, in full."""
    with _open(home, log) as audit_log:
        found = [audit_log.get(int(what))] if what.isdigit() else audit_log.find(record_id=what)
    if not found:
        fail(f"no audit entry for {what}")
    if json_out:
        print_json([e.to_dict() for e in found] if len(found) > 1 else found[0].to_dict())
        return
    for e in found:
        console().print_json(json.dumps(e.to_dict(), ensure_ascii=False))


@app.command("find")
@command
def find(
    sha256: Annotated[str | None, typer.Option(help="SHA-256 of the image file.")] = None,
    payload: Annotated[str | None, typer.Option(help="Watermark payload (hex).")] = None,
    record: Annotated[str | None, typer.Option(help="Record id.")] = None,
    kind: KindOption = None,
    log: LogOption = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Find entries by image SHA-256, watermark payload or record id; exit 1 if none."""
    with _open(home, log) as audit_log:
        found = audit_log.find(sha256=sha256, payload=payload, record_id=record, kind=kind)
    if json_out:
        print_json([e.to_dict() for e in found])
    else:
        _table(found, title=f"{len(found)} matching entries")
    if not found:
        raise typer.Exit(EXIT_FAILED)


@app.command("verify")
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
        verifier_key=_key(key),
        checkpoint_file=h.audit_checkpoint if mine else None,
        checkpoints={f"the checkpoint file {p}": _read_text(p) for p in checkpoint or []},
        records=h.manifest_records() if mine else None,
        witnesses=witnesses,
        check_files=files,
    )
    if json_out:
        print_json(check.to_dict())
    else:
        _render_check(check)
    if not check.ok:
        raise typer.Exit(EXIT_FAILED)
    if check.unchecked:
        raise typer.Exit(EXIT_UNCHECKED)


def _render_check(check: LogCheck) -> None:
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


@app.command("checkpoint")
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
    """Print the signed checkpoint of the current tree and the verifier key to check it with."""
    from .._home import Home

    if pin and not Home.resolve(home).is_home_log(log):
        fail("--pin writes the home's checkpoint file: it follows the home's own log only")
    with _open(home, log) as audit_log:
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
            }
        )
        return
    typer.echo(cp.note, nl=False)
    typer.echo(f"\nverifier key: {vkey}")


@app.command("prove")
@command
def prove(
    index: Annotated[int | None, typer.Argument(help="Entry index for an inclusion proof.")] = None,
    size: Annotated[int | None, typer.Option(help="Tree size to prove against (default: now).")] = None,
    since: Annotated[
        Path | None,
        typer.Option("--since-checkpoint", help="Consistency proof from this older checkpoint file."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the proof JSON here.")] = None,
    log: LogOption = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Write an inclusion proof for INDEX, or a consistency proof since an older checkpoint (JSON)."""
    from hallmark.audit import parse_checkpoint

    if (index is None) == (since is None):
        fail("give an entry INDEX (inclusion proof) or --since-checkpoint FILE (consistency proof)")
    with _open(home, log) as audit_log:
        if since is not None:
            old = parse_checkpoint(_read_text(since))[0]
            proof = audit_log.prove_consistency(old.size, new_size=size).to_dict()
        else:
            assert index is not None
            proof = audit_log.prove(index, size=size).to_dict()
        proof["verifier_key"] = audit_log.verifier_key()
    text = json.dumps(proof, indent=2, ensure_ascii=False) + "\n"
    if out:
        out.write_text(text)
        if not json_out:
            console().print(f"wrote {proof['type']} proof to {out}")
            return
    typer.echo(text, nl=False)


@app.command("verify-proof")
@command
def verify_proof(
    proof_file: Annotated[Path, typer.Argument(help="A proof written by `hallmark audit prove`.")],
    key: Annotated[str, typer.Option(help="The log's verifier key (NAME+HASH+KEY) or a file holding it.")],
    json_out: JsonOption = False,
) -> None:
    """Check a proof offline with only the public key: no database needed. Exit 1 if it fails."""
    from hallmark.audit import verify_consistency, verify_inclusion
    from hallmark.errors import TamperError

    try:
        proof = json.loads(_read_text(proof_file))
    except ValueError:
        fail(f"{proof_file} is not JSON")
    if not isinstance(proof, dict):
        fail(f"{proof_file} is not a proof")
    vkey = _key(key)
    assert vkey is not None
    try:
        if proof.get("type") == "consistency":
            old, new = verify_consistency(proof, vkey)
            result = {
                "ok": True,
                "type": "consistency",
                "origin": new.origin,
                "old_size": old.size,
                "new_size": new.size,
            }
        else:
            cp = verify_inclusion(proof, vkey)
            result = {
                "ok": True,
                "type": "inclusion",
                "origin": cp.origin,
                "index": proof.get("index"),
                "tree_size": cp.size,
            }
    except TamperError as e:
        result = {"ok": False, "reason": str(e)}
    if json_out:
        print_json(result)
    elif result["ok"]:
        console().print(f"[green]proof verifies[/green]: {result}")
    else:
        console().print(f"[red]proof does NOT verify[/red]: {result['reason']}")
    if not result["ok"]:
        raise typer.Exit(EXIT_FAILED)


@app.command("erase")
@command
def erase(
    record: Annotated[str, typer.Argument(help="Record id whose personal data (prompt, user) to erase.")],
    force: Annotated[
        bool, typer.Option("--force", help="Erase even if younger than the retention setting.")
    ] = False,
    log: LogOption = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Delete a record's personal data and log the erasure; the log still verifies."""
    with _open(home, log) as audit_log:
        entry = audit_log.erase(record, force=force)
    if json_out:
        print_json(entry.to_dict())
        return
    console().print(
        f"erased personal data of record {record} (entries {entry.data['erased']}); logged as entry {entry.index}"
    )


@app.command("export")
@command
def export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
    include_personal: Annotated[bool, typer.Option(help="Include redacted prompts and users.")] = False,
    since: SinceOption = None,
    until: UntilOption = None,
    kind: KindOption = None,
    log: LogOption = None,
    home: HomeOption = None,
) -> None:
    """Export entries as JSON lines or CSV."""
    import sys

    with _open(home, log) as audit_log:
        filters = _filters(since=since, until=until, kind=kind)
        if out:
            with out.open("w", encoding="utf-8", newline="") as f:
                n = audit_log.export(f, fmt=fmt, include_personal=include_personal, **filters)
            console().print(f"exported {n} entries to {out}")
        else:
            audit_log.export(sys.stdout, fmt=fmt, include_personal=include_personal, **filters)


@app.command("stats")
@command
def stats(
    plot: Annotated[Path | None, typer.Option(help="Also draw the counts as a chart (PNG).")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    log: LogOption = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Counts per decision, category, policy, model and day."""
    with _open(home, log) as audit_log:
        result = audit_log.stats(**_filters(since=since, until=until))
    if plot:
        _plot(result.to_dict(), plot)
    if json_out:
        print_json(result.to_dict())
        return
    from rich.table import Table

    for title, counts in (
        ("kind", result.by_kind),
        ("decision", result.by_decision),
        ("category", result.by_category),
        ("policy", result.by_policy),
        ("model", result.by_model),
        ("day", result.by_day),
    ):
        table = Table(title=f"per {title}", title_justify="left")
        table.add_column(title)
        table.add_column("count", justify="right")
        for k, v in counts.items():
            table.add_row(k, str(v))
        console().print(table)
    if plot:
        console().print(f"chart written to {plot}")


@app.command("migrate")
@command
def migrate(
    to: Annotated[str, typer.Option("--to", help="URL of an empty target store.")],
    log: LogOption = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Copy the log into another store and prove the copy has the same Merkle root."""
    with _open(home, log) as audit_log:
        result = audit_log.migrate(to)
    if json_out:
        print_json(result.__dict__)
        return
    console().print(f"migrated {result.size} entries to {result.target}; same root {result.root_hash}")


witness_app = typer.Typer(
    help="Witnesses that cosign the log's checkpoints (C2SP tlog-witness, cosignature/v1).",
    no_args_is_help=True,
)
app.add_typer(witness_app, name="witness")


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
    json_out: JsonOption = False,
) -> None:
    """Register a witness: `audit witness cosign` asks it to cosign, `audit verify --witness` requires it."""
    from hallmark.audit import Witness, WitnessList

    from .._home import Home

    witnesses = WitnessList(Home.resolve(home).witnesses).add(Witness.from_target(target, key=key))
    if json_out:
        print_json([w.to_dict() for w in witnesses])
        return
    added = witnesses[-1]
    console().print(f"registered witness {added.name} ({added.url or 'offline'}); {len(witnesses)} in all")


@witness_app.command("list")
@command
def witness_list(home: HomeOption = None, json_out: JsonOption = False) -> None:
    """List the registered witnesses."""
    from hallmark.audit import WitnessList

    from .._home import Home

    witnesses = WitnessList(Home.resolve(home).witnesses).load()
    if json_out:
        print_json([w.to_dict() for w in witnesses])
        return
    for w in witnesses:
        console().print(f"{w.name}  {w.url or 'offline'}  {w.key}")


@witness_app.command("cosign")
@command
def witness_cosign(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each witness.")] = 10.0,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Ask every online witness to cosign the home's checkpoint; exit 1 if one did not."""
    from hallmark.audit import WitnessList, request_cosignatures

    from .._home import Home

    h = Home.resolve(home)
    witnesses = WitnessList(h.witnesses).load()
    if not witnesses:
        fail("no witnesses are registered", hint="Run `hallmark audit witness add URL|FILE` first.")
    with _open(home, None) as audit_log:
        results = request_cosignatures(
            audit_log, witnesses, checkpoint_file=h.audit_checkpoint, timeout=timeout
        )
    if json_out:
        print_json([r.__dict__ for r in results])
    else:
        for r in results:
            line = f"[green]{r.name} cosigned {r.size} entries[/green]" if r.ok else f"[red]{r.reason}[/red]"
            console().print(line if not r.offline else f"[yellow]{r.reason}[/yellow]")
    if not all(r.ok for r in results if not r.offline):
        raise typer.Exit(EXIT_FAILED)


def _plot(d: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    panels = [
        (t, d[k])
        for t, k in (
            ("per day", "by_day"),
            ("per decision", "by_decision"),
            ("per category", "by_category"),
            ("per policy", "by_policy"),
        )
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    for ax, (title, counts) in zip(axes.flat, panels, strict=True):
        ax.set_title(title)
        if counts:
            ax.bar(list(counts), list(counts.values()), color="#4477aa")
            ax.tick_params(axis="x", labelrotation=45, labelsize=8)
        else:
            ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(f"hallmark audit log: {d['total']} entries")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def _read_text(path: Path) -> str:
    from hallmark.errors import InputError

    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path}: {type(e).__name__}") from e


def _key(value: str | None) -> str | None:
    """A verifier key given inline or as a file path."""
    if value is None:
        return None
    p = Path(value)
    if "+" not in value or p.is_file():
        return _read_text(p).strip()
    return value.strip()
