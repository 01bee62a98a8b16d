"""A newcomer's first minute: `hallmark` alone, `--version`, an example in every `--help`, and
shell completion."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hallmark.pipeline.cli import app

runner = CliRunner()


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command of the app, as the words that name it (() for the app)."""
    found = [prefix]
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):  # a group (typer brings its own click: no isinstance)
            found += command_paths(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


ALL = command_paths(typer.main.get_command(app))


def test_the_walk_finds_every_group_and_command() -> None:
    assert {("generate",), ("verify",), ("doctor",), ("audit", "prove"), ("keys", "init")} <= set(ALL)
    assert ("audit",) in ALL and () in ALL and len(ALL) > 20


@pytest.mark.parametrize("words", ALL, ids=lambda w: " ".join(w) or "hallmark")
def test_every_help_shows_an_example(words: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    examples = [line.strip() for line in result.stdout.splitlines() if "Example:" in line]
    assert len(examples) == 1, result.stdout
    assert examples[0].startswith(f"Example: hallmark {' '.join(words)}".rstrip()), examples[0]


def test_no_arguments_prints_the_three_jobs_and_the_next_command(home: Path) -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 0, result.output
    text = result.stdout
    for job, example in (
        ("generate", 'e.g. hallmark generate "a lighthouse at dawn" -n 2 --out out'),
        ("verify", "e.g. hallmark verify out/"),
        ("audit", "e.g. hallmark audit verify"),
    ):
        assert f"  {job} " in text and example in text
    assert "Next: hallmark keys init" in text and str(home / "keys") in text
    assert not home.exists()
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    text = runner.invoke(app, []).stdout
    assert 'Next: hallmark generate "a lighthouse at dawn" -n 2 --out out' in text


def test_version_comes_from_the_distribution() -> None:
    import hallmark

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"hallmark {metadata.version('hallmark-genai')}\n"
    assert hallmark.__version__ == metadata.version("hallmark-genai")


def test_shell_completion_shows_and_installs(tmp_path: Path) -> None:
    shown = runner.invoke(app, ["--show-completion", "bash"], prog_name="hallmark")
    assert shown.exit_code == 0 and "complete" in shown.stdout and "hallmark" in shown.stdout
    installed = runner.invoke(
        app, ["--install-completion", "bash"], prog_name="hallmark", env={"HOME": str(tmp_path)}
    )
    assert installed.exit_code == 0, installed.output
    assert "hallmark" in (tmp_path / ".bashrc").read_text()
