"""The ``hallmark`` command line: a thin layer over the library.

Each command group lives in its own ``_cli_*`` module and imports the library lazily, so that
``hallmark check`` and ``hallmark verify`` never pay for torch or diffusers.
"""

from __future__ import annotations

import typer

from pipeline import _cli_audit, _cli_check, _cli_generate, _cli_keys, _cli_policy, _cli_verify

app = typer.Typer(
    name="hallmark",
    help="Responsible generation for text-to-image models: policy, safety, watermark, C2PA, audit.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

app.command("generate")(_cli_generate.generate)
app.command("check")(_cli_check.check)
app.command("verify")(_cli_verify.verify)
app.add_typer(_cli_audit.app, name="audit")
app.add_typer(_cli_policy.app, name="policy")
app.add_typer(_cli_keys.app, name="keys")

if __name__ == "__main__":  # pragma: no cover
    app()
