"""``hallmark edit`` end to end: the released edit's chain, refusals, and bad input (exit 2, nothing written)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import c2pa
import pytest
from PIL import Image
from typer.testing import CliRunner

from hallmark.pipeline.cli import app

runner = CliRunner()


def hallmark(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    h = tmp_path_factory.mktemp("hallmark") / "home"
    code, _, err = hallmark("keys", "init", "--home", h)
    assert code == 0, err
    return h


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from skimage import data

    path = tmp_path_factory.mktemp("in") / "photo.jpg"
    Image.fromarray(data.astronaut()).resize((320, 320)).save(path, quality=90)
    return path


def test_make_it_night_releases_an_image_whose_ingredient_is_the_input(
    home: Path, photo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, stdout, err = hallmark(
        "edit", photo, "make it night", "--home", home, "--out", out, "--seed", "2", "--json"
    )
    assert code == 0, err
    (image,) = json.loads(stdout)["images"]
    with open(image["path"], "rb") as f, c2pa.Reader("image/png", f) as reader:
        store = json.loads(reader.json())
    (ingredient,) = store["manifests"][store["active_manifest"]]["ingredients"]
    assert ingredient["title"] == "photo.jpg" and ingredient["relationship"] == "parentOf"
    code, stdout, err = hallmark("verify", image["path"], "--home", home)
    assert code == 0, err
    text = " ".join(stdout.split())
    assert f"Edited with AI (hallmark record {image['record_id']}) from an image with no provenance." in text
    assert "This image was edited by an AI system (hallmark/tiny-sd (random weights)) using hallmark" in text
    code, stdout, _ = hallmark("verify", image["path"], "--home", home, "--json")
    report = json.loads(stdout.splitlines()[0])
    assert report["c2pa"]["chain"][0]["has_manifest"] is False
    html = tmp_path / "report.html"
    code, _, err = hallmark("verify", image["path"], "--home", home, "--html", html)
    assert code == 0, err
    assert "from an image with no provenance" in html.read_text()


def test_remove_her_clothes_is_refused(home: Path, photo: Path, tmp_path: Path) -> None:
    code, stdout, _ = hallmark("edit", photo, "remove her clothes", "--home", home, "--out", tmp_path / "out")
    assert code == 1 and "intimate_edit" in stdout
    assert not (tmp_path / "out").exists()


def _bad(tmp_path: Path, photo: Path) -> dict[str, tuple[list[object], str]]:
    small_mask = tmp_path / "small.png"
    Image.new("L", (64, 64)).save(small_mask)
    rgb_mask = tmp_path / "rgb.png"
    Image.new("RGB", (320, 320)).save(rgb_mask)
    anim = tmp_path / "anim.webp"
    Image.open(photo).save(anim, save_all=True, append_images=[Image.open(photo).rotate(90)])
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    big = tmp_path / "limits.yaml"
    big.write_text("id: t\nextends: default\nedit:\n  input:\n    max_pixels: 4096\n")
    small = tmp_path / "bytes.yaml"
    small.write_text("id: t\nextends: default\nedit:\n  input:\n    max_bytes: 1024\n")
    return {
        "mask size": ([photo, "--mask", small_mask], "the mask is 64x64"),
        "mask channels": ([photo, "--mask", rgb_mask], "single-channel"),
        "animated": ([anim], "animated or has several frames"),
        "unreadable": ([junk], "not a readable image"),
        "missing": ([tmp_path / "none.png"], "not a file"),
        "pixels": ([photo, "--policy", big], "pixel limit"),
        "bytes": ([photo, "--policy", small], "byte limit"),
    }


@pytest.mark.parametrize(
    "case", ["mask size", "mask channels", "animated", "unreadable", "missing", "pixels", "bytes"]
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    home: Path, photo: Path, tmp_path: Path, case: str
) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    before = {p.relative_to(copy): p.stat().st_size for p in copy.rglob("*") if p.is_file()}
    args, message = _bad(tmp_path, photo)[case]
    out = tmp_path / "out"
    first, *rest = args
    # A model folder that does not exist: the input's error, not the model's, proves nothing loaded.
    no_model = tmp_path / "no-model"
    code, _, err = hallmark(
        "edit", first, "make it night", *rest, "--home", copy, "--out", out, "--model", no_model
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    after = {p.relative_to(copy): p.stat().st_size for p in copy.rglob("*") if p.is_file()}
    assert after == before and not out.exists()


def test_the_readme_edit_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from hallmark.provenance import init_keys

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Editing an image", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert example is not None
    monkeypatch.setenv("HALLMARK_HOME", str(tmp_path / "home"))
    init_keys(tmp_path / "home" / "keys")
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (320, 256), "skyblue").save("photo.jpg")
    mask = Image.new("L", (320, 256), 0)
    mask.paste(255, (100, 60, 220, 200))
    mask.save("mask.png")
    namespace: dict[str, object] = {"GuardedPipeline": __import__("hallmark").GuardedPipeline}
    exec(compile(example.group(1), "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["result"].images and namespace["inpainted"].images  # type: ignore[attr-defined]
