"""``hallmark tokens create|list|revoke``: operators' bearer tokens for ``hallmark serve``'s
generation, image and audit endpoints, kept hashed in HALLMARK_HOME."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._common import HomeOption, JsonLinesOption, JsonOption, command, console, print_json, print_json_line

if TYPE_CHECKING:
    from ..serve import TokenStore

app = typer.Typer(
    help="Create, list and revoke the bearer tokens of the server's operator endpoints.\n\n"
    "Example: hallmark tokens create web-frontend",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="Who or what uses the token (letters, digits, . _ -).")]


def _store(home: Path | None) -> TokenStore:
    from .._home import Home
    from ..serve import TokenStore

    return TokenStore.of_home(Home.resolve(home).root)


@app.command("create")
@command
def create(name: NameArgument, home: HomeOption = None, json_out: JsonOption = False) -> None:
    """Make a token for NAME and print it once: only its SHA-256 is kept.

    Example: hallmark tokens create web-frontend
    """
    token, info = _store(home).create(name)
    if json_out:
        print_json({**info.to_dict(), "token": token}, schema="api-token")
        return
    typer.echo(token)
    typer.echo(
        f"Token {name!r} created: it is shown only now. Send it as 'Authorization: Bearer <token>'; "
        f"revoke it with `hallmark tokens revoke {name}`.",
        err=True,
    )


@app.command("list")
@command
def list_(home: HomeOption = None, json_out: JsonLinesOption = False) -> None:
    """List every token's name, creation and revocation time (never the tokens).

    Example: hallmark tokens list
    """
    found = _store(home).entries()
    if json_out:
        for info in found:
            print_json_line(info.to_dict(), schema="api-token")
        return
    from rich.table import Table

    table = Table(title=f"{len(found)} tokens")
    for column in ("name", "created", "revoked"):
        table.add_column(column)
    for info in found:
        table.add_row(info.name, info.created, info.revoked or "live")
    console().print(table)


@app.command("revoke")
@command
def revoke(name: NameArgument, home: HomeOption = None, json_out: JsonOption = False) -> None:
    """Revoke the live token NAME: a running server refuses it from its next request on.

    Example: hallmark tokens revoke web-frontend
    """
    info = _store(home).revoke(name)
    if json_out:
        print_json(info.to_dict(), schema="api-token")
        return
    typer.echo(f"Token {name!r} revoked at {info.revoked}.")
