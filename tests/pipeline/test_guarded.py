"""GuardedPipeline's guarantees, with a callable generator (no model load)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from hallmark.audit import AuditLog, PersonalCipher
from hallmark.errors import GuardrailError, InputError, PipelineError
from hallmark.guardrails import Action, ImageVerdict
from hallmark.pipeline import GuardedPipeline
from hallmark.policies import load_policy
from hallmark.provenance import content_fingerprint, init_keys, verify_image


def photo(size: int = 512) -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((size, size))


def render(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
    return [photo(width).resize((width, height)) for _ in range(n)]


@pytest.fixture
def keyed_home(home: Path) -> Path:
    init_keys(home / "keys")
    return home


def policy_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text("id: test\nextends: default\n" + body)
    return path


def entries(home: Path) -> list:
    with AuditLog.open(
        f"sqlite:///{home / 'audit.db'}", key_path=home / "keys" / "audit-checkpoint.key"
    ) as log:
        return list(log.entries())


def test_a_callable_generator_is_guarded_end_to_end(keyed_home: Path, tmp_path: Path) -> None:
    with GuardedPipeline(render, home=keyed_home) as pipe:
        result = pipe("a lighthouse at dawn", n=2, seed=5, out_dir=tmp_path / "out")
    assert [i.verdict.action for i in result.images] == [Action.ALLOW, Action.ALLOW]
    kinds = [e.kind for e in entries(keyed_home)]
    assert kinds == ["image.released", "image.released"]
    first = entries(keyed_home)[0]
    assert first.data["stages"]["watermark"].startswith("applied")
    assert first.data["request_id"] == entries(keyed_home)[1].data["request_id"]
    report = verify_image(result.images[0].path)
    assert report.c2pa is not None and report.c2pa.state in ("Valid", "Trusted")


def test_the_released_entry_keeps_the_content_fingerprint_of_the_marked_picture(
    keyed_home: Path, tmp_path: Path
) -> None:
    with GuardedPipeline(render, home=keyed_home) as pipe:
        result = pipe("a lighthouse at dawn", seed=5, out_dir=tmp_path / "out")
    (entry,) = entries(keyed_home)
    (image,) = result.images
    # PNG is lossless and signing leaves the pixels alone: the released file is the picture.
    assert entry.data["fingerprint"] == content_fingerprint(Image.open(image.path))
    assert entry.data["fingerprint"]["alg"] == "hallmark.cellsteps-v1"


def test_a_failing_classifier_releases_nothing_and_records_why(keyed_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with GuardedPipeline(render, home=keyed_home) as pipe:

        def broken(image: Image.Image) -> ImageVerdict:
            raise GuardrailError("classifier model could not be loaded")

        pipe.stages.image_safety.classify = broken  # type: ignore[union-attr,method-assign]
        result = pipe("a lighthouse", n=2, out_dir=out)
    assert result.images == [] and [w.reason for w in result.withheld] == ["failed:classifier"] * 2
    assert not any(out.iterdir())
    logged = entries(keyed_home)
    assert [e.kind for e in logged] == ["generation.failed"] * 2
    assert logged[0].data["stage"] == "classifier" and logged[0].data["error"] == "GuardrailError"


def test_a_missing_module_names_the_package_to_install(keyed_home: Path, tmp_path: Path) -> None:
    """A dependency missing on this machine withholds the image with an error a user can act on
    (the module and the pip command), never only a class name; the audit entry keeps the type."""
    with GuardedPipeline(render, home=keyed_home) as pipe:
        scheme = pipe.stages.watermark

        class Unimportable:
            def __getattr__(self, name: str) -> object:
                return getattr(scheme, name)

            def embed(self, *args: object, **kwargs: object) -> Image.Image:
                raise ModuleNotFoundError("No module named 'scipy'", name="scipy")

        pipe.stages.watermark = Unimportable()  # type: ignore[assignment]
        result = pipe("a lighthouse", out_dir=tmp_path / "out")
    (withheld,) = result.withheld
    assert withheld.reason == "failed:watermark"
    assert withheld.error.startswith("missing Python module 'scipy': install it with `pip install scipy`")
    assert "hallmark doctor" in withheld.error
    assert entries(keyed_home)[0].data["error"] == "ModuleNotFoundError"


def test_a_generator_error_that_quotes_the_prompt_is_not_repeated(keyed_home: Path, tmp_path: Path) -> None:
    def leaky(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
        raise ValueError(f"cannot draw {prompt!r} today")

    with GuardedPipeline(leaky, home=keyed_home) as pipe:
        with pytest.raises(
            PipelineError, match="ValueError \\(its message is withheld because it quotes the prompt\\)"
        ) as caught:
            pipe("my secret lighthouse", out_dir=tmp_path / "out")
    assert "secret" not in str(caught.value)


def test_blur_verdict_releases_a_blurred_copy(keyed_home: Path, tmp_path: Path) -> None:
    with GuardedPipeline(render, home=keyed_home) as pipe:
        pipe.stages.image_safety.classify = lambda image: ImageVerdict(
            action=Action.BLUR, scores={"nsfw": 0.75}
        )  # type: ignore[union-attr,method-assign]
        result = pipe("a lighthouse", out_dir=tmp_path / "out")
    released = np.asarray(Image.open(result.images[0].path).convert("L"), dtype=float)
    original = np.asarray(photo().convert("L"), dtype=float)
    assert np.abs(np.diff(released, axis=1)).mean() < 0.3 * np.abs(np.diff(original, axis=1)).mean()
    assert entries(keyed_home)[0].data["stages"]["blur"] == "applied"


def test_too_small_for_the_watermark_is_refused_by_default(keyed_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with GuardedPipeline(render, home=keyed_home) as pipe:
        result = pipe("a lighthouse", size=128, out_dir=out)
    assert result.images == [] and result.withheld[0].reason == "failed:watermark"
    assert "smaller than" in result.withheld[0].error
    assert not any(out.iterdir())


def test_too_small_is_released_with_the_manifest_only_when_the_policy_says_so(
    keyed_home: Path, tmp_path: Path
) -> None:
    policy = policy_file(tmp_path, "watermark:\n  on_too_small: manifest_only\n")
    with GuardedPipeline(render, home=keyed_home, policy=str(policy)) as pipe:
        result = pipe("a lighthouse", size=128, out_dir=tmp_path / "out")
    (image,) = result.images
    assert image.payload is None and entries(keyed_home)[0].data["fingerprint"] is None
    stage = entries(keyed_home)[0].data["stages"]["watermark"]
    assert stage.startswith("skipped: image 128x128 is smaller than")
    manifest = json.dumps(verify_image(image.path).to_dict()["c2pa"])
    assert "skipped: image 128x128" in manifest  # the skip is in the signed manifest too


def test_a_disabled_stage_is_written_in_the_manifest_and_the_log(keyed_home: Path, tmp_path: Path) -> None:
    policy = policy_file(tmp_path, "watermark:\n  enabled: false\nimage:\n  enabled: false\n")
    with GuardedPipeline(render, home=keyed_home, policy=str(policy)) as pipe:
        result = pipe("a lighthouse", out_dir=tmp_path / "out")
    stages = entries(keyed_home)[0].data["stages"]
    assert stages["watermark"] == "skipped: disabled by policy"
    assert stages["classifier"] == "skipped: disabled by policy"
    assert result.images[0].verdict.state.value == "not_checked"
    assert "skipped: disabled by policy" in json.dumps(verify_image(result.images[0].path).to_dict()["c2pa"])


def test_raw_prompts_are_kept_only_encrypted_when_the_policy_asks(keyed_home: Path, tmp_path: Path) -> None:
    prompt = "a postcard for jane.doe@example.com"
    with GuardedPipeline(render, home=keyed_home) as pipe:
        pipe(prompt, out_dir=tmp_path / "a")
    (plain,) = entries(keyed_home)
    assert "raw_prompt" not in plain.personal and "jane.doe" not in json.dumps(plain.personal)

    policy = policy_file(tmp_path, "audit:\n  store_raw_prompt: true\n")
    with GuardedPipeline(render, home=keyed_home, policy=str(policy)) as pipe:
        pipe(prompt, out_dir=tmp_path / "b")
    sealed = entries(keyed_home)[1]
    token = sealed.personal["raw_prompt"]
    assert "jane.doe" not in token
    cipher = PersonalCipher.from_file(keyed_home / "keys" / "personal.key")
    assert cipher.open(token, context=sealed.data["request_id"]) == prompt


def test_bad_requests_fail_before_anything_is_written(keyed_home: Path, tmp_path: Path) -> None:
    with GuardedPipeline(render, home=keyed_home) as pipe:
        with pytest.raises(PipelineError, match="n must be between 1 and 64"):
            pipe("a cat", n=0, out_dir=tmp_path)
        with pytest.raises(PipelineError, match="width must be a multiple of 8"):
            pipe("a cat", size=(500, 512), out_dir=tmp_path)
        with pytest.raises(PipelineError, match="unknown format 'gif'"):
            pipe("a cat", fmt="gif", out_dir=tmp_path)
    assert entries(keyed_home) == []


def test_a_failing_generator_is_recorded_and_reported(keyed_home: Path, tmp_path: Path) -> None:
    def broken(prompt: str) -> list[Image.Image]:
        raise RuntimeError("CUDA out of memory")

    with GuardedPipeline(broken, home=keyed_home) as pipe:
        with pytest.raises(PipelineError, match="generator 'broken' failed: RuntimeError"):
            pipe("a cat", out_dir=tmp_path)
    (entry,) = entries(keyed_home)
    assert entry.kind == "generation.failed" and entry.data["stage"] == "generate"


def test_the_default_policy_loads_with_every_stage_on() -> None:
    p = load_policy("default")
    assert p.watermark.enabled and p.c2pa.enabled and p.image.enabled and p.prompt.enabled


def test_a_mark_drowned_by_texture_is_re_embedded_stronger_and_reads_back(
    keyed_home: Path, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)

    def noise(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
        return [Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)) for _ in range(n)]

    with GuardedPipeline(noise, home=keyed_home) as pipe:
        result = pipe("static", n=2, out_dir=tmp_path / "out")
        key = pipe.stages.watermark  # the scheme instance, keyed with this home's watermark key
    assert len(result.images) == 2
    from hallmark.pipeline._readback import _shared_copy

    for image, entry in zip(result.images, entries(keyed_home), strict=True):
        assert "survives JPEG 75 at half size" in entry.data["stages"]["watermark"]
        released = Image.open(image.path)
        for copy in (released, _shared_copy(released)):
            reading = key.detect(copy)  # type: ignore[union-attr]
            assert reading.found and reading.payload.hex() == image.payload  # type: ignore[union-attr]


def test_the_shared_copy_halves_like_pil_and_keeps_luma_alone() -> None:
    from skimage import data

    from hallmark.pipeline._readback import _halve, _shared_copy

    photo = Image.fromarray(data.astronaut()).resize((512, 384))
    expected = np.asarray(photo.resize((256, 192), Image.Resampling.BILINEAR), np.int16)
    got = _halve(np.asarray(photo)).astype(np.int16)
    assert got.shape == expected.shape
    assert np.abs(got - expected)[1:-1, 1:-1].max() <= 1  # rounding; edge rows differ more
    colour, grey = _shared_copy(photo), _shared_copy(photo.convert("L"))
    assert colour.mode == "RGB" and grey.mode == "L"
    assert colour.size == grey.size == (256, 192)
    for copy, source in ((colour, photo), (grey, photo.convert("L"))):  # Pillow's JPEG 75, exactly
        buf = io.BytesIO()
        Image.fromarray(_halve(np.asarray(source)), source.mode).save(buf, format="JPEG", quality=75)
        assert np.array_equal(np.asarray(copy), np.asarray(Image.open(buf)))
    # The same Y plane up to rounding, which JPEG quantisation amplifies in a few places.
    diff = np.abs(np.asarray(colour.convert("L"), np.int16) - np.asarray(grey, np.int16))
    assert diff.mean() < 1.0 and np.median(diff) == 0


class _DetectOnly:
    """A scheme with no ``reads`` shortcut whose detector never finds anything."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.scheme_id, self.payload_bits, self.min_size = inner.scheme_id, inner.payload_bits, inner.min_size

    def embed(self, image: Image.Image, payload: bytes) -> Image.Image:
        return self._inner.embed(image, payload)

    def detect(self, image: Image.Image) -> Any:
        from hallmark.provenance import WatermarkReading

        return WatermarkReading(scheme_id=self.scheme_id, found=False)


def test_a_mark_whose_shared_copy_never_reads_is_released_with_the_weakness_recorded(
    keyed_home: Path, tmp_path: Path
) -> None:
    # The release decision is the detector's on the released bytes; ``reads`` (the shortcut
    # for the shared copy) failing only records the weakness, after every strength was tried.
    with GuardedPipeline(render, home=keyed_home) as pipe:
        pipe.stages.watermark.reads = lambda image, payload: False  # type: ignore[union-attr]
        result = pipe("a lighthouse", out_dir=tmp_path / "out")
    (image,) = result.images
    stages = entries(keyed_home)[0].data["stages"]
    assert "strength 1.0; reads back, but not after JPEG 75 at half size" in stages["watermark"]
    assert stages["watermark_readable"] == "true" and image.watermark_readable


@pytest.mark.parametrize("policy", ["default", "withhold"])
def test_a_mark_that_never_reads_back_follows_on_unreadable(
    policy: str, keyed_home: Path, tmp_path: Path
) -> None:
    body = "watermark:\n  on_unreadable: withhold\n" if policy == "withhold" else ""
    with GuardedPipeline(render, home=keyed_home, policy=str(policy_file(tmp_path, body))) as pipe:
        pipe.stages.watermark = _DetectOnly(pipe.stages.watermark)  # type: ignore[assignment]
        result = pipe("a lighthouse", out_dir=tmp_path / "out")
    (entry,) = entries(keyed_home)
    if policy == "withhold":
        assert result.images == [] and result.withheld[0].reason == "failed:watermark"
        assert "does not read back from the released image at any strength" in result.withheld[0].error
        assert entry.kind == "generation.failed" and entry.data["stage"] == "watermark"
        return
    # flag (the default): released, recorded unreadable, and signed without a soft binding.
    (image,) = result.images
    assert not image.watermark_readable and entry.data["watermark_readable"] is False
    assert entry.data["stages"]["watermark"].startswith("unreadable: hallmark.wm1 (does not read back")
    assert entry.data["stages"]["soft_binding"] == "omitted: the image's own mark does not read back"
    report = verify_image(image.path)
    assert report.c2pa is not None and report.c2pa.soft_bindings == ()
    stages = json.dumps(report.to_dict()["c2pa"])
    assert '"watermark_readable": "false"' in stages and "omitted: the image's own mark" in stages


def test_read_back_order_and_fallbacks(keyed_home: Path, tmp_path: Path) -> None:
    # The shared copy never decodes: every strength is tried, then the weakest mark whose
    # pristine image decodes is released and the weakness recorded.
    calls: list[tuple[int, float]] = []
    with GuardedPipeline(render, home=keyed_home) as pipe:
        scheme = pipe.stages.watermark
        embed = scheme.embed  # type: ignore[union-attr]

        def recording_embed(image: Image.Image, payload: bytes, *, strength: float = 1.0) -> Image.Image:
            calls.append((image.width, strength))
            return embed(image, payload, strength=strength)

        def reads(image: Image.Image, payload: bytes) -> bool:
            return image.width in (512, 384)  # pristine images, never a half-size copy

        scheme.embed, scheme.reads = recording_embed, reads  # type: ignore[union-attr]
        result = pipe("a lighthouse", out_dir=tmp_path / "out")
        small = pipe("a lighthouse", size=384, out_dir=tmp_path / "small")
    assert [s for _, s in calls] == [1.0, 1.6, 2.5, 1.0]
    (first, second) = [e.data["stages"]["watermark"] for e in entries(keyed_home)]
    assert len(result.images) == 1 and "strength 1.0; reads back, but not after JPEG 75 at half size" in first
    assert len(small.images) == 1 and "strength 1.0; too small to test a shared copy" in second


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failed_audit_write_leaves_no_image_behind(keyed_home: Path, tmp_path: Path, workers: int) -> None:
    """Disk full at the audit write: the request fails and no file stays, neither under a final
    name nor as a temp file that could be renamed into a signed image."""
    out = tmp_path / "out"
    with GuardedPipeline(render, home=keyed_home, workers=workers) as pipe:
        append = pipe.audit.append

        def disk_full(kind: str, *args: Any, **kwargs: Any) -> Any:
            if kind == "image.released":
                raise OSError(28, "No space left on device")
            return append(kind, *args, **kwargs)

        pipe.audit.append = disk_full  # type: ignore[method-assign]
        with pytest.raises(OSError, match="No space left"):
            pipe("a lighthouse", n=3, size=256, out_dir=out)
    assert sorted(p.name for p in out.iterdir()) == []


def test_an_unwritable_output_folder_is_refused_before_generating(keyed_home: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    calls: list[str] = []

    def counted(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
        calls.append(prompt)
        return render(prompt, n, width, height)

    with GuardedPipeline(counted, home=keyed_home) as pipe:
        with pytest.raises(InputError, match="cannot write images to .*a-file/out: .*a-file is not a folder"):
            pipe("a lighthouse", out_dir=blocker / "out")
    assert calls == [] and entries(keyed_home) == []


def test_a_temp_file_is_not_an_image_until_its_entry_commits(keyed_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    seen: list[bytes] = []
    with GuardedPipeline(render, home=keyed_home, workers=1) as pipe:
        append = pipe.audit.append

        def look_first(kind: str, *args: Any, **kwargs: Any) -> Any:
            if kind == "image.released":
                seen.extend(p.read_bytes() for p in out.glob(".*.tmp"))
            return append(kind, *args, **kwargs)

        pipe.audit.append = look_first  # type: ignore[method-assign]
        result = pipe("a lighthouse", size=256, out_dir=out)
    (pending,) = seen
    released = result.images[0].path.read_bytes()
    assert pending[:16] == bytes(16) and pending[16:] == released[16:] and released.startswith(b"\x89PNG")
    assert verify_image(pending).verdict.value == "error"


# -- several image backends ------------------------------------------------------------


def _two_backend_policy(tmp_path: Path, vit: Path) -> Path:
    """opennsfw (sexual) plus a local tiny ViT covering violence and depicts_minor."""
    return policy_file(
        tmp_path,
        "image:\n  backends:\n"
        f"    - {{id: vit, type: hf-image-classifier, model: '{vit}', covers: {{"
        "violence: {labels: [violent], thresholds: {block: 0.99}}, "
        "depicts_minor: {labels: [child], thresholds: {flag: 0.99}}}}\n",
    )


class _Scores:
    def __init__(self, name: str, **scores: float) -> None:
        self.name, self.scores = name, scores

    def score(self, images: list[Image.Image]) -> list[dict[str, float]]:
        return [dict(self.scores) for _ in images]


def test_sexual_and_a_minor_is_blocked_and_no_image_kept(
    keyed_home: Path, tmp_path: Path, tiny_vit: Path
) -> None:
    from hallmark.guardrails import ImageSafety

    out = tmp_path / "out"
    with GuardedPipeline(
        render, home=keyed_home, policy=str(_two_backend_policy(tmp_path, tiny_vit))
    ) as pipe:
        pipe.stages.image_safety = ImageSafety(
            pipe.policy,
            classifiers={
                "opennsfw": _Scores("opennsfw", nsfw=0.45),  # flag, not block, on its own
                "vit": _Scores("vit", violence=0.0, depicts_minor=0.995),
            },
        )
        result = pipe("a lighthouse", out_dir=out)
    assert result.images == [] and [w.reason for w in result.withheld] == ["blocked"]
    assert not any(out.iterdir())
    (entry,) = entries(keyed_home)
    assert entry.kind == "image.blocked" and "path" not in entry.data and "sha256" not in entry.data
    image = entry.data["decisions"]["image"]
    assert image["action"] == "block" and image["categories"]["sexual_minors"] == "checked"
    assert [f["rule_id"] for f in image["findings"]][-1] == "image.sexual_minors.block"


def test_uncovered_categories_are_not_checked_in_the_log_and_the_manifest(
    keyed_home: Path, tmp_path: Path, tiny_vit: Path
) -> None:
    with GuardedPipeline(
        render, home=keyed_home, policy=str(_two_backend_policy(tmp_path, tiny_vit))
    ) as pipe:
        result = pipe("a lighthouse", out_dir=tmp_path / "out")
    (image,) = result.images
    assert image.verdict.classifier == "opennsfw+vit" and "vit.violence:violent" in image.verdict.scores
    categories = entries(keyed_home)[0].data["decisions"]["image"]["categories"]
    assert categories["violence"] == categories["depicts_minor"] == categories["sexual_minors"] == "checked"
    assert categories["weapons"] == categories["hate"] == "not_checked"
    import c2pa

    with open(image.path, "rb") as f, c2pa.Reader("image/png", f) as reader:
        store = json.loads(reader.json())
    manifest = store["manifests"][store["active_manifest"]]
    (policy,) = [a["data"] for a in manifest["assertions"] if a["label"] == "org.hallmark.policy"]
    assert "weapons" in policy["image_not_checked"] and "violence" not in policy["image_not_checked"]


def test_a_classifier_that_fails_on_one_image_withholds_that_image_only(
    keyed_home: Path, tmp_path: Path
) -> None:
    def two(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
        return [photo(width), Image.fromarray(255 - np.asarray(photo(width)))]

    class FailsOnTheSecond:
        name = "fragile"

        def score(self, images: list[Image.Image]) -> list[dict[str, float]]:
            if np.asarray(images[0])[0, 0, 0] == 255 - np.asarray(photo(512))[0, 0, 0]:
                raise RuntimeError("cannot read this one")
            return [{"nsfw": 0.0}]

    from hallmark.guardrails import ImageSafety

    out = tmp_path / "out"
    for workers in (1, 2):
        with GuardedPipeline(two, home=keyed_home, workers=workers) as pipe:
            pipe.stages.image_safety = ImageSafety(pipe.policy, classifier=FailsOnTheSecond())
            result = pipe("a lighthouse", n=2, out_dir=out / str(workers))
        assert len(result.images) == 1 and [w.reason for w in result.withheld] == ["failed:classifier"]
        assert "image classifier fragile failed (RuntimeError)" in result.withheld[0].error
    kinds = [e.kind for e in entries(keyed_home)]
    assert sorted(kinds) == ["generation.failed", "generation.failed", "image.released", "image.released"]
