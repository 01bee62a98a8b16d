"""What every command shares: the --home and --json options, rendering and error handling.

Commands are thin: parse, make one library call, render.  Library errors become one line on
stderr and exit code 2 (usage or input); a blocked prompt or a failed verification is exit 1;
`audit verify` exits 3 for a log that is consistent but could not be fully checked.
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

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home", help="State folder (keys, audit.db). Default: $HALLMARK_HOME or ~/.local/share/hallmark."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
PolicyOption = Annotated[str, typer.Option("--policy", "-p", help="Bundled policy name or YAML file.")]


def fail(message: str, *, hint: str = "", code: int = EXIT_USAGE) -> NoReturn:
    """Print one line naming the problem (and the hint) to stderr and exit."""
    line = f"error: {message}"
    if hint:
        line += f" ({hint})"
    print(line, file=sys.stderr)
    raise typer.Exit(code)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Turn hallmark's own errors into a one-line message and exit code 2."""
    from hallmark.errors import HallmarkError

    try:
        yield
    except HallmarkError as e:
        fail(str(e), hint=e.hint)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


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
