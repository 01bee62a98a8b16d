"""What the serve tests share: a home with one released image (made by the real CLI with the
built-in tiny model), its stripped copy, and a validator for the shipped JSON Schemas."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from PIL import Image
from referencing import Registry, Resource

import hallmark
from hallmark._schemas import VERSIONS

REPO = Path(__file__).resolve().parents[2]


def hallmark_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HALLMARK_HOME": str(home), "OMP_NUM_THREADS": "1"}
    env.pop("HALLMARK_AUDIT_URL", None)
    env.pop("HALLMARK_SERVE_SETTINGS", None)
    return env


def hallmark_cli(
    *args: str | Path, home: Path, timeout: int = 300, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``hallmark ARGS`` in a subprocess, with ``home`` as HALLMARK_HOME (and ``extra_env``)."""
    return subprocess.run(
        [sys.executable, "-m", "hallmark", *map(str, args)],
        capture_output=True,
        text=True,
        env={**hallmark_env(home), **(extra_env or {})},
        timeout=timeout,
        cwd=REPO,
    )


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """keys init, one generated image, and a copy of it re-saved as JPEG without its manifest."""
    root = tmp_path_factory.mktemp("serve")
    home, out = root / "home", root / "out"
    made = hallmark_cli("keys", "init", home=home)
    assert made.returncode == 0, made.stderr
    made = hallmark_cli(
        "generate", "a lighthouse at dawn", "--seed", "5", "--size", "512", "--out", out, "--json", home=home
    )
    assert made.returncode == 0, made.stderr
    (image,) = json.loads(made.stdout)["images"]
    signed = Path(image["path"])
    stripped = root / "stripped.jpg"
    buffer = io.BytesIO()
    # No metadata carried over.  At 512 px the tiny model's noise keeps the mark through a JPEG
    # re-save (18 of 18 tried); at 256 px it was lost in 3 of 8, so the world is made at 512.
    Image.open(signed).convert("RGB").save(buffer, "JPEG", quality=90)
    stripped.write_bytes(buffer.getvalue())
    junk = root / "notes.png"
    junk.write_text("these are not the pixels you are looking for\n")
    return {
        "home": home,
        "root": root,
        "signed": signed,
        "stripped": stripped,
        "junk": junk,
        "record_id": image["record_id"],
    }


@pytest.fixture(scope="session")
def validate() -> Callable[[dict[str, Any]], str]:
    """Validate a JSON document against the shipped schema its ``schema`` field names (resolving
    references between shipped schemas); returns the kind."""
    schemas = {kind: json.loads(hallmark.schema_path(kind).read_text(encoding="utf-8")) for kind in VERSIONS}
    registry: Registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in schemas.values()
    )

    def check(doc: dict[str, Any]) -> str:
        kind = doc["schema"].split(":")[-2]
        validator = Draft202012Validator(schemas[kind], registry=registry)
        errors = sorted(validator.iter_errors(doc), key=str)
        assert not errors, f"{kind}: {errors[0].message} at {list(errors[0].absolute_path)}"
        return kind

    return check


@pytest.fixture(scope="session")
def run_hallmark() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_hallmark(*args, home=...)``: the CLI in a subprocess."""
    return hallmark_cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_options() -> list[str]:
    """``hallmark serve`` options of a module's server: a 2 MB upload limit and 4 /v1/check
    requests a minute per client (a module may override this fixture)."""
    return ["--max-upload-mb", "2", "--check-rate", "4", "--verify-rate", "600"]


@contextmanager
def running_server(
    home: Path,
    options: list[str],
    log_path: Path,
    *,
    audit_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """``hallmark serve`` in a subprocess on ``home`` (and ``audit_url`` as HALLMARK_AUDIT_URL,
    ``extra_env`` besides), on a free port: its base URL once /v1/health answers.  Its log
    (``log_path``) must hold no traceback when it stops."""
    port = free_port()
    env = {**hallmark_env(home), **(extra_env or {})}
    if audit_url is not None:
        env["HALLMARK_AUDIT_URL"] = audit_url
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hallmark", "serve", "--port", str(port), "--home", str(home), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"hallmark serve exited {process.returncode}: {log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"hallmark serve did not answer in 120 s: {log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert "Traceback" not in log_path.read_text(), log_path.read_text()[-3000:]


@pytest.fixture(scope="module")
def server(
    world: dict[str, Any], server_options: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL of ``hallmark serve`` on the world's home, with ``server_options``."""
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(world["home"], server_options, log_path) as url:
        yield url


@pytest.fixture(scope="session")
def start_server() -> Callable[..., Any]:
    """``with start_server(home, options, log_path, audit_url=...) as url``: a server of one's own."""
    return running_server
