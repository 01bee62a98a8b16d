"""``hallmark serve`` as a command: what it refuses in one line, and what it never imports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hallmark.errors import InputError
from hallmark.pipeline.serve import SERVE_EXTRA, ServeSettings

REPO = Path(__file__).resolve().parents[2]

# The CLI in a fresh interpreter with some modules made unimportable (as on a default install).
WITHOUT = """
import json, sys
blocked = json.loads(sys.argv[1])
for name in blocked:
    sys.modules[name] = None  # import raises ModuleNotFoundError
sys.argv = ["hallmark", *sys.argv[2:]]
from hallmark.pipeline.cli import app
try:
    app()
except SystemExit as e:
    code = e.code
else:
    code = 0
loaded = sorted(m for m in ("starlette", "uvicorn", "python_multipart") if sys.modules.get(m) is not None)
sys.stderr.write("\\nLOADED " + json.dumps(loaded) + "\\n")
sys.exit(code)
"""


def run(*args: str, blocked: tuple[str, ...] = (), home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, json.dumps(list(blocked)), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HALLMARK_HOME": str(home), "PYTHONPATH": str(REPO)},
    )


def message_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("LOADED ")]


@pytest.mark.parametrize("missing", ["starlette", "uvicorn", "python_multipart"])
def test_without_the_extra_serve_says_what_to_install(tmp_path: Path, missing: str) -> None:
    result = run("serve", blocked=(missing,), home=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = message_lines(result.stderr)
    assert line.startswith("error: hallmark serve needs the serve extra") and SERVE_EXTRA in line


def test_help_and_other_commands_never_import_the_web_stack(tmp_path: Path) -> None:
    for args in (("serve", "--help"), ("--help",), ("check", "a cat")):
        result = run(*args, home=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines()[-1] == "LOADED []", args


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--policy", "no-such-policy"), "no-such-policy"),
        (("--workers", "0"), "--workers must be 1 or more"),
        (("--port", "70000"), "is not a TCP port"),
        (("--max-upload-mb", "0"), "upload limit must be at least one byte"),
        (("--check-rate", "0"), "check per minute must be at least 1"),
        (("--timeout", "-1"), "time limit per file must be 0 or more seconds"),
        (("--trust-list", "/nonexistent/trust-list.pem"), "/nonexistent/trust-list.pem"),
    ],
)
def test_a_bad_option_fails_in_one_line_before_listening(
    tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    result = run("serve", *args, home=tmp_path)  # refused before anything listens
    assert result.returncode == 2, result.stderr
    (line,) = message_lines(result.stderr)
    assert line.startswith("error: ") and words in line


def test_settings_travel_through_the_environment() -> None:
    settings = ServeSettings(
        home="/srv/h", policy="strict", max_upload_bytes=10, check_per_minute=7, trust=("/a.pem", "/b.pem")
    )
    environ = {"HALLMARK_SERVE_SETTINGS": settings.to_environment()}
    assert ServeSettings.from_environment(environ) == settings
    assert ServeSettings.from_environment({}) == ServeSettings()
    with pytest.raises(InputError, match="does not hold server settings"):
        ServeSettings.from_environment({"HALLMARK_SERVE_SETTINGS": '{"home": "/h", "port": 1}'})


def test_the_serve_help_names_every_option(run_hallmark: Callable[..., Any], tmp_path: Path) -> None:
    result = run_hallmark("serve", "--help", home=tmp_path)
    assert result.returncode == 0
    for option in (
        "--host",
        "--port",
        "--workers",
        "--home",
        "--max-upload-mb",
        "--allow-network",
        "--timeout",
    ):
        assert option in result.stdout
