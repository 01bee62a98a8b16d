"""What hallmark's guard chain costs after generation, beside diffusers' own chain.

For 512 and 1024 px images this times each hallmark stage that runs after the generator
(classifier, labels, watermark, encode, C2PA sign, write, audit append) per image (the default
policy, and at 1024 px once more with every regulation profile's labels on) and for batches of 8
on one and two workers, and, in the same run, diffusers' answer: ``StableDiffusionSafetyChecker`` at its real
ViT-L/14 size (random weights: the same compute) plus ``StableDiffusionXLWatermarker``.  Then the
prompt stage's p50/p99 and the cold-start wall time of whole ``hallmark`` processes beside
``python -c pass`` and ``python -c "import torch"``.

    python bench/overhead.py            # everything (a few minutes on 2 cores)
    python bench/overhead.py --quick    # fewer repetitions
    python bench/overhead.py --edit     # only the edit path beside the generate path, at 1024 px

The edit path (``GuardedPipeline.edit``) adds the input checks (decoding, the classifier on the
input, the edit-only prompt rules, reading its credentials and watermark through the verify path)
and the ingredient (its thumbnail and the larger manifest): both are timed beside the generate
path's chain on the same images, in the same run, alternating.

The generator is a callable returning fixed natural images, so generation itself is not timed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# One thread per library (onnxruntime reads this; torch and OpenCV are set in main): the
# per-image figures are for one core, and a batch's second worker is the only second core.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def natural_images(size: int, count: int) -> list[Image.Image]:
    from skimage import data

    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.hubble_deep_field()]
    out = []
    for i in range(count):
        arr = sources[i % len(sources)]
        out.append(Image.fromarray(arr).convert("RGB").resize((size, size), Image.Resampling.LANCZOS))
    return out


def hallmark_chain(
    size: int, batch: int, reps: int, home: Path, *, workers: int, policy: Any = "default"
) -> tuple[float, dict[str, float], float]:
    """Post-generation ms per image (median over the calls), the median ms of each stage
    (``"cpu"``: this process's CPU time per image, which leaves out waiting on the disk), and
    the minor page faults per image.  Calls cycle through the five natural images, so that one
    image's texture (which sets the watermark's strength) does not stand for all."""
    import resource

    from hallmark.pipeline import GuardedPipeline

    images = natural_images(size, 5 + batch - 1)
    out = home / "out"
    calls = itertools.count()
    totals: list[float] = []
    stages: dict[str, list[float]] = {}

    def generate(prompt: str, n: int) -> list[Image.Image]:
        first = next(calls) % 5
        return images[first : first + n]

    with GuardedPipeline(generate, policy=policy, home=home, workers=workers) as pipe:
        pipe("warm-up", n=batch, size=size, out_dir=out)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        cpu = time.process_time()
        for _ in range(reps):
            start = time.perf_counter()
            result = pipe("a lighthouse at dawn", n=batch, size=size, out_dir=out)
            totals.append(((time.perf_counter() - start) * 1000 - result.timings_ms.get("prompt", 0)) / batch)
            assert len(result.images) == batch, result.withheld
            for img in result.images:
                for stage, ms in img.timings_ms.items():
                    stages.setdefault(stage, []).append(ms)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        cpu = time.process_time() - cpu
    per_stage = {k: statistics.median(v) for k, v in stages.items()}
    per_stage["cpu"] = cpu * 1000 / (reps * batch)
    return statistics.median(totals), per_stage, faults / (reps * batch)


def edit_vs_generate(size: int, reps: int, home: Path) -> dict[str, float]:
    """Medians over ``reps`` alternated calls, ms per image: the generate path's post-generation
    chain, the edit path's chain on the same picture (from an unsigned JPEG input of ``size`` px)
    and what the edit adds (input checks, ingredient), the generator and the editor returning the
    same fixed natural images (neither is timed)."""
    from hallmark.pipeline import GuardedPipeline

    images = natural_images(size, 5)
    inputs = []
    for i, img in enumerate(images):
        path = home / f"input-{size}-{i}.jpg"
        img.save(path, quality=90)
        inputs.append(path)
    calls = itertools.count()

    def generate(prompt: str, n: int) -> list[Image.Image]:
        return [images[next(calls) % 5]]

    def editor(image: Image.Image, prompt: str) -> list[Image.Image]:
        return [images[next(calls) % 5]]

    figures: dict[str, list[float]] = {"generate": [], "edit": [], "input_checks": [], "ingredient": []}
    with GuardedPipeline(generate, home=home, editor=editor, workers=1) as pipe:
        pipe("warm-up", size=size, out_dir=home / "out")
        pipe.edit(inputs[0], "warm-up", out_dir=home / "out")
        for r in range(reps):
            start = time.perf_counter()
            made = pipe("a lighthouse at dawn", size=size, out_dir=home / "out")
            assert made.images, made.withheld
            figures["generate"].append(
                (time.perf_counter() - start) * 1000 - made.timings_ms.get("prompt", 0)
            )
            start = time.perf_counter()
            edited = pipe.edit(inputs[r % 5], "make it night", out_dir=home / "out")
            assert edited.images, edited.decision.findings or edited.withheld
            t = edited.timings_ms
            figures["edit"].append((time.perf_counter() - start) * 1000 - t.get("prompt", 0))
            figures["input_checks"].append(t["input_checks"])
            figures["ingredient"].append(t["ingredient"] + t.get("c2pa_sign", 0))
    return {k: statistics.median(v) for k, v in figures.items()}


def print_edit(size: int, reps: int, home: Path) -> None:
    f = edit_vs_generate(size, reps, home)
    print(f"\n## edit path vs generate path at {size} px, ms per image (medians of {reps} alternated calls)")
    print("| path | chain ms | input checks | ingredient + sign | ratio to generate |")
    print("|---|---|---|---|---|")
    print(f"| generate | {f['generate']:.1f} | - | - | 1.00 |")
    print(
        f"| edit | {f['edit']:.1f} | {f['input_checks']:.1f} | {f['ingredient']:.1f} | "
        f"{f['edit'] / f['generate']:.2f} |"
    )


def labelled_policy() -> Any:
    """The default policy with every regulation profile's labels on (visible label, metadata,
    manifest assertions)."""
    from hallmark.policies import LabelsPolicy, load_policy

    labels = LabelsPolicy(profiles=("eu_ai_act", "cn_gb45438", "us_ca_sb942"), provider="Acme")
    return load_policy("default").model_copy(update={"labels": labels})


def batch_ratio(pairs: int, home: Path, size: int) -> tuple[float, float, float]:
    """A batch of 8 with one worker and with two, alternated so that both see the same moments of
    a shared machine: median ms per image of each, and the median of the pairs' ratios."""
    one, two = [], []
    for _ in range(pairs):
        one.append(hallmark_chain(size, 8, 1, home, workers=1)[0])
        two.append(hallmark_chain(size, 8, 1, home, workers=2)[0])
    ratios = [b / a for a, b in zip(one, two, strict=True)]
    return statistics.median(one), statistics.median(two), statistics.median(ratios)


def glibc_defaults(size: int, reps: int, home: Path) -> tuple[float, float, float]:
    """The chain at ``size`` px in a fresh process with glibc's default heap settings
    (``HALLMARK_RETAIN_MEMORY=0``): ms per image, watermark ms, page faults per image."""
    import json

    code = (
        "import json, sys, cv2; from pathlib import Path; sys.path.insert(0, sys.argv[1]); cv2.setNumThreads(1);"
        "import overhead; t, st, f = overhead.hallmark_chain(int(sys.argv[2]), 1, int(sys.argv[3]),"
        " Path(sys.argv[4]), workers=1); print(json.dumps([t, st.get('watermark', 0), f]))"
    )
    env = dict(os.environ, HALLMARK_RETAIN_MEMORY="0", PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "bench"), str(size), str(reps), str(home)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    total, watermark, faults = json.loads(out.strip().splitlines()[-1])
    return total, watermark, faults


def audit_append_ms(home: Path, reps: int) -> float:
    from hallmark.audit import AuditLog

    with AuditLog.open(
        f"sqlite:///{home / 'bench-audit.db'}", key_path=home / "keys" / "bench-ckpt.key"
    ) as log:
        start = time.perf_counter()
        for i in range(reps):
            log.append("image.released", {"record_id": str(i), "sha256": "0" * 64, "payload": "ab" * 8})
        return (time.perf_counter() - start) * 1000 / reps


def diffusers_chain(size: int, reps: int) -> tuple[float, float]:
    """ms per image for the ViT-L/14 safety checker and the SDXL watermarker."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from diffusers.pipelines.stable_diffusion_xl.watermark import StableDiffusionXLWatermarker
    from transformers import CLIPConfig, CLIPImageProcessorPil

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"hidden_size": 768, "num_hidden_layers": 1},
        vision_config={
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_hidden_layers": 24,
            "num_attention_heads": 16,
            "patch_size": 14,
            "image_size": 224,
        },
        projection_dim=768,
    )
    checker = StableDiffusionSafetyChecker(config).eval()
    processor = CLIPImageProcessorPil(
        size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}, do_center_crop=True
    )
    watermarker = StableDiffusionXLWatermarker()
    images = natural_images(size, 1)
    arr = np.asarray(images[0], dtype=np.float32)[None] / 255.0

    def check() -> None:
        clip_input = processor(images, return_tensors="pt").pixel_values
        with torch.inference_mode():
            checker(images=arr.copy(), clip_input=clip_input)

    def mark() -> None:
        t = torch.from_numpy(arr).permute(0, 3, 1, 2) * 2 - 1
        watermarker.apply_watermark(t)

    check()
    mark()
    c = []
    w = []
    for _ in range(reps):
        s = time.perf_counter()
        check()
        c.append((time.perf_counter() - s) * 1000)
        s = time.perf_counter()
        mark()
        w.append((time.perf_counter() - s) * 1000)
    return statistics.mean(c), statistics.mean(w)


def png_encoding(size: int, reps: int) -> list[tuple[str, float, float]]:
    """(encoder, ms per image, MB per image) over the natural images at ``size`` px: hallmark's
    encoder beside Pillow's at levels 1 and 6."""
    import io

    from hallmark.pipeline._png import encode_png

    images = natural_images(size, 5)

    def pillow(level: int) -> Callable[[Image.Image], bytes]:
        def encode(image: Image.Image) -> bytes:
            buf = io.BytesIO()
            image.save(buf, format="PNG", compress_level=level)
            return buf.getvalue()

        return encode

    encoders: dict[str, Callable[[Image.Image], bytes]] = {
        "hallmark (Up filter + ISA-L, level 1)": encode_png,
        "Pillow, level 1": pillow(1),
        "Pillow, level 6 (its default)": pillow(6),
    }
    rows = []
    for name, encode in encoders.items():
        best, size_mb = [], 0.0
        for image in images:
            times = []
            for _ in range(reps):
                s = time.perf_counter()
                data = encode(image)
                times.append(time.perf_counter() - s)
            best.append(min(times))
            size_mb += len(data) / 1e6
        rows.append((name, 1000 * statistics.mean(best), size_mb / len(images)))
    return rows


def prompt_latency(reps: int) -> tuple[float, float]:
    from hallmark.guardrails import PromptFilter
    from hallmark.policies import load_policy

    pf = PromptFilter.from_policy(load_policy("default"))
    prompts = [
        "a lighthouse at dawn",
        "portrait of an astronaut riding a horse, oil painting",
        "email me at jane.doe@example.com a picture of a cat",
        "a bowl of ramen in the style of a famous painter",
    ]
    pf.evaluate(prompts[0])
    times = []
    for i in range(reps):
        s = time.perf_counter()
        pf.evaluate(prompts[i % len(prompts)])
        times.append((time.perf_counter() - s) * 1000)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def cold_start(args: list[str], reps: int, env: dict[str, str]) -> float:
    walls = []
    for _ in range(reps):
        s = time.perf_counter()
        subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - s)
    return statistics.median(walls)


def peak_rss_generate(home: Path, out: Path, *, retain: bool = True) -> float:
    """Peak resident memory (MiB) of a whole `hallmark generate -n 8` at 512 px, tiny model.

    Call it before this process loads anything large: Linux counts the parent's resident pages
    at spawn time into the child's peak (after loading the ViT-L/14 checker, ~1.1 GB that the
    command never touches). Reaped with wait4, so only this child's peak is read.  ``retain``
    False runs it with glibc's heap defaults (``HALLMARK_RETAIN_MEMORY=0``)."""
    args = [
        sys.executable,
        "-m",
        "hallmark",
        "generate",
        "a lighthouse at dawn",
        "-n",
        "8",
        "--size",
        "512",
        "--home",
        str(home),
        "--out",
        str(out),
        "--json",
    ]
    with open(os.devnull, "wb") as devnull:
        pid = os.posix_spawn(
            sys.executable,
            args,
            dict(os.environ, PYTHONPATH=str(REPO), HALLMARK_RETAIN_MEMORY="1" if retain else "0"),
            file_actions=[(os.POSIX_SPAWN_DUP2, devnull.fileno(), 1)],
        )
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"hallmark generate failed with status {status}")
    return usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--edit", action="store_true", help="only the edit path beside the generate path")
    args = parser.parse_args()
    reps = 2 if args.quick else 4
    singles = 10 if args.quick else 25  # images per size for the per-image figures
    if args.edit:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            subprocess.run(
                [sys.executable, "-m", "hallmark", "keys", "init", "--home", str(home)],
                check=True,
                stdout=subprocess.DEVNULL,
                cwd=REPO,
            )
            import cv2
            import torch

            torch.set_num_threads(1)
            cv2.setNumThreads(1)
            print(f"# hallmark edit-path benchmark — {os.cpu_count()} CPUs; one thread per library")
            print_edit(1024, singles, home)
        return

    tmp_holder = tempfile.TemporaryDirectory()
    home = Path(tmp_holder.name) / "home"
    subprocess.run(
        [sys.executable, "-m", "hallmark", "keys", "init", "--home", str(home)],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=REPO,
    )
    # First, while this process is small (see peak_rss_generate).
    rss = peak_rss_generate(home, Path(tmp_holder.name) / "rss-out")
    rss_defaults = peak_rss_generate(home, Path(tmp_holder.name) / "rss-out", retain=False)

    import torch

    torch.set_num_threads(1)
    import cv2

    cv2.setNumThreads(1)
    print(f"# hallmark overhead benchmark — {os.cpu_count()} CPUs; one thread per library; reps {reps}")
    with tmp_holder as tmp:
        print(
            "\n## post-generation stages, ms per image (hallmark, one worker; medians over "
            f"{singles} images, five natural photos in turn) vs diffusers' chain"
        )
        print(
            "| size | hallmark total | CPU | classifier | watermark | labels | encode | c2pa_sign | write | audit+rename | page faults | diffusers checker | SDXL watermarker | diffusers total | ratio |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        diffusers: dict[int, tuple[float, float]] = {}
        for size, label, policy in (
            (512, "512", "default"),
            (1024, "1024", "default"),
            (1024, "1024, all labels", labelled_policy()),
        ):
            total, stages, faults = hallmark_chain(size, 1, singles, home, workers=1, policy=policy)
            cpu = stages.pop("cpu")
            measured = sum(stages.values())
            if size not in diffusers:  # the labelled row is compared with the same 1024 px chain
                diffusers[size] = diffusers_chain(size, reps)
            checker_ms, wm_ms = diffusers[size]
            d_total = checker_ms + wm_ms
            print(
                f"| {label} | {total:.1f} | {cpu:.1f} | {stages.get('classifier', 0):.1f} | {stages.get('watermark', 0):.1f} | "
                f"{stages.get('labels', 0):.1f} | {stages.get('encode', 0):.1f} | {stages.get('c2pa_sign', 0):.1f} | "
                f"{stages.get('write', 0):.1f} | {max(total - measured, 0):.1f} | {faults:.0f} | {checker_ms:.0f} | "
                f"{wm_ms:.0f} | {d_total:.0f} | {total / d_total:.3f}× |"
            )
        total, watermark, faults = glibc_defaults(1024, singles, home)
        print(
            f"\nthe 1024 px chain with glibc's heap defaults (HALLMARK_RETAIN_MEMORY=0, fresh process): "
            f"{total:.1f} ms per image, watermark {watermark:.1f} ms, {faults:.0f} page faults per image"
        )
        print_edit(1024, singles, Path(tmp) / "home")
        print(
            f"\naudit append alone (SQLite, durable): {audit_append_ms(home, 50 if args.quick else 200):.2f} ms"
        )

        print("\n## PNG encoding at 1024 px (5 natural images, best of reps, mean)")
        for name, ms, mb in png_encoding(1024, reps):
            print(f"| {name} | {ms:.1f} ms | {mb:.2f} MB |")

        pairs = 4 if args.quick else 10
        print(f"\n## batch of 8: post-generation ms per image ({pairs} alternated pairs, medians)")
        for size in (512, 1024):
            one, two, ratio = batch_ratio(pairs, home, size)
            print(
                f"| {size} px | one worker {one:.1f} ms | two workers {two:.1f} ms | ratio {ratio:.2f}× (median of the pairs) |"
            )

        print(
            f"\n## peak RSS of `hallmark generate -n 8 --size 512` (tiny model): {rss:.0f} MiB "
            f"({rss_defaults:.0f} MiB with glibc's heap defaults)"
        )

        p50, p99 = prompt_latency(500 if args.quick else 2000)
        print(f"\n## prompt stage (default policy): p50 {p50:.3f} ms · p99 {p99:.3f} ms")

        print("\n## cold start, whole processes (median wall seconds)")
        env = dict(os.environ, HALLMARK_HOME=str(home))
        one = home / "out"
        sample = next(one.glob("*.png"))
        jpg = Path(tmp) / "one.jpg"
        Image.open(sample).convert("RGB").save(jpg, quality=90)
        n = 3 if args.quick else 5
        hallmark = [sys.executable, "-m", "hallmark"]
        rows = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ('python -c "import torch"', [sys.executable, "-c", "import torch"]),
            ("hallmark --help", [*hallmark, "--help"]),
            ('hallmark check "a cat"', [*hallmark, "check", "a cat"]),
            ("hallmark verify one.jpg", [*hallmark, "verify", str(jpg)]),
        ]
        for label, cmd in rows:
            print(f"| {label} | {cold_start(cmd, n, env):.2f} s |")


if __name__ == "__main__":
    main()
