"""What ``hallmark`` with no arguments prints: the three jobs, an example each, and what to run next."""

from __future__ import annotations

FIRST_IMAGES = 'hallmark generate "a lighthouse at dawn" -n 2 --out out'

JOBS = (
    (
        "generate",
        "make images that pass the policy and safety checks, watermarked, signed and logged",
        FIRST_IMAGES,
    ),
    (
        "verify",
        "find out where an image came from: credentials, watermark, audit record",
        "hallmark verify out/",
    ),
    ("audit", "review the generation history and prove it was not edited", "hallmark audit verify"),
)


def overview() -> str:
    """The text: jobs, examples, and the next command for the home of ``HALLMARK_HOME``."""
    from .._home import Home

    home = Home.resolve()
    has_keys = home.keys.is_dir() and any(home.keys.iterdir())
    lines = ["hallmark: responsible generation for text-to-image models.", "", "Three jobs:"]
    for name, what, example in JOBS:
        lines += [f"  {name:<9} {what}", f"  {'':<9} e.g. {example}"]
    lines.append("")
    if has_keys:
        lines.append(f"Next: {FIRST_IMAGES}")
    else:
        lines.append(f"Next: hallmark keys init    (no keys in {home.keys} yet)")
    lines.append("More: hallmark --help, hallmark COMMAND --help, hallmark doctor (is this machine ready?)")
    return "\n".join(lines)
