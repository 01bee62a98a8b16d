"""What every command shares: the --home and --json options, rendering and error handling.

Commands are thin: parse, make one library call, render.  Library errors become one line on
stderr and exit code 2 (usage or input); a blocked prompt or a failed verification is exit 1;
`audit verify` exits 3 for a log that is consistent but could not be fully checked.
Every JSON object a command prints names its schema (``hallmark._schemas``): one object for a
command that reports one thing, JSON Lines for one that reports several.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

EXIT_OK = 0
EXIT_FAILED = 1  # blocked, or verification failed
EXIT_USAGE = 2  # usage or input error
EXIT_UNCHECKED = 3  # consistent, but not fully checked (`audit verify`: a key read from the log itself)

TrustOption = Annotated[
    list[Path] | None,
    typer.Option("--trust", help="PEM file of trusted CA certificates (repeatable)."),
]
TrustListOption = Annotated[
    Path | None, typer.Option("--trust-list", help="A C2PA trust list (PEM bundle of trust anchors).")
]
AllowNetworkOption = Annotated[
    bool,
    typer.Option("--allow-network", help="Fetch remote manifests and check certificate revocation (OCSP)."),
]
HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home", help="State folder (keys, audit.db). Default: $HALLMARK_HOME or ~/.local/share/hallmark."
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON object instead of tables; its 'schema' field names its JSON Schema."
    ),
]
JsonLinesOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print JSON Lines (one object per line, each naming its JSON Schema) instead of a table.",
    ),
]
PolicyOption = Annotated[str, typer.Option("--policy", "-p", help="Bundled policy name or YAML file.")]


def fail(message: str, *, hint: str = "", code: int = EXIT_USAGE) -> NoReturn:
    """Print one line naming the problem (and the hint) to stderr and exit."""
    line = f"error: {message}"
    if hint:
        line += f" ({hint})"
    print(line, file=sys.stderr)
    raise typer.Exit(code)


DOCTOR = "Run `hallmark doctor` to check this machine and home."


def with_doctor(hint: str) -> str:
    """``hint`` followed by the pointer to ``hallmark doctor``, for failures it would find."""
    if not hint:
        return DOCTOR
    return (
        f"{hint} {DOCTOR}" if hint.endswith((".", "!", "?")) else f"{hint}; {DOCTOR[0].lower()}{DOCTOR[1:]}"
    )


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Turn hallmark's own errors into a one-line message and exit code 2."""
    from hallmark.errors import HallmarkError, describe_error

    try:
        yield
    except HallmarkError as e:
        fail(str(e), hint=e.hint)
    except ModuleNotFoundError as e:  # a dependency that is not installed: say which, not a traceback
        fail(describe_error(e))


def with_schema(data: dict[str, Any], schema: str) -> dict[str, Any]:
    """``data`` with ``"schema"`` first: the URN of ``schema``, a kind of ``hallmark._schemas``."""
    from hallmark._schemas import schema_id

    return {"schema": schema_id(schema), **data}


def print_json(data: dict[str, Any], *, schema: str) -> None:
    """Print one object, indented, with ``"schema"`` (a kind of ``hallmark._schemas``) first."""
    sys.stdout.write(json.dumps(with_schema(data, schema), indent=2, ensure_ascii=False, default=str) + "\n")


def print_json_line(data: dict[str, Any], *, schema: str) -> None:
    """Print one object on one line (JSON Lines), with ``"schema"`` first, and flush it."""
    sys.stdout.write(json.dumps(with_schema(data, schema), ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def console() -> Any:
    from rich.console import Console

    return Console()


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: run a command body under ``errors_to_exit``."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with errors_to_exit():
            return fn(*args, **kwargs)

    return wrapper
