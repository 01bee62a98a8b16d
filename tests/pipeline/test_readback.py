"""The release-time self-check: every released image reads back its own mark from its own bytes,
or is recorded ``watermark_readable: false`` and signed without a soft binding; bad input is
recorded honestly."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hallmark.audit import AuditLog
from hallmark.pipeline import GuardedPipeline
from hallmark.provenance import (
    CheckStatus,
    decode_pixels,
    init_keys,
    load_watermark_key,
    verify_image,
    watermark_scheme,
)

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import hard_content  # noqa: E402 - bench/hard_content.py, the set the benchmark tables by class


@pytest.fixture
def keyed_home(home: Path) -> Path:
    init_keys(home / "keys")
    return home


def entries(home: Path) -> list:
    with AuditLog.open(
        f"sqlite:///{home / 'audit.db'}", key_path=home / "keys" / "audit-checkpoint.key"
    ) as log:
        return list(log.entries())


def policy_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text("id: test\nextends: default\n" + body)
    return path


def generating(images: list[Image.Image]):  # noqa: ANN201 - a generator callable
    def generate(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
        return [im.copy() for im in images]

    return generate


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_every_hard_content_image_reads_back_its_own_mark_or_says_it_does_not(
    fmt: str, keyed_home: Path, tmp_path: Path
) -> None:
    content = [c for c in hard_content.content_set() if min(c.image.size) >= 256]
    policy = policy_file(tmp_path, "image:\n  enabled: false\n")  # the classifier is not under test
    with GuardedPipeline(generating([c.image for c in content]), home=keyed_home, policy=str(policy)) as pipe:
        result = pipe("hard content", n=len(content), out_dir=tmp_path / "out", fmt=fmt)
    assert len(result.images) == len(content) and not result.withheld
    scheme = watermark_scheme("hallmark.wm1", key=load_watermark_key(keyed_home / "keys"))
    unreadable = []
    for item, image, entry in zip(content, result.images, entries(keyed_home), strict=True):
        data = image.path.read_bytes()
        pixels, _ = decode_pixels(data)
        reading = scheme.detect(pixels)
        report = verify_image(data)
        assert report.c2pa is not None
        if entry.data["watermark_readable"]:
            assert image.watermark_readable and entry.data["stages"]["watermark_readable"] == "true"
            assert reading.found and reading.payload is not None and reading.payload.hex() == image.payload
            assert reading.bit_errors is not None
            assert report.c2pa.soft_bindings == ({"alg": "hallmark.wm1", "value": image.payload},)
        else:  # released flagged: said in the entry and the manifest, and no soft binding claimed
            unreadable.append(item.name)
            assert entry.data["stages"]["watermark_readable"] == "false"
            assert entry.data["stages"]["watermark"].startswith("unreadable:")
            assert report.c2pa.soft_bindings == ()
    # The content set is meant to be marked: at most one image of it may go out unreadable.
    assert len(unreadable) <= 1, unreadable


def test_the_self_check_reads_the_released_bytes(keyed_home: Path, tmp_path: Path) -> None:
    # What is read back is what is written: the pixels of the signed file are those checked.
    seen: list[bytes] = []
    with GuardedPipeline(generating([hard_content.fox_logo()]), home=keyed_home) as pipe:
        detect = pipe.stages.watermark.detect  # type: ignore[union-attr]

        def recording_detect(image: Image.Image):  # noqa: ANN202
            seen.append(np.asarray(image.convert("RGB")).tobytes())
            return detect(image)

        pipe.stages.watermark.detect = recording_detect  # type: ignore[union-attr]
        result = pipe("a fox logo on a white background", fmt="jpeg", out_dir=tmp_path / "out")
    (image,) = result.images
    released = Image.open(io.BytesIO(image.path.read_bytes())).convert("RGB")
    assert np.asarray(released).tobytes() == seen[-1]


@pytest.mark.parametrize(
    ("size", "colour"), [((1, 1), "grey"), ((16, 16), "grey"), ((1, 10_000), "grey"), ((10_000, 1), "grey")]
)
def test_images_too_small_to_carry_a_mark_follow_on_too_small(
    size: tuple[int, int], colour: str, keyed_home: Path, tmp_path: Path
) -> None:
    image = Image.new("RGB", size, colour)
    policy = policy_file(tmp_path, "image:\n  enabled: false\n")
    with GuardedPipeline(generating([image]), home=keyed_home, policy=str(policy)) as pipe:
        refused = pipe("a dot", out_dir=tmp_path / "a")
    assert refused.images == [] and "smaller than hallmark.wm1 can mark" in refused.withheld[0].error
    policy = policy_file(tmp_path, "image:\n  enabled: false\nwatermark:\n  on_too_small: manifest_only\n")
    with GuardedPipeline(generating([image]), home=keyed_home, policy=str(policy)) as pipe:
        released = pipe("a dot", out_dir=tmp_path / "b")
    (out,) = released.images
    entry = entries(keyed_home)[-1]
    assert out.payload is None and not out.watermark_readable
    assert entry.data["watermark_readable"] is False and entry.data["stages"]["watermark_readable"] == "false"
    report = verify_image(out.path, watermark_key=load_watermark_key(keyed_home / "keys"))
    assert report.c2pa is not None and report.c2pa.soft_bindings == ()
    check = report.check("watermark:hallmark.wm1")
    assert check.status is CheckStatus.NOT_CHECKED and "too small to carry" in check.summary.lower()


@pytest.mark.parametrize("colour", ["white", "black"])
@pytest.mark.parametrize("on_unreadable", ["flag", "withhold"])
def test_blank_images_cannot_carry_a_mark_and_follow_on_unreadable(
    colour: str, on_unreadable: str, keyed_home: Path, tmp_path: Path
) -> None:
    body = f"image:\n  enabled: false\nwatermark:\n  on_unreadable: {on_unreadable}\n"
    with GuardedPipeline(
        generating([Image.new("RGB", (512, 512), colour)]),
        home=keyed_home,
        policy=str(policy_file(tmp_path, body)),
    ) as pipe:
        result = pipe("nothing at all", out_dir=tmp_path / "out")
    (entry,) = entries(keyed_home)
    if on_unreadable == "withhold":
        assert result.images == [] and "uniformly black or white" in result.withheld[0].error
        assert entry.kind == "generation.failed"
        return
    (image,) = result.images
    assert not image.watermark_readable and image.payload is None  # nothing was marked
    assert entry.data["stages"]["watermark"].startswith("unreadable: hallmark.wm1 (no room for a mark")
    # Nothing was added to the pixels: a blank canvas stays blank.
    assert np.asarray(Image.open(image.path).convert("RGB")).std() == 0
    report = verify_image(image.path)
    assert report.c2pa is not None and report.c2pa.soft_bindings == ()
