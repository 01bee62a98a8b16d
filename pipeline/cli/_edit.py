"""``hallmark edit``: edit a real image through the same guard as generation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ._common import EXIT_FAILED, HomeOption, JsonOption, PolicyOption, command, print_json
from ._generate import _doctor_finds, _failure_line, _render


@command
def edit(
    input_image: Annotated[
        Path, typer.Argument(metavar="INPUT", help="The image to edit (PNG, JPEG or WebP).")
    ],
    prompt: Annotated[str, typer.Argument(help="What to change.")],
    mask: Annotated[
        Path | None,
        typer.Option(help="Greyscale image of the input's size, white where it is redrawn (inpainting)."),
    ] = None,
    strength: Annotated[float, typer.Option(help="How far the edit departs from the input (0-1].")] = 0.6,
    n: Annotated[int, typer.Option("-n", "--n", help="Number of images.")] = 1,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (default: random, recorded in the audit log).")
    ] = None,
    steps: Annotated[int, typer.Option(help="Denoising steps.")] = 2,
    model: Annotated[
        str,
        typer.Option(help="'tiny' (built-in, random weights: draws noise), a diffusers folder, or a hub id."),
    ] = "tiny",
    negative: Annotated[str | None, typer.Option("--negative", help="Negative prompt.")] = None,
    policy: PolicyOption = "default",
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the images.")] = Path("."),
    fmt: Annotated[
        str | None, typer.Option("--format", help="png, jpeg or webp (default: the policy's).")
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Who asked (kept apart from the log entry, erasable).")
    ] = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Edit an image (image-to-image, or inpainting with --mask) through the policy, the input checks,
    the safety classifier, watermark, C2PA signer and audit log; the output's manifest holds the input
    as its parent ingredient.

    Example: hallmark edit photo.jpg "make it night" --strength 0.5 --out out
    """
    from hallmark.errors import AuditError, KeyMaterialError
    from hallmark.policies import load_policy

    from .._edit import check_edit
    from .._guarded import GuardedPipeline
    from .._tiny import TINY_MODEL_ID, TINY_NOTE

    # A bad input or setting fails here, in one line, before the model loads.
    resolved = load_policy(policy)
    check_edit(
        input_image,
        mask=mask,
        strength=strength,
        n=n,
        steps=steps,
        fmt=fmt or resolved.output.format,
        policy=resolved,
    )
    with _doctor_finds(KeyMaterialError, AuditError):
        with GuardedPipeline.from_pretrained(model, policy=policy, home=home) as pipe:
            result = pipe.edit(
                input_image,
                prompt,
                mask=mask,
                strength=strength,
                n=n,
                seed=seed,
                steps=steps,
                negative_prompt=negative,
                user=user,
                out_dir=out,
                fmt=fmt,
            )
    if json_out:
        print_json(result.to_dict(), schema="generate-result")
    else:
        _render(result)
        if model == TINY_MODEL_ID and result.images:
            print(f"note: {TINY_NOTE}", file=sys.stderr)
    for w in result.withheld:
        if w.reason.startswith("failed:"):
            print(f"error: image {w.record_id} withheld, {_failure_line(w.reason, w.error)}", file=sys.stderr)
    if result.blocked or not result.images:
        raise typer.Exit(EXIT_FAILED)
