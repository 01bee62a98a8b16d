"""Editing a real image: image-to-image and inpainting through the same guard as generation.

Before any model runs, the input is checked (``load_input``: a readable PNG, JPEG or WebP, one
frame, within the policy's byte and pixel limits, a mask of its size with one channel) and judged:

* the prompt by the prompt policy plus the edit-only rules (``edit.categories``);
* the input picture by the image classifier: an input it would block is refused, and a sexual
  edit of an image flagged as depicting a minor is refused whatever the prompt's other findings;
* the input's Content Credentials by the verify path: a training-and-mining assertion saying
  ``notAllowed`` for a use the policy honours (``edit.input.refuse_not_allowed``) refuses the
  edit, naming the assertion and its signer; invalid credentials are recorded, and refuse the
  edit only when the policy says so.  A hallmark watermark in the input links the new record to
  its parent record.

A refusal is one ``edit.refused`` audit entry (the input's sha256 and verdicts, never its pixels)
and a blocked result.  Otherwise the edited images go through every post-generation stage of
``GuardedPipeline`` and their manifests hold the input as a ``parentOf`` ingredient with
``c2pa.opened`` and ``c2pa.edited`` (``compositeWithTrainedAlgorithmicMedia`` for a masked region,
``trainedAlgorithmicMedia`` for a whole-image redraw).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from hallmark.errors import HallmarkError, InputError, PipelineError, describe_error
from hallmark.guardrails import Action, CheckStatus, EditIntentFilter, Finding, ImageVerdict, PromptDecision
from hallmark.policies import IMAGE_CATEGORIES, EditInputPolicy, Policy

from ._editors import EditParams, editor_for
from ._generators import GenerationParams
from ._records import new_record_id, request_record
from ._release import _timed, _Work
from ._request import MAX_IMAGES_PER_REQUEST, MAX_SIDE, check_request, check_writable
from ._results import GenerationResult

if TYPE_CHECKING:
    from ._guarded import GuardedPipeline

_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_SEXUAL_EDIT = frozenset({"sexual", "sexual_minors", "intimate_edit"})
_MINOR = "depicts_minor"
_TRAINING_LABELS = ("cawg.training-mining", "c2pa.training-mining")


@dataclass(frozen=True)
class EditInput:
    """The input of an edit as the later stages need it: the ingredient for the manifest, the
    digital source type of the edit and the record kept in the audit entry and the manifest."""

    record: dict[str, Any]
    ingredient: Any  # provenance.Ingredient, None when C2PA signing is disabled
    source_type: str
    agent: str  # the editor, the manifest's softwareAgent


@dataclass(frozen=True)
class LoadedInput:
    data: bytes
    mime: str
    image: Image.Image  # RGB
    mask: Image.Image | None  # L, the image's size
    title: str
    sha256: str


def _read(source: Any, *, what: str, limits: EditInputPolicy) -> tuple[bytes, str]:
    """The bytes of a path, bytes or PIL image, within the byte limit."""
    if isinstance(source, Image.Image):
        buf = io.BytesIO()
        source.save(buf, format="PNG")
        return buf.getvalue(), f"{what}.png"
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > limits.max_bytes:
            raise InputError(f"the {what} is larger than the {limits.max_bytes}-byte limit")
        return data, what
    path = Path(source)
    if not path.is_file():
        raise InputError(f"cannot read the {what} {path}: not a file")
    if path.stat().st_size > limits.max_bytes:
        raise InputError(f"the {what} {path} is larger than the {limits.max_bytes}-byte limit")
    try:
        return path.read_bytes(), path.name
    except OSError as e:
        raise InputError(f"cannot read the {what} {path}: {e.strerror or type(e).__name__}") from e


def _decode(data: bytes, *, what: str, limits: EditInputPolicy) -> tuple[Image.Image, str]:
    """One still frame of a PNG, JPEG or WebP within the pixel limit, decoded."""
    try:
        img = Image.open(io.BytesIO(data))
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise InputError(f"the {what} is not a readable image ({type(e).__name__})") from e
    if img.format not in _FORMATS:
        raise InputError(
            f"the {what} is {img.format or 'of an unknown format'}; edits take PNG, JPEG or WebP"
        )
    w, h = img.size
    if w * h > limits.max_pixels:
        raise InputError(f"the {what} has {w}x{h} pixels, over the {limits.max_pixels}-pixel limit")
    if getattr(img, "n_frames", 1) > 1 or getattr(img, "is_animated", False):
        raise InputError(f"the {what} is animated or has several frames; edits take one still image")
    try:
        img.load()
    except (OSError, ValueError, SyntaxError) as e:
        raise InputError(f"the {what} is truncated or corrupt ({type(e).__name__})") from e
    return img, _FORMATS[img.format]


def check_edit(
    image: Any, *, mask: Any, strength: float, n: int, steps: int, fmt: str, policy: Policy
) -> LoadedInput:
    """Refuse an edit request hallmark will not run, before any model loads or anything is
    written (``hallmark edit`` calls it before loading the model): the settings, the input, the mask."""
    if not 0.0 < strength <= 1.0:
        raise InputError(f"strength must be above 0 and at most 1, got {strength}")
    if not 1 <= n <= MAX_IMAGES_PER_REQUEST:
        raise PipelineError(f"n must be between 1 and {MAX_IMAGES_PER_REQUEST}, got {n}")
    if not policy.edit.enabled:
        raise PipelineError(f"policy {policy.id!r} does not allow edits (edit.enabled: false)")
    loaded = load_input(image, mask=mask, limits=policy.edit.input)
    width, height = loaded.image.size
    check_request(
        n=n, width=max(64, width - width % 8), height=max(64, height - height % 8), steps=steps, fmt=fmt
    )
    return loaded


def load_input(image: Any, *, mask: Any = None, limits: EditInputPolicy) -> LoadedInput:
    """Read and check an edit's input and mask; ``InputError`` (one line) for anything unusable."""
    data, title = _read(image, what="input image", limits=limits)
    img, mime = _decode(data, what="input image", limits=limits)
    if min(img.size) < 64 or max(img.size) > MAX_SIDE:
        raise InputError(
            f"the input image is {img.size[0]}x{img.size[1]}; edits take 64 to {MAX_SIDE} px a side"
        )
    m = None
    if mask is not None:
        mdata, _ = _read(mask, what="mask", limits=limits)
        m, _ = _decode(mdata, what="mask", limits=limits)
        if m.size != img.size:
            raise InputError(
                f"the mask is {m.size[0]}x{m.size[1]}, the input image {img.size[0]}x{img.size[1]}; "
                "they must be the same size"
            )
        if m.mode not in ("L", "1"):
            raise InputError(f"the mask must be a single-channel (greyscale) image, not mode {m.mode}")
        m = m.convert("L")
    rgb = img.convert("RGB") if img.mode != "RGB" else img
    return LoadedInput(data, mime, rgb, m, title, hashlib.sha256(data).hexdigest())


def input_verifier(pipe: GuardedPipeline) -> Any:
    """The verify path for an input: the home's trust, watermark key and manifest store, and the
    pipeline's own open audit log to resolve a hallmark watermark to its record."""
    from ._verifier import Verifier, log_lookup

    base = Verifier.from_home(pipe.home)
    return Verifier({**base.options, "lookup": log_lookup(lambda: pipe.audit)})


def _refusal(rule: str, category: str, detector: str, explanation: str) -> Finding:
    return Finding(rule, category, detector, Action.BLOCK, explanation=explanation)


def _training_refusals(report: Any, uses: tuple[str, ...]) -> list[Finding]:
    """A finding per training-and-mining entry that says notAllowed for a use the policy honours."""
    # The embedded manifest, else the one recovered through the input's hallmark watermark.
    c2pa = report.c2pa if report.c2pa is not None and report.c2pa.present else report.recovered
    if c2pa is None or not c2pa.present:
        return []
    out = []
    signer = c2pa.signer or "an unnamed signer"
    for a in c2pa.assertions:
        label = str(a.get("label", "")).split("__")[0]
        data = a.get("data")
        if label not in _TRAINING_LABELS or not isinstance(data, dict):
            continue
        for entry, value in (data.get("entries") or {}).items():
            use = str(entry).split(".", 1)[-1]
            if use in uses and isinstance(value, dict) and value.get("use") == "notAllowed":
                out.append(
                    _refusal(
                        f"edit.input.{label}.{use}",
                        "input_credentials",
                        "c2pa",
                        f"the input's {label} assertion, signed by {signer}, says {entry}: notAllowed",
                    )
                )
    return out


def _credentials(report: Any) -> dict[str, Any]:
    c2pa = report.c2pa
    out: dict[str, Any] = {"verdict": report.verdict.value, "explanation": report.explanation}
    if c2pa is not None and c2pa.present:
        out.update(
            state=c2pa.state,
            assessment=c2pa.assessment.value,
            valid=c2pa.valid,
            signer=c2pa.signer,
            signed_at=c2pa.signed_at,
            manifest_label=c2pa.manifest_label,
            failure_codes=list(c2pa.failure_codes),
        )
    else:
        out["state"] = c2pa.state if c2pa is not None else "absent"
    return out


def check_input(
    pipe: GuardedPipeline, loaded: LoadedInput, decision: PromptDecision
) -> tuple[PromptDecision, dict[str, Any], Any]:
    """Judge the input: its picture, its credentials and the edit they would make together.
    Returns the decision with any refusal added, the input's record and the verification report."""
    policy = pipe.policy
    if pipe.stages.image_safety is not None:
        verdict = pipe.stages.image_safety.classify(loaded.image)
    else:
        verdict = ImageVerdict(
            Action.ALLOW,
            state=CheckStatus.NOT_CHECKED,
            reason="disabled by policy",
            categories=dict.fromkeys(IMAGE_CATEGORIES, CheckStatus.NOT_CHECKED),
        )
    report = input_verifier(pipe).verify(loaded.data)
    refusals: list[Finding] = []
    if verdict.blocked:
        cats = ", ".join(sorted({f.category for f in verdict.findings if f.action is Action.BLOCK}))
        refusals.append(
            _refusal(
                "edit.input.image", "input_image", "image_safety", f"the input image is blocked ({cats})"
            )
        )
    minor = any(f.category in (_MINOR, "sexual_minors") for f in verdict.findings)
    sexual = {f.category for f in decision.findings} & _SEXUAL_EDIT
    if minor and sexual:
        refusals.append(
            _refusal(
                "edit.sexual_minors",
                "sexual_minors",
                "image_safety+prompt",
                f"a sexual edit ({', '.join(sorted(sexual))}) of an image flagged as depicting a minor: always block",
            )
        )
    if report.verdict.value == "error":  # unchecked credentials could forbid the edit: fail closed
        refusals.append(
            _refusal(
                "edit.input.not_checked",
                "input_credentials",
                "verify",
                f"the input's credentials could not be checked ({report.error or report.explanation})",
            )
        )
    refusals += _training_refusals(report, policy.edit.input.refuse_not_allowed)
    c2pa = report.c2pa
    invalid = c2pa is not None and c2pa.present and not c2pa.valid
    if invalid and policy.edit.input.invalid_credentials == "block":
        refusals.append(
            _refusal(
                "edit.input.invalid_credentials",
                "input_credentials",
                "c2pa",
                f"the input's Content Credentials do not validate ({c2pa.assessment.value}); policy: block",
            )
        )
    parent = (report.record or {}).get("record_id") if report.record else None
    record: dict[str, Any] = {
        "sha256": loaded.sha256,
        "format": loaded.mime,
        "width": loaded.image.size[0],
        "height": loaded.image.size[1],
        "bytes": len(loaded.data),
        "mask": loaded.mask is not None,
        "image": {
            "action": verdict.action.value,
            "state": verdict.state.value,
            "findings": [f.rule_id for f in verdict.findings],
        },
        "credentials": _credentials(report),
        "parent_record": str(parent) if parent else None,
    }
    if refusals:
        record["refused"] = [f.rule_id for f in refusals]
        decision = dataclasses.replace(
            decision,
            action=Action.BLOCK,
            findings=(*refusals, *decision.findings),
        )
    return decision, record, report


def _ingredient(pipe: GuardedPipeline, loaded: LoadedInput, report: Any) -> Any:
    from hallmark.provenance import Ingredient

    thumb = None
    if report.c2pa is None or not report.c2pa.present:  # no store of its own: hash and thumbnail
        small = loaded.image.copy()
        small.thumbnail((256, 256))
        buf = io.BytesIO()
        small.save(buf, format="JPEG", quality=80)
        thumb = buf.getvalue()
    return Ingredient(title=loaded.title, mime=loaded.mime, data=loaded.data, thumbnail=thumb)


def edit_image(
    pipe: GuardedPipeline,
    image: Any,
    prompt: str,
    *,
    mask: Any = None,
    strength: float = 0.6,
    n: int = 1,
    seed: int | None = None,
    steps: int = 2,
    guidance_scale: float | None = None,
    negative_prompt: str | None = None,
    user: str | None = None,
    out_dir: str | Path = ".",
    fmt: str | None = None,
    editor: Any = None,
    progress: Callable[[str, int], None] | None = None,
) -> GenerationResult:
    """``GuardedPipeline.edit``: see the module docstring."""
    from hallmark.provenance.c2pa import COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA, TRAINED_ALGORITHMIC_MEDIA

    fmt = fmt or pipe.policy.output.format
    loaded = check_edit(image, mask=mask, strength=strength, n=n, steps=steps, fmt=fmt, policy=pipe.policy)
    width, height = loaded.image.size
    out = Path(out_dir)
    check_writable(out)
    chosen = editor_for(pipe.generator, editor if editor is not None else pipe.editor)
    timings: dict[str, float] = {}
    tick = progress or (lambda stage, k: None)

    with _timed(timings, "prompt"):
        decision = pipe.stages.prompt_filter.evaluate(prompt, negative_prompt=negative_prompt)
        decision = EditIntentFilter.from_policy(pipe.policy).evaluate(prompt, decision)
    with _timed(timings, "input_checks"):
        decision, record, report = check_input(pipe, loaded, decision)
    request_id = str(new_record_id(now=pipe._now()))
    personal: dict[str, Any] = {"prompt": decision.redacted_prompt, "user": user}
    if pipe.stages.cipher is not None:
        personal["raw_prompt"] = pipe.stages.cipher.seal(prompt, context=request_id)
    result = GenerationResult(decision=decision, timings_ms=timings, model=chosen.name)
    if decision.blocked:
        data = request_record(pipe.policy, chosen.name, decision, params=None, request_id=request_id)
        data["input"] = record
        pipe.audit.append("edit.refused", data, personal=personal, now=pipe._now())
        return result

    seed = secrets.randbelow(2**31) if seed is None else seed
    result.seed = seed
    params = GenerationParams(
        prompt=decision.prompt_out,
        negative_prompt=decision.negative_prompt_out,
        n=n,
        seed=seed,
        width=width,
        height=height,
        steps=steps,
        guidance_scale=guidance_scale,
    )
    with _timed(timings, "ingredient"):
        edit = EditInput(
            record={**record, "strength": strength},
            ingredient=_ingredient(pipe, loaded, report) if pipe.stages.signer is not None else None,
            source_type=COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
            if loaded.mask is not None
            else TRAINED_ALGORITHMIC_MEDIA,
            agent=chosen.name,
        )
    ask = EditParams(
        loaded.image,
        loaded.mask,
        params.prompt,
        params.negative_prompt,
        n,
        seed,
        strength,
        steps,
        guidance_scale,
    )
    tick("generate", 0)
    try:
        with _timed(timings, "generate"):
            images = chosen.edit(ask)
    except Exception as e:
        data = request_record(pipe.policy, chosen.name, decision, params=params, request_id=request_id)
        data.update(stage="generate", error=type(e).__name__, input=edit.record)
        pipe.audit.append("generation.failed", data, personal=personal, now=pipe._now())
        if isinstance(e, HallmarkError):
            raise
        private = (prompt, negative_prompt or "", params.prompt, user or "")
        raise PipelineError(f"editor {chosen.name!r} failed: {describe_error(e, withhold=private)}") from e
    tick("generate", n)
    works = [
        _Work(index=i, record_id=new_record_id(now=pipe._now()), image=img, edit=edit)
        for i, img in enumerate(images)
    ]
    started = time.perf_counter()
    pipe._release(
        works,
        decision=decision,
        params=params,
        personal=personal,
        fmt=fmt,
        out=out,
        result=result,
        request_id=request_id,
        tick=tick,
    )
    timings["edit_total"] = (time.perf_counter() - started) * 1000
    return result
