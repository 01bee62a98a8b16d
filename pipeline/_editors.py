"""Editor backends: anything that redraws an input image from a prompt.

One protocol, two implementations: ``DiffusersEditor`` over diffusers' image-to-image and
inpainting pipelines (``AutoPipelineForImage2Image`` / ``AutoPipelineForInpainting``), built from
the generation pipeline's own components with ``from_pipe`` (no second copy of the weights, the
same folder or hub id), and ``CallableEditor`` for any function that returns PIL images.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from PIL import Image

from hallmark.errors import PipelineError

from ._generators import DiffusersGenerator, Generator, _as_images


@dataclass(frozen=True)
class EditParams:
    """What the editor is asked for, after the prompt policy and the input checks have run.
    ``mask`` (mode ``L``, the input's size) is white where the image is redrawn."""

    image: Image.Image
    mask: Image.Image | None
    prompt: str
    negative_prompt: str | None
    n: int
    seed: int
    strength: float
    steps: int
    guidance_scale: float | None = None


@runtime_checkable
class Editor(Protocol):
    """Turns one edit request into ``params.n`` PIL images."""

    name: str

    def edit(self, params: EditParams) -> list[Image.Image]: ...


@dataclass
class CallableEditor:
    """Wraps ``fn(image, prompt, *, mask, n, seed, strength, steps, negative_prompt, guidance_scale)``;
    the function may accept any subset of those keyword arguments."""

    fn: Callable[..., Any]
    name: str = "callable"
    _accepts: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        names = ("mask", "n", "seed", "strength", "steps", "negative_prompt", "guidance_scale")
        params: Mapping[str, inspect.Parameter]
        try:
            params = inspect.signature(self.fn).parameters
        except (TypeError, ValueError):
            params = {}
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            self._accepts = frozenset(names)
        else:
            self._accepts = frozenset(params) & frozenset(names)

    def edit(self, params: EditParams) -> list[Image.Image]:
        offered = {
            "mask": params.mask,
            "n": params.n,
            "seed": params.seed,
            "strength": params.strength,
            "steps": params.steps,
            "negative_prompt": params.negative_prompt,
            "guidance_scale": params.guidance_scale,
        }
        out = self.fn(params.image, params.prompt, **{k: v for k, v in offered.items() if k in self._accepts})
        return _as_images(out, expected=params.n, name=self.name)


class DiffusersEditor:
    """Image-to-image (no mask) and inpainting (a mask) over one diffusers text-to-image
    pipeline's components.  A 4-channel UNet inpaints by blending latents outside the mask."""

    def __init__(self, generator: DiffusersGenerator) -> None:
        self.generator = generator
        self.name = generator.name
        self._pipes: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _pipe(self, kind: str) -> Any:
        with self._lock:
            pipe = self._pipes.get(kind)
            if pipe is None:
                from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

                auto = AutoPipelineForInpainting if kind == "inpaint" else AutoPipelineForImage2Image
                try:
                    pipe = auto.from_pipe(self.generator.pipe)
                except Exception as e:  # diffusers raises ValueError for pipelines it cannot map
                    raise PipelineError(
                        f"model {self.name!r} has no {'inpainting' if kind == 'inpaint' else 'image-to-image'} "
                        f"pipeline: {type(e).__name__}"
                    ) from e
                if hasattr(pipe, "set_progress_bar_config"):
                    pipe.set_progress_bar_config(disable=True)
                self._pipes[kind] = pipe
            return pipe

    def edit(self, params: EditParams) -> list[Image.Image]:
        import torch

        pipe = self._pipe("inpaint" if params.mask is not None else "img2img")
        width, height = params.image.size
        kwargs: dict[str, Any] = {
            "prompt": [params.prompt] * params.n,
            "image": params.image,
            "strength": params.strength,
            "num_inference_steps": params.steps,
            "generator": torch.Generator(device="cpu").manual_seed(params.seed),
        }
        if params.mask is not None:
            kwargs.update(mask_image=params.mask, width=width - width % 8, height=height - height % 8)
        if params.negative_prompt:
            kwargs["negative_prompt"] = [params.negative_prompt] * params.n
        if params.guidance_scale is not None:
            kwargs["guidance_scale"] = params.guidance_scale
        # As in generation: diffusers logs the text it truncates from over-long prompts.
        dlog = logging.getLogger("diffusers")
        level = dlog.level
        dlog.setLevel(logging.ERROR)
        try:
            with torch.inference_mode():
                out = pipe(**kwargs)
        finally:
            dlog.setLevel(level)
        return _as_images(out.images, expected=params.n, name=self.name)


_EDITORS: dict[int, DiffusersEditor] = {}
_EDITORS_LOCK = threading.Lock()


def editor_for(generator: Generator, editor: Editor | Callable[..., Any] | None = None) -> Editor:
    """The editor to use: ``editor`` when given (an Editor or a callable), else the image-to-image
    and inpainting pipelines of the generator's own diffusers model."""
    if isinstance(editor, Editor):
        return editor
    if editor is not None:
        if not callable(editor):
            raise PipelineError(f"an editor must be callable, not {type(editor).__name__}")
        return CallableEditor(editor, name=getattr(editor, "__name__", "callable"))
    if isinstance(generator, DiffusersGenerator):
        with _EDITORS_LOCK:  # one per loaded model, like the generators
            if id(generator) not in _EDITORS:
                _EDITORS[id(generator)] = DiffusersEditor(generator)
            return _EDITORS[id(generator)]
    raise PipelineError(
        f"generator {generator.name!r} cannot edit images",
        hint="Pass editor= (a function of the image and the prompt), or use a diffusers model.",
    )
