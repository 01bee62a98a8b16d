"""Model libraries that keep quiet: hallmark draws its own progress and prints its own JSON."""

from __future__ import annotations

import os


def quiet_model_libraries() -> None:
    """Keep diffusers, transformers and the hub from printing progress bars and advice.

    hallmark draws its own progress; their output would also interleave with ``--json``.
    Called before either library is imported.
    """
    for var in ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY"):
        os.environ.setdefault(var, "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
