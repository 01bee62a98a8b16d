from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hallmark.errors import PipelineError
from hallmark.pipeline import CallableGenerator, DiffusersGenerator, GenerationParams, generator_for
from hallmark.pipeline._tiny import ensure_tiny_model


def _params(**kw: object) -> GenerationParams:
    base = dict(prompt="a lighthouse", negative_prompt=None, n=2, seed=1, width=64, height=64, steps=1)
    base.update(kw)
    return GenerationParams(**base)  # type: ignore[arg-type]


def test_callable_generator_passes_only_the_arguments_it_accepts() -> None:
    seen = {}

    def render(prompt: str, *, n: int, width: int) -> list[Image.Image]:
        seen.update(prompt=prompt, n=n, width=width)
        return [Image.new("RGBA", (width, width)) for _ in range(n)]

    gen = generator_for(render, models_dir=Path("/nonexistent"))
    images = gen.generate(_params())
    assert seen == {"prompt": "a lighthouse", "n": 2, "width": 64}
    assert [i.mode for i in images] == ["RGB", "RGB"]  # normalised


def test_callable_generator_rejects_wrong_output() -> None:
    with pytest.raises(PipelineError, match="did not return PIL images"):
        CallableGenerator(lambda prompt: "not an image").generate(_params(n=1))
    with pytest.raises(PipelineError, match="returned 1 images, 2 were asked for"):
        CallableGenerator(lambda prompt: Image.new("RGB", (8, 8))).generate(_params(n=2))


def test_unknown_model_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="unknown model 'no-such-model'"):
        DiffusersGenerator.from_pretrained("no-such-model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PipelineError, match="no model_index.json"):
        DiffusersGenerator.from_pretrained(tmp_path / "empty")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("models"))


def test_tiny_model_builds_once_and_loads_from_disk(tiny_dir: Path) -> None:
    assert (tiny_dir / "model_index.json").is_file()
    mtime = (tiny_dir / "hallmark-tiny.json").stat().st_mtime_ns
    assert ensure_tiny_model(tiny_dir.parent) == tiny_dir
    assert (tiny_dir / "hallmark-tiny.json").stat().st_mtime_ns == mtime


def test_tiny_model_is_deterministic_and_prompt_dependent(tiny_dir: Path) -> None:
    gen = DiffusersGenerator.from_pretrained(tiny_dir)
    assert gen.max_prompt_tokens == 77
    a = gen.generate(_params(n=1))
    b = gen.generate(_params(n=1))
    c = gen.generate(_params(n=1, prompt="a red cat"))
    assert a[0].size == (64, 64)
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[0]))
    assert not np.array_equal(np.asarray(a[0]), np.asarray(c[0]))


def test_over_long_prompts_never_reach_the_logs(tiny_dir: Path) -> None:
    # diffusers logs the text it truncates past 77 tokens; that text can hold personal data.
    import io
    import logging

    from diffusers.utils import logging as diffusers_logging

    gen = DiffusersGenerator.from_pretrained(tiny_dir)
    diffusers_logging.set_verbosity_warning()  # its default, whatever the environment says
    seen = io.StringIO()
    handler = logging.StreamHandler(seen)
    logging.getLogger("diffusers").addHandler(handler)
    try:
        gen.generate(_params(n=1, prompt="a quiet harbour " * 40 + "secretcanary"))
    finally:
        logging.getLogger("diffusers").removeHandler(handler)
    assert "secretcanary" not in seen.getvalue()


def test_a_model_is_loaded_once_per_process(tiny_dir: Path) -> None:
    from hallmark.guardrails._image import image_classifier

    a = generator_for(tiny_dir, models_dir=tiny_dir.parent)
    b = generator_for(str(tiny_dir) + "/", models_dir=tiny_dir.parent)
    assert a is b and a.pipe is b.pipe  # type: ignore[attr-defined]
    assert generator_for("tiny", models_dir=tiny_dir.parent) is generator_for(
        "tiny", models_dir=tiny_dir.parent
    )
    assert image_classifier("opennsfw") is image_classifier("opennsfw")
