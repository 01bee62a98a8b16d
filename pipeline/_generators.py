"""Generator backends: anything that turns a prompt into PIL images.

One protocol, three implementations registered by kind: ``tiny`` (the offline default),
``diffusers`` (a local folder or a hub id) and ``callable`` (a GAN, a template renderer, any
function that returns PIL images).  ``generator_for(model)`` picks one from a name.
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from PIL import Image

from hallmark.errors import PipelineError

from ._quiet import quiet_model_libraries
from ._tiny import TINY_MODEL_ID, ensure_tiny_model


@dataclass(frozen=True)
class GenerationParams:
    """What the generator is asked for, after the prompt policy has run."""

    prompt: str
    negative_prompt: str | None
    n: int
    seed: int
    width: int
    height: int
    steps: int
    guidance_scale: float | None = None


@runtime_checkable
class Generator(Protocol):
    """Turns one request into ``params.n`` PIL images."""

    name: str  # recorded as the C2PA softwareAgent and in the audit log
    max_prompt_tokens: int | None  # the text encoder's limit, if the generator has one

    def generate(self, params: GenerationParams) -> list[Image.Image]: ...


@dataclass
class CallableGenerator:
    """Wraps a function ``fn(prompt, *, n, seed, width, height, steps, negative_prompt)``.

    The function may accept any subset of those keyword arguments; it must return a PIL image
    or a sequence of them.
    """

    fn: Callable[..., Any]
    name: str = "callable"
    max_prompt_tokens: int | None = None
    _accepts: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        params: Mapping[str, inspect.Parameter]
        try:
            params = inspect.signature(self.fn).parameters
        except (TypeError, ValueError):
            params = {}
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            self._accepts = frozenset(
                {"n", "seed", "width", "height", "steps", "negative_prompt", "guidance_scale"}
            )
        else:
            self._accepts = frozenset(params)

    def generate(self, params: GenerationParams) -> list[Image.Image]:
        offered = {
            "n": params.n,
            "seed": params.seed,
            "width": params.width,
            "height": params.height,
            "steps": params.steps,
            "negative_prompt": params.negative_prompt,
            "guidance_scale": params.guidance_scale,
        }
        out = self.fn(params.prompt, **{k: v for k, v in offered.items() if k in self._accepts})
        return _as_images(out, expected=params.n, name=self.name)


class DiffusersGenerator:
    """A diffusers text-to-image pipeline (Stable Diffusion, SDXL, turbo models...)."""

    def __init__(self, pipe: Any, *, name: str) -> None:
        self.pipe = pipe
        self.name = name
        tokenizer = getattr(pipe, "tokenizer", None)
        limit = getattr(tokenizer, "model_max_length", None)
        self.max_prompt_tokens = int(limit) if isinstance(limit, int) and 0 < limit < 100_000 else None
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        # Decode a batch one image at a time: the VAE's mid-block attention over a 512 px image's
        # 4096 latent positions costs ~64 MiB per image.  `hallmark generate -n 8` at 512 px
        # peaked at 1815 MiB without slicing and 696 MiB with it; pixels move by at most one level.
        vae = getattr(pipe, "vae", None)
        if vae is not None and hasattr(vae, "use_slicing"):
            vae.enable_slicing()

    @classmethod
    def from_pretrained(
        cls, model: str | Path, *, name: str | None = None, local_files_only: bool = False
    ) -> DiffusersGenerator:
        """Load a pipeline from a local folder or a hub id (the hub only where reachable)."""
        quiet_model_libraries()
        from diffusers import DiffusionPipeline
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()

        path = Path(model)
        if path.exists() and not (path / "model_index.json").is_file():
            raise PipelineError(f"model folder {path} has no model_index.json (not a diffusers pipeline)")
        if not path.exists() and ("/" not in str(model) or str(model).startswith((".", "/"))):
            raise PipelineError(
                f"unknown model {str(model)!r}: not a folder and not a hub id (org/name)",
                hint="Use --model tiny, a diffusers folder, or a hub id such as stabilityai/sd-turbo.",
            )
        kwargs: dict[str, Any] = {"local_files_only": local_files_only or path.exists()}
        components = _model_components(path) if path.exists() else {}
        if "safety_checker" in components:
            # hallmark's own image classifier runs on every image; diffusers' checker would
            # need weights from the hub and silently black out images.
            kwargs.update(safety_checker=None, requires_safety_checker=False)
        try:
            pipe = DiffusionPipeline.from_pretrained(str(model), **kwargs)
        except Exception as e:  # diffusers raises OSError, ValueError, EnvironmentError...
            raise PipelineError(
                f"cannot load model {str(model)!r}: {type(e).__name__}",
                hint="Check the path, or that the weights are in the Hugging Face cache when offline.",
            ) from e
        return cls(pipe, name=name or str(model))

    def generate(self, params: GenerationParams) -> list[Image.Image]:
        import torch

        generator = torch.Generator(device="cpu").manual_seed(params.seed)
        kwargs: dict[str, Any] = {
            "prompt": [params.prompt] * params.n,
            "num_inference_steps": params.steps,
            "height": params.height,
            "width": params.width,
            "generator": generator,
        }
        if params.negative_prompt:
            kwargs["negative_prompt"] = [params.negative_prompt] * params.n
        if params.guidance_scale is not None:
            kwargs["guidance_scale"] = params.guidance_scale
        # diffusers logs the text it truncates from over-long prompts: that could put personal
        # data in logs.  The prompt filter already truncates; this silences the rest.
        dlog = logging.getLogger("diffusers")
        level = dlog.level
        dlog.setLevel(logging.ERROR)
        try:
            with torch.inference_mode():
                out = self.pipe(**kwargs)
        finally:
            dlog.setLevel(level)
        return _as_images(out.images, expected=params.n, name=self.name)


def _model_components(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((path / "model_index.json").read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        raise PipelineError(f"model folder {path}: unreadable model_index.json") from e


def _as_images(out: Any, *, expected: int, name: str) -> list[Image.Image]:
    images = [out] if isinstance(out, Image.Image) else list(out) if isinstance(out, Sequence) else None
    if images is None or not all(isinstance(i, Image.Image) for i in images):
        raise PipelineError(f"generator {name!r} did not return PIL images")
    if len(images) != expected:
        raise PipelineError(f"generator {name!r} returned {len(images)} images, {expected} were asked for")
    return [i if i.mode == "RGB" else i.convert("RGB") for i in images]


# One loaded pipeline per model in a process: a second GuardedPipeline (another policy, another
# home) over the same weights shares them instead of loading them again.
_LOADED: dict[str, DiffusersGenerator] = {}
_LOADED_LOCK = threading.Lock()


def _shared(key: str, load: Callable[[], DiffusersGenerator]) -> DiffusersGenerator:
    with _LOADED_LOCK:
        if key not in _LOADED:
            _LOADED[key] = load()
        return _LOADED[key]


def tiny_generator(models_dir: Path) -> DiffusersGenerator:
    """The offline default: see ``hallmark.pipeline._tiny``."""
    folder = ensure_tiny_model(models_dir)
    name = f"hallmark/{TINY_MODEL_ID}-sd (random weights)"
    return _shared(str(folder.resolve()), lambda: DiffusersGenerator.from_pretrained(folder, name=name))


_KINDS = ("tiny", "a diffusers folder", "a hub id (org/name)")


def generator_for(model: str | Path | Callable[..., Any] | Generator, *, models_dir: Path) -> Generator:
    """Pick a backend: ``"tiny"``, a diffusers folder or hub id, a callable, or a Generator."""
    if isinstance(model, Generator):
        return model
    if callable(model) and not isinstance(model, (str, Path)):
        return CallableGenerator(model, name=getattr(model, "__name__", "callable"))
    if str(model) == TINY_MODEL_ID:
        return tiny_generator(models_dir)
    if isinstance(model, (str, Path)):
        key = str(Path(model).resolve()) if Path(model).exists() else str(model)
        return _shared(key, lambda: DiffusersGenerator.from_pretrained(model))
    raise PipelineError(f"unknown model {model!r}; known kinds: {', '.join(_KINDS)}")
