"""``hallmark keys init|show``: the development CA, the C2PA signing certificate and the watermark key."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ._common import HomeOption, JsonOption, command, console, print_json

app = typer.Typer(
    help="Create and inspect signing and watermark keys.\n\nExample: hallmark keys init",
    no_args_is_help=True,
)


@app.command("init")
@command
def init(
    force: Annotated[
        bool, typer.Option("--force", help="Replace existing keys (earlier images stop resolving).")
    ] = False,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create a development CA, an ES256 C2PA signing certificate and a watermark key under HOME/keys.

    Running it again keeps the existing keys (images made with them must stay verifiable) and
    shows them; `--force` replaces them.

    Example: hallmark keys init --home ./hallmark-home
    """
    from hallmark.provenance import ensure_keys, init_keys

    from .._home import Home

    keys_dir = Home.resolve(home).keys
    info = init_keys(keys_dir, force=True) if force else ensure_keys(keys_dir)
    if json_out:
        print_json(info.to_dict(), schema="key-info")
        return
    verb = "Created keys in" if info.created else "Keys already exist in (use --force to replace)"
    _render(info.to_dict(), title=f"{verb} {info.keys_dir}")
    console().print(
        "[dim]This is a development CA: readers trust these images only if they add "
        f"{info.keys_dir / 'ca.pem'} as a trust anchor (`hallmark verify --trust`).[/dim]"
    )


@app.command("show")
@command
def show(home: HomeOption = None, json_out: JsonOption = False) -> None:
    """Show the signing certificate (subject, issuer, fingerprint, validity) and key file permissions.

    Example: hallmark keys show --json
    """
    from hallmark.provenance import read_key_info

    from .._home import Home

    info = read_key_info(Home.resolve(home).keys)
    if json_out:
        print_json(info.to_dict(), schema="key-info")
        return
    _render(info.to_dict(), title=f"Keys in {info.keys_dir}")


def _render(d: dict[str, Any], *, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, key in (
        ("subject", "subject"),
        ("issuer", "issuer"),
        ("fingerprint (SHA-256)", "fingerprint"),
        ("serial", "serial"),
        ("valid from", "not_before"),
        ("valid until", "not_after"),
        ("CA", "ca_subject"),
        ("CA fingerprint", "ca_fingerprint"),
    ):
        table.add_row(label, str(d[key]) if d[key] is not None else "-")
    for name, mode in d["files"].items():
        if mode is None:
            shown = "[dim]absent[/dim]"
        elif name.endswith(".key") and int(mode, 8) & 0o077:
            shown = f"[red]{mode} (readable by others: chmod 600)[/red]"
        else:
            shown = mode
        table.add_row(name, shown)
    for problem in d.get("problems") or ():
        table.add_row("[red]problem[/red]", f"[red]{problem}[/red]")
    console().print(table)
