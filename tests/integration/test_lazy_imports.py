"""Commands that do not generate never import the generation stack (issue: fast path).

Each command runs in a fresh interpreter; afterwards the test reads ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
GENERATION_STACK = ("torch", "diffusers", "transformers")

PROBE = textwrap.dedent(
    """
    import json, sys
    sys.argv = ["hallmark", *sys.argv[1:]]
    from hallmark.pipeline.cli import app
    try:
        app()
    except SystemExit:
        pass
    heavy = ("torch", "diffusers", "transformers", "presidio_analyzer", "spacy", "onnxruntime", "c2pa",
             "imwatermark", "cv2", "matplotlib", "psycopg")
    sys.stderr.write("\\nMODULES " + json.dumps([m for m in heavy if m in sys.modules]) + "\\n")
    """
)


def loaded_modules(tmp_path: Path, *args: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), HALLMARK_HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))
    return json.loads(line.removeprefix("MODULES "))


@pytest.mark.parametrize("prompt", ["a cat", "a postcard for jane.doe@example.com", "a n\u200bud3 portrait"])
def test_check_never_imports_the_generation_stack(tmp_path: Path, prompt: str) -> None:
    loaded = loaded_modules(tmp_path, "check", prompt)
    assert not set(GENERATION_STACK) & set(loaded), loaded
    assert "onnxruntime" not in loaded and "c2pa" not in loaded  # the image side stays unloaded


def test_verify_never_imports_the_generation_stack(tmp_path: Path) -> None:
    image = tmp_path / "one.jpg"
    Image.new("RGB", (300, 200), (120, 30, 200)).save(image, quality=90)
    loaded = loaded_modules(tmp_path, "verify", str(image), "--json")
    assert not set(GENERATION_STACK) & set(loaded), loaded
    assert "presidio_analyzer" not in loaded


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    assert loaded_modules(tmp_path, "--help") == []


def test_the_overview_and_version_import_nothing_heavy(tmp_path: Path) -> None:
    assert loaded_modules(tmp_path) == []
    assert loaded_modules(tmp_path, "--version") == []
