"""What this machine and one home need to generate, and what to do about each problem.

``diagnose(home, policy=...)`` looks at everything ``hallmark generate`` depends on and returns a
``DoctorReport``: one ``Diagnosis`` per thing looked at (the Python version, every declared
dependency, the policy's prompt detectors, image classifier and label fonts, exiftool, the keys,
the audit log, the manifest store, free disk space), each ``ok``, ``warning``, ``problem`` or
``not_checked``, and, when something is wrong, a fix in one line.  ``report.ok`` is false when a
problem stops the default path.

It uses the code the pipeline uses (the key loaders, ``ImageSafety``, ``Labeler``, ``AuditLog``),
so it finds what a ``generate`` would trip over, and it changes nothing: a missing audit log stays
missing (the first ``generate`` creates it) and an existing one is opened without ``create``.
Details never hold a secret: keys are loaded to prove they work and then dropped, and a database
URL is shown without its user, password or query.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hallmark.errors import HallmarkError

from ._diagnosis import (
    NOT_CHECKED,
    OK,
    PROBLEM,
    WARNING,
    Diagnosis,
    DiagnosisStatus,
    DoctorReport,
    _one_line,
    _policy_missing,
)
from ._doctor_home import _audit, _disk_space, _keys, _manifest_store
from ._home import Home

if TYPE_CHECKING:
    from hallmark.policies import Policy

_SYSTEM_DEPS = "scripts/install-system-deps.sh"

__all__ = ["Diagnosis", "DiagnosisStatus", "DoctorReport", "diagnose"]


def diagnose(
    home: Home | str | Path | None = None,
    *,
    policy: Policy | str = "default",
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DoctorReport:
    """Look at this machine and ``home`` for what generating under ``policy`` needs.

    Runs in this process and imports every declared dependency (several seconds the first time);
    ``progress`` is called with the name of each group of checks before it runs.  A check that
    breaks becomes a problem in the report: ``diagnose`` itself raises nothing."""
    h = home if isinstance(home, Home) else Home.resolve(home)
    now = now or datetime.now(UTC)
    tick = progress or (lambda name: None)
    found: list[Diagnosis] = []

    def run(name: str, check: Callable[[], Iterable[Diagnosis]]) -> None:
        tick(name)
        try:
            found.extend(check())
        except Exception as e:  # doctor reports; it never dies of what it examines
            found.append(Diagnosis(name, PROBLEM, f"the check itself failed: {_one_line(e)}", _REPORT))

    run("python", _python)
    run("dependencies", lambda: _dependencies(tick))
    run("exiftool", _exiftool)
    loaded: list[Policy] = []
    run("policy", lambda: _policy(policy, loaded))
    p = loaded[0] if loaded else None
    run("prompt filter", lambda: _prompt_filter(p))
    run("image classifier", lambda: _image_classifier(p))
    run("labels", lambda: _labels(p))
    run("keys", lambda: _keys(h, p, now))
    run("audit log", lambda: _audit(h))
    run("manifest store", lambda: _manifest_store(h, p))
    run("disk space", lambda: _disk_space(h))
    name = p.id if p is not None else str(policy)
    return DoctorReport(home=h.root, policy=name, checks=tuple(found))


_REPORT = "this is a bug in hallmark doctor: please report it with the detail"


# -- the machine ---------------------------------------------------------------------------


_NO_PACKAGING = Diagnosis(
    "packaging",
    PROBLEM,
    "the packaging module (which reads version requirements) is missing, so versions were not compared",
    "pip install packaging",
)


def _python() -> list[Diagnosis]:
    from importlib import metadata

    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:
        return [Diagnosis("python", OK, f"Python {platform.python_version()}"), _NO_PACKAGING]

    from hallmark._version import DISTRIBUTION

    version = platform.python_version()
    needed = (metadata.metadata(DISTRIBUTION).get_all("Requires-Python") or [""])[0]
    detail = f"Python {version} ({sys.executable})"
    if needed and not SpecifierSet(needed).contains(version, prereleases=True):
        return [
            Diagnosis(
                "python",
                PROBLEM,
                f"{detail}; hallmark needs Python {needed}",
                f"install Python {needed} and hallmark into a virtual environment made with it",
            )
        ]
    return [Diagnosis("python", OK, detail)]


def _dependencies(tick: Callable[[str], None]) -> list[Diagnosis]:
    """Every dependency the distribution declares (extras left out): installed, in the declared
    version range, and importable in this interpreter."""
    import importlib
    from importlib import metadata

    try:
        from packaging.requirements import Requirement
        from packaging.utils import canonicalize_name
    except ImportError:
        return []  # _python reported it

    from hallmark._version import DISTRIBUTION

    modules: dict[str, list[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            modules.setdefault(canonicalize_name(dist), []).append(module)
    out = []
    for text in metadata.requires(DISTRIBUTION) or []:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue  # an extra (nudenet, semantic, test) or another platform's dependency
        name = f"package {req.name}"
        wanted = f"{req.name}{req.specifier}"
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            out.append(Diagnosis(name, PROBLEM, "not installed", f"pip install '{wanted}'"))
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            out.append(
                Diagnosis(
                    name,
                    PROBLEM,
                    f"{version} is installed; hallmark needs {req.specifier}",
                    f"pip install '{wanted}'",
                )
            )
            continue
        module = _import_name(req.name, modules.get(canonicalize_name(req.name), []))
        tick(f"import {module}")
        try:
            importlib.import_module(module)
        except Exception as e:
            why = _one_line(e)
            fix = (
                f"install the system library it names ({_SYSTEM_DEPS} installs what hallmark needs)"
                if ".so" in why or ".dylib" in why or "DLL" in why
                else f"pip install --force-reinstall '{wanted}'"
            )
            out.append(
                Diagnosis(name, PROBLEM, f"{version} is installed but `import {module}` fails: {why}", fix)
            )
            continue
        out.append(Diagnosis(name, OK, version))
    return out


def _import_name(dist: str, candidates: list[str]) -> str:
    """The module to import for a distribution: the one named like it, else its first public one."""
    plain = dist.lower().replace("-", "_").replace(".", "_")
    public = sorted(m for m in set(candidates) if not m.startswith("_"))
    for m in public:
        if m.lower() == plain:
            return m
    return public[0] if public else plain


def _exiftool() -> list[Diagnosis]:
    path = shutil.which("exiftool")
    if path is None:
        return [
            Diagnosis(
                "exiftool",
                WARNING,
                "not found; generating does not need it, the test suite does",
                f"apt-get install libimage-exiftool-perl (or {_SYSTEM_DEPS})",
            )
        ]
    try:
        version = subprocess.run(
            [path, "-ver"], capture_output=True, text=True, timeout=20, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        version = ""
    return [Diagnosis("exiftool", OK, f"{version} ({path})" if version else path)]


# -- the policy ----------------------------------------------------------------------------


def _policy(policy: Policy | str, loaded: list[Policy]) -> list[Diagnosis]:
    from hallmark.policies import Policy, load_policy

    try:
        p = policy if isinstance(policy, Policy) else load_policy(policy)
    except HallmarkError as e:
        return [Diagnosis("policy", PROBLEM, str(e), e.hint or "check the policy file")]
    loaded.append(p)
    return [Diagnosis("policy", OK, f"{p.id} v{p.version} (digest {p.digest[:12]})")]


def _prompt_filter(p: Policy | None) -> list[Diagnosis]:
    if p is None:
        return _policy_missing("prompt filter")
    if not p.prompt.enabled:
        return [Diagnosis("prompt filter", NOT_CHECKED, "the prompt stage is disabled by the policy")]
    from hallmark.guardrails import PromptFilter

    try:
        f = PromptFilter.from_policy(p)
    except HallmarkError as e:
        return [Diagnosis("prompt filter", PROBLEM, str(e), e.hint or "check the policy's detectors")]
    kinds = sorted({d.name for d in f.detectors})
    return [Diagnosis("prompt filter", OK, f"builds its detectors ({', '.join(kinds)})")]


def _image_classifier(p: Policy | None) -> list[Diagnosis]:
    if p is None:
        return _policy_missing("image classifier")
    if not p.image.enabled:
        return [Diagnosis("image classifier", NOT_CHECKED, "image safety is disabled by the policy")]
    from PIL import Image

    from hallmark.guardrails import ImageSafety

    name = "+".join(b.id for b in p.image.resolved_backends())
    try:
        verdict = ImageSafety.from_policy(p).classify(Image.new("RGB", (64, 64)))
    except HallmarkError as e:
        fix = e.hint or f"reinstall the package of the {name} classifier"
        return [Diagnosis("image classifier", PROBLEM, str(e), fix)]
    found = [Diagnosis("image classifier", OK, f"{name}: its model loads and classifies a test image")]
    if verdict.not_checked:
        found.append(
            Diagnosis(
                "image categories",
                NOT_CHECKED,
                f"no image backend covers {', '.join(verdict.not_checked)}",
                "add a clip-zero-shot or hf-image-classifier backend that covers them (README: Image safety)",
            )
        )
    return found


def _labels(p: Policy | None) -> list[Diagnosis]:
    if p is None:
        return _policy_missing("labels")
    if not p.labels.profiles:
        return [Diagnosis("labels", NOT_CHECKED, "the policy enables no label profile")]
    from hallmark.provenance import Labeler

    # Labeler.from_policy finds each profile's font (provenance.labels' own lookup) and checks
    # that it has every glyph of the label, exactly as generating does.
    try:
        labeler = Labeler.from_policy(p.labels)
    except HallmarkError as e:
        return [Diagnosis("labels", PROBLEM, str(e), e.hint or "check the policy's labels section")]
    return [Diagnosis("labels", OK, f"{', '.join(labeler.profiles)}: every label can be drawn")]


# -- the home ------------------------------------------------------------------------------
