"""ruff and mypy are clean (STYLE.md: "mypy and ruff clean in CI"); CI runs them as tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=900, env=env
    )


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed (pip install -e '.[test]')")
def test_ruff_is_clean() -> None:
    lint = run("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = run("ruff", "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def package_tree(into: Path) -> Path:
    """The ``hallmark`` package as a wheel lays it out, made of links to the repository's files,
    so that mypy sees ``hallmark.pipeline`` where setuptools' ``package-dir`` puts it, whatever
    the mode of the editable install."""
    mapping = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-dir"
    ]
    if into.exists():
        shutil.rmtree(into)
    top = into / "hallmark"
    for package, folder in sorted(mapping.items(), key=lambda item: item[0].count(".")):
        target = top.joinpath(*package.split(".")[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        if package == "hallmark":
            top.mkdir()
            for entry in (REPO / folder).iterdir():
                if entry.name != "__pycache__":
                    (top / entry.name).symlink_to(entry)
        else:
            target.symlink_to(REPO / folder, target_is_directory=True)
    return into


@pytest.mark.skipif(shutil.which("mypy") is None, reason="mypy is not installed (pip install -e '.[test]')")
def test_mypy_is_clean() -> None:
    tree = package_tree(REPO / "build" / "mypy-tree")
    env = {**os.environ, "MYPYPATH": str(tree)}
    result = run(
        "mypy",
        "--config-file",
        str(REPO / "pyproject.toml"),
        "--cache-dir",
        str(REPO / ".mypy_cache"),
        "-p",
        "hallmark",
        cwd=tree,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
