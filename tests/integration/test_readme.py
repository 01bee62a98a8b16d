"""The README tells the truth: every ``hallmark`` command it shows exists, and its test command
is the one CI runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hallmark.pipeline.cli import app

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")


def shown_commands() -> list[list[str]]:
    """``hallmark <group> <command>`` prefixes from every sh block and table row of the README."""
    found: set[tuple[str, ...]] = set()
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            for part in re.split(r"&&|\|", line.split("#")[0]):
                words = shlex.split(part.strip()) if part.strip() else []
                if words[:1] == ["hallmark"]:
                    found.add(tuple(w for w in words[1:3] if re.fullmatch(r"[a-z][a-z-]*", w)))
    for cell in re.findall(r"`hallmark ([a-z-]+)(?: ([a-z|\\-]+))?", README):
        group, subs = cell
        for sub in subs.replace("\\", "").split("|") if subs else [""]:
            found.add(tuple(x for x in (group, sub) if x))
    return sorted([list(c) for c in found if c])


@pytest.mark.parametrize("command", shown_commands(), ids=" ".join)
def test_every_command_in_the_readme_exists(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, f"`hallmark {' '.join(command)}` does not exist: {result.output}"


def readme_commands() -> dict[str, str]:
    """The README's two commands: the main job (no extras) and the tests."""
    blocks = [b.strip() for b in re.findall(r"```sh\n(.*?)```", README, flags=re.S)]
    return {
        "main job": next(b for b in blocks if b.startswith("python3 -m venv") and "pytest" not in b),
        "tests": next(b for b in blocks if b.startswith("python3 -m venv") and "pytest" in b),
    }


@pytest.mark.parametrize("name", ["main job", "tests"])
def test_ci_runs_the_readme_commands_as_written(name: str) -> None:
    command = readme_commands()[name]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    marker = ci.index(f"# --- README: {name} (keep identical to the README) ---")
    assert ci[marker + 1] == command


def test_the_main_job_installs_no_extras() -> None:
    main = readme_commands()["main job"]
    assert "pip install -e . " in main and "[" not in main


def test_the_python_example_runs_as_written(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hallmark.provenance import init_keys

    init_keys(home / "keys")
    monkeypatch.chdir(tmp_path)
    example = re.search(r"```python\n(.*?)```", README, flags=re.S)
    assert example is not None
    namespace: dict[str, object] = {}
    exec(compile(example.group(1), "README.md", "exec"), namespace)  # noqa: S102
    report = namespace["report"]
    assert report.verdict.value == "hallmark-signed"  # type: ignore[attr-defined]
    assert len(list((tmp_path / "out").iterdir())) == 2
