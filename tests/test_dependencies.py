"""Every module that the default path imports comes from a declared dependency.

A module that only an extra (or the test tools) brings in works in the test venv and fails on a
fresh install: the default path once withheld every image because ``scipy`` arrived only with
scikit-image.  This test runs the default path (keys init, generate, verify, check, audit
verify) in a fresh interpreter, takes every module it imported, finds the distribution each came
from, and fails on any distribution outside the closure of hallmark's requirements without extras.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

DISTRIBUTION = "hallmark-genai"

# Runs in a fresh interpreter: the CLI in-process, then every imported module's top-level name.
DEFAULT_PATH = """
import json, sys
from typer.testing import CliRunner
from hallmark.pipeline.cli import app

home, out = sys.argv[1], sys.argv[2]
runner = CliRunner()
for args in (
    ["keys", "init", "--home", home],
    ["generate", "a lighthouse at dawn", "-n", "1", "--size", "256", "--out", out, "--home", home],
    ["verify", out, "--home", home, "--json"],
    ["check", "a cat", "--json"],
    ["audit", "verify", "--home", home, "--json"],
):
    result = runner.invoke(app, args)
    if result.exit_code != 0:
        sys.exit(f"hallmark {' '.join(args[:2])} exited {result.exit_code}: {result.output[-2000:]}")
print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))
"""


def declared_closure(root: str) -> set[str]:
    """The distributions that ``pip install root`` (no extras) brings in, as installed here."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # declared but not installed here: nothing was imported from it either
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def test_the_default_path_imports_only_declared_dependencies(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", DEFAULT_PATH, str(tmp_path / "home"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    imported = json.loads(run.stdout.strip().splitlines()[-1])

    allowed = declared_closure(DISTRIBUTION)
    # typer's test runner and the interpreter's own start-up are not the default path.
    allowed |= {"typer", "click", "pip", "setuptools"}
    owners = metadata.packages_distributions()
    undeclared = {}
    for module in imported:
        if module in sys.stdlib_module_names or module in ("__main__", "hallmark"):
            continue
        dists = {canonicalize_name(d) for d in owners.get(module, [])}
        if dists and not dists & allowed:
            undeclared[module] = sorted(dists)
    assert not undeclared, (
        f"the default path imports modules that no declared dependency provides: {undeclared}; "
        f"declare their distributions in pyproject.toml or remove the imports"
    )


def test_the_closure_is_read_from_the_installed_metadata() -> None:
    """The check above is only as good as its closure: it must hold the declared dependencies
    and leave out what only the test extra brings."""
    closure = declared_closure(DISTRIBUTION)
    assert {"scipy", "c2pa-python", "diffusers", "onnxruntime"} <= closure
    assert "scikit-image" not in closure and "pytest" not in closure
