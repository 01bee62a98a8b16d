"""The ``hallmark`` command line: a thin layer over the library.

Each command group lives in its own ``_cli_*`` module and imports the library lazily, so that
``hallmark check`` and ``hallmark verify`` never pay for torch or diffusers.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from . import (
    _audit as _cli_audit,
)
from . import (
    _check as _cli_check,
)
from . import (
    _doctor as _cli_doctor,
)
from . import (
    _edit as _cli_edit,
)
from . import (
    _generate as _cli_generate,
)
from . import (
    _keys as _cli_keys,
)
from . import (
    _policy as _cli_policy,
)
from . import (
    _serve as _cli_serve,
)
from . import (
    _tokens as _cli_tokens,
)
from . import (
    _verify as _cli_verify,
)
from . import (
    _worker as _cli_worker,
)

app = typer.Typer(
    name="hallmark",
    invoke_without_command=True,
    pretty_exceptions_show_locals=False,
    # --install-completion / --show-completion; typer loads its completion code only when asked
    add_completion=True,
    rich_markup_mode="markdown",
)


def _print_version(value: bool) -> None:
    if value:
        from hallmark import __version__

        typer.echo(f"hallmark {__version__}")
        raise typer.Exit()


@app.callback()
def _hallmark(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Responsible generation for text-to-image models: policy, safety, watermark, C2PA, audit.

    Run `hallmark` alone for the three jobs and what to do first.

    Example: hallmark generate "a lighthouse at dawn" -n 2 --out out
    """
    if ctx.invoked_subcommand is None:
        from ._overview import overview

        typer.echo(overview())


app.command("generate")(_cli_generate.generate)
app.command("edit")(_cli_edit.edit)
app.command("check")(_cli_check.check)
app.command("verify")(_cli_verify.verify)
app.add_typer(_cli_audit.app, name="audit")
app.add_typer(_cli_policy.app, name="policy")
app.add_typer(_cli_keys.app, name="keys")
app.add_typer(_cli_tokens.app, name="tokens")
app.command("doctor")(_cli_doctor.doctor)
app.command("serve")(_cli_serve.serve)
app.command("worker")(_cli_worker.worker)
app.add_typer(_cli_worker.app, name="jobs")


def main() -> None:
    """The ``hallmark`` executable: run the command, then end the process without the
    interpreter's teardown.

    Freeing every loaded module one by one takes ~0.1 s, a tenth of a whole ``hallmark verify``.
    Each command has closed its files, logs and workers by the time it returns, so once stdout
    and stderr are flushed nothing is left to finalise.  (Tests drive ``app`` in-process and keep
    the normal exit.)"""
    try:
        app()
        code: object = 0
    except SystemExit as e:
        code = e.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): print it and fail, as Python does
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader that stopped early (`| head`), or closed
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
