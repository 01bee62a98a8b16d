"""hallmark installs one import package, ``hallmark``, from a wheel and from an editable install.

The rooms keep their folders at the repository's top level (``policies/``, ``pipeline/``, ...)
and are mapped to ``hallmark.*`` by setuptools' ``package-dir``; nothing may install a top-level
``pipeline`` or ``guardrails`` that would shadow, or be shadowed by, another library.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOMS = ("policies", "guardrails", "provenance", "audit", "pipeline")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

IMPORT_ALL = (
    "import hallmark, hallmark.policies, hallmark.guardrails, hallmark.provenance, hallmark.audit, "
    "hallmark.pipeline, hallmark.pipeline.cli\n"
    "from hallmark import GuardedPipeline, Verifier, AuditLog, load_policy, verify_image, __version__\n"
    "import importlib.util\n"
    f"shadowing = [r for r in {ROOMS!r} if importlib.util.find_spec(r) is not None]\n"
    "assert not shadowing, shadowing\n"
    "print(hallmark.pipeline.__file__)\n"
)


def python(code: str, *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


def expected_packages() -> set[str]:
    """Every folder with an ``__init__.py`` under the rooms and src/hallmark, as hallmark.* names."""
    found = {"hallmark"}
    for init in (REPO / "src" / "hallmark").rglob("__init__.py"):
        found.add(".".join(("hallmark", *init.parent.relative_to(REPO / "src" / "hallmark").parts)))
    for room in ROOMS:
        for init in (REPO / room).rglob("__init__.py"):
            found.add(".".join(("hallmark", *init.parent.relative_to(REPO).parts)))
    return {p.rstrip(".") for p in found}


def test_every_package_folder_is_listed_for_setuptools() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert listed == expected_packages()


def test_the_editable_install_imports_hallmark_and_no_top_level_room(tmp_path: Path) -> None:
    run = python(IMPORT_ALL, cwd=tmp_path)
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("room", ROOMS)
def test_a_room_folder_refuses_its_bare_name(room: str) -> None:
    """From the repository root the folders are on sys.path; importing one bare must fail loudly
    rather than load a second copy of the room under another name."""
    run = python(f"import {room}", cwd=REPO)
    assert run.returncode != 0
    assert f"import hallmark.{room}, not {room}" in run.stderr


@pytest.mark.slow
def test_the_wheel_holds_only_hallmark_and_imports(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("hallmark_genai-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"hallmark", wheel.name.split("-py3")[0] + ".dist-info"}, top
    # Every module and data file of the tree is in the wheel, under its hallmark.* path.
    for room in ROOMS:
        for path in (REPO / room).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".yaml", ".txt") and "__pycache__" not in path.parts:
                assert f"hallmark/{path.relative_to(REPO).as_posix()}" in names, path
    assert "hallmark/py.typed" in names

    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    assert sorted(p.name for p in target.iterdir() if not p.name.endswith(".dist-info")) in (
        ["hallmark"],
        ["bin", "hallmark"],
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = python(IMPORT_ALL, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith(str(target)), run.stdout


@pytest.mark.slow
def test_installs_and_imports_beside_guardrails_ai(tmp_path: Path) -> None:
    """guardrails-ai installs a top-level ``guardrails``: the two must share one venv."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    for args in (["torch==2.13.0"], ["guardrails-ai", str(REPO)]):
        install = subprocess.run([*pip, *args], capture_output=True, text=True, timeout=1200)
        assert install.returncode == 0, install.stderr[-3000:]
    run = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import guardrails, hallmark.guardrails\n"
            "from guardrails import Guard\n"
            "from hallmark.guardrails import PromptFilter\n"
            "from hallmark.policies import load_policy\n"
            "print(guardrails.__file__)\n"
            "print(PromptFilter.from_policy(load_policy('default')).evaluate('a cat').action.value)\n",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    guardrails_file, action = run.stdout.split()
    assert "/site-packages/guardrails/" in guardrails_file and action == "allow"
