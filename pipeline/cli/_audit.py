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

from ._audit_trust import LogOption, checkpoint, verify, witness_app
from ._audit_trust import read_text as _read_text
from ._audit_trust import verifier_key as _key
from ._common import (
    EXIT_FAILED,
    HomeOption,
    JsonLinesOption,
    JsonOption,
    command,
    console,
    fail,
    print_json,
    print_json_line,
    with_schema,
)

if TYPE_CHECKING:
    from hallmark.audit import AuditLog, Entry

app = typer.Typer(
    help="Review, verify and prove the tamper-evident audit log.\n\nExample: hallmark audit list --since 2026-05-01",
    no_args_is_help=True,
)
app.add_typer(witness_app, name="witness")

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
    from .._home import Home

    return Home.resolve(home).open_audit_log(url, create=create)


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
    json_out: JsonLinesOption = False,
) -> None:
    """List entries, oldest first, filtered by time, user, kind, category, policy, model, verdict.

    Example: hallmark audit list --verdict blocked --since 2026-05-01
    """
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
        for e in found:
            print_json_line(e.to_dict(), schema="audit-entry")
        return
    _table(found, title=f"{len(found)} audit entries")


@app.command("show")
@command
def show(
    what: Annotated[str, typer.Argument(help="Entry index or record id.")],
    log: LogOption = None,
    home: HomeOption = None,
    json_out: JsonLinesOption = False,
) -> None:
    """Show one entry (by index) or every entry of a record id, in full.

    Example: hallmark audit show 0196a4c2-7d1e-7f3a-9b2c-5e8f1a2b3c4d
    """
    with _open(home, log) as audit_log:
        found = [audit_log.get(int(what))] if what.isdigit() else audit_log.find(record_id=what)
    if not found:
        fail(f"no audit entry for {what}")
    if json_out:
        for e in found:
            print_json_line(e.to_dict(), schema="audit-entry")
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
    json_out: JsonLinesOption = False,
) -> None:
    """Find entries by image SHA-256, watermark payload or record id; exit 1 if none.

    Example: hallmark audit find --payload 1eb75f869efb
    """
    with _open(home, log) as audit_log:
        found = audit_log.find(sha256=sha256, payload=payload, record_id=record, kind=kind)
    if json_out:
        for e in found:
            print_json_line(e.to_dict(), schema="audit-entry")
    else:
        _table(found, title=f"{len(found)} matching entries")
    if not found:
        raise typer.Exit(EXIT_FAILED)


app.command("verify")(verify)
app.command("checkpoint")(checkpoint)


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
    """Write an inclusion proof for INDEX, or a consistency proof since an older checkpoint (JSON).

    Example: hallmark audit prove 3 --out proof.json
    """
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
    text = json.dumps(with_schema(proof, "audit-proof"), indent=2, ensure_ascii=False) + "\n"
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
    """Check a proof offline with only the public key: no database needed. Exit 1 if it fails.

    Example: hallmark audit verify-proof proof.json --key verifier-key.txt
    """
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
        print_json(result, schema="audit-proof-check")
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
    """Delete a record's personal data and log the erasure; the log still verifies.

    Example: hallmark audit erase 0196a4c2-7d1e-7f3a-9b2c-5e8f1a2b3c4d
    """
    with _open(home, log) as audit_log:
        entry = audit_log.erase(record, force=force)
    if json_out:
        print_json(entry.to_dict(), schema="audit-entry")
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
    """Export entries as JSON lines or CSV.

    Example: hallmark audit export --format csv --out audit.csv
    """
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
    """Counts per decision, category, policy, model and day.

    Example: hallmark audit stats --since 2026-05-01 --plot stats.png
    """
    with _open(home, log) as audit_log:
        result = audit_log.stats(**_filters(since=since, until=until))
    if plot:
        _plot(result.to_dict(), plot)
    if json_out:
        print_json(result.to_dict(), schema="audit-stats")
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
    """Copy the log into another store and prove the copy has the same Merkle root.

    Example: hallmark audit migrate --to postgresql://db.example/hallmark
    """
    with _open(home, log) as audit_log:
        result = audit_log.migrate(to)
    if json_out:
        print_json(dict(result.__dict__), schema="audit-migration")
        return
    console().print(f"migrated {result.size} entries to {result.target}; same root {result.root_hash}")


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
