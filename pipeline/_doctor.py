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

import enum
import os
import platform
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hallmark.errors import HallmarkError

from ._home import Home, default_home

if TYPE_CHECKING:
    from hallmark.policies import Policy

MIN_FREE_BYTES = 1 << 30  # below this the home's disk gets a warning
CERT_WARN_DAYS = 30  # a signing certificate this close to its end gets a warning
_SYSTEM_DEPS = "scripts/install-system-deps.sh"


class DiagnosisStatus(enum.Enum):
    """How one thing that ``hallmark generate`` needs looks."""

    OK = "ok"
    WARNING = "warning"  # works, but deserves a look (an expiring certificate, little disk space)
    PROBLEM = "problem"  # the default path cannot run until this is fixed
    NOT_CHECKED = "not_checked"  # not looked at: the policy does not use it, or what it needs failed


OK, WARNING, PROBLEM, NOT_CHECKED = (
    DiagnosisStatus.OK,
    DiagnosisStatus.WARNING,
    DiagnosisStatus.PROBLEM,
    DiagnosisStatus.NOT_CHECKED,
)


@dataclass(frozen=True)
class Diagnosis:
    """One thing looked at: what it is, how it looks, and (unless ok) what to do in one line."""

    name: str
    status: DiagnosisStatus
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class DoctorReport:
    """Every diagnosis for one home and one policy; ``ok`` when none of them is a problem."""

    home: Path
    policy: str
    checks: tuple[Diagnosis, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problems(self) -> list[Diagnosis]:
        return [d for d in self.checks if d.status is PROBLEM]

    @property
    def warnings(self) -> list[Diagnosis]:
        return [d for d in self.checks if d.status is WARNING]

    def check(self, name: str) -> Diagnosis | None:
        """The diagnosis called ``name`` (``"signing key"``, ``"package torch"``...)."""
        return next((d for d in self.checks if d.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        from hallmark import __version__

        return {
            "ok": self.ok,
            "hallmark_version": __version__,
            "home": str(self.home),
            "policy": self.policy,
            "checks": [d.to_dict() for d in self.checks],
        }


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


def _policy_missing(name: str) -> list[Diagnosis]:
    return [Diagnosis(name, NOT_CHECKED, "the policy did not load")]


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

    name = p.image.classifier
    try:
        ImageSafety.from_policy(p).classify(Image.new("RGB", (64, 64)))
    except HallmarkError as e:
        fix = e.hint or f"reinstall the package of the {name} classifier"
        return [Diagnosis("image classifier", PROBLEM, str(e), fix)]
    return [Diagnosis("image classifier", OK, f"{name}: its model loads and classifies a test image")]


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


def _hallmark(h: Home, args: str) -> str:
    """A ``hallmark`` command line for this home (``--home`` only when it is not the default)."""
    line = f"hallmark {args}"
    if h.root != default_home():
        line += f" --home {shlex.quote(str(h.root))}"
    return line


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _keys(h: Home, p: Policy | None, now: datetime) -> list[Diagnosis]:
    from hallmark.errors import KeyMaterialError
    from hallmark.provenance import C2paSigner, load_watermark_key, read_key_info, watermark_scheme

    keys = h.keys
    init = _hallmark(h, "keys init")
    names = ("signing certificate", "signing key", "watermark key")
    if not keys.is_dir() or not any(keys.iterdir()):
        return [
            Diagnosis("keys", PROBLEM, f"no keys in {keys}", f"run `{init}`"),
            *(Diagnosis(n, NOT_CHECKED, "no keys yet") for n in names),
        ]
    out = []
    mode = _mode(keys)
    if os.name == "posix" and mode & 0o077:
        out.append(
            Diagnosis(
                "keys",
                WARNING,
                f"{keys} has permissions {mode:04o}; others can list the key files",
                f"chmod 700 {shlex.quote(str(keys))}",
            )
        )
    else:
        out.append(Diagnosis("keys", OK, f"{keys} ({mode:04o})"))

    files: dict[str, str | None] = {}
    reported: set[str] = set()

    def fix_for(e: HallmarkError) -> str:
        """A key loader's error, turned into what to do: its own hint when it names a command
        (``chmod 600 ...``), else restore the file it names or make new keys."""
        message = str(e)
        reported.update(n for n in files if n in message)
        if "chmod" in e.hint:
            return e.hint
        gone = [n for n, m in files.items() if m is None and n in message]
        renew = f"run `{init} --force` (new keys: images made with the old ones stop resolving)"
        if gone:
            return f"restore {keys / gone[0]} from a backup, or {renew}"
        if "missing" in message:
            return f"restore the missing file from a backup, or {renew}"
        return e.hint or renew

    try:
        info = read_key_info(keys, now=now)
    except KeyMaterialError as e:
        out.append(Diagnosis("signing certificate", PROBLEM, str(e), fix_for(e)))
        cert_ok = False
    else:
        files = dict(info.files)
        out.append(_certificate(info, now, init))
        cert_ok = out[-1].status is not PROBLEM

    c2pa = p is None or p.c2pa.enabled
    if not c2pa:
        out.append(Diagnosis("signing key", NOT_CHECKED, "C2PA signing is disabled by the policy"))
    elif not cert_ok:
        out.append(Diagnosis("signing key", NOT_CHECKED, "the signing certificate is unusable"))
    else:
        try:
            C2paSigner.from_keys_dir(keys, tsa_url=p.c2pa.tsa_url if p else None, now=now)
        except HallmarkError as e:
            out.append(Diagnosis("signing key", PROBLEM, str(e), fix_for(e)))
        else:
            out.append(Diagnosis("signing key", OK, "loads, private to its owner, matches the certificate"))

    if p is not None and not (p.watermark.enabled or p.labels.profiles):
        out.append(Diagnosis("watermark key", NOT_CHECKED, "the policy uses no watermark and no label"))
    else:
        try:
            key = load_watermark_key(keys)
            if p is not None and p.watermark.enabled:
                watermark_scheme(p.watermark.scheme, key=key)
        except HallmarkError as e:
            out.append(Diagnosis("watermark key", PROBLEM, str(e), fix_for(e)))
        else:
            out.append(Diagnosis("watermark key", OK, f"{h.watermark_key} loads, private to its owner"))

    for name, m in files.items():  # other private keys (the CA's) that others can read
        if name in reported or m is None or not name.endswith(".key") or not int(m, 8) & 0o077:
            continue
        path = keys / name
        out.append(
            Diagnosis(
                f"key file {name}",
                WARNING,
                f"{path} has permissions {m}; others can read it",
                f"chmod 600 {shlex.quote(str(path))}",
            )
        )
    if p is not None and p.audit.store_raw_prompt:
        out.append(_personal_key(h))
    return out


def _certificate(info: Any, now: datetime, init: str) -> Diagnosis:
    end = info.not_after
    days = (end - now).days
    who = info.subject
    if now > end:
        return Diagnosis(
            "signing certificate",
            PROBLEM,
            f"{who} expired on {end.date()}",
            f"run `{init} --force` for a new development certificate, or install one your CA renewed",
        )
    if now < info.not_before:
        return Diagnosis(
            "signing certificate",
            PROBLEM,
            f"{who} is not valid before {info.not_before.isoformat()}",
            "check this machine's clock",
        )
    problems = [x for x in info.problems if "certificate" in x]
    if problems:
        return Diagnosis(
            "signing certificate",
            PROBLEM,
            problems[0],
            f"run `{init} --force`, or use a suitable certificate",
        )
    if days < CERT_WARN_DAYS:
        return Diagnosis(
            "signing certificate",
            WARNING,
            f"{who} expires on {end.date()}, in {days} days: images signed with it stop validating then",
            f"before then, run `{init} --force` or install a renewed certificate",
        )
    return Diagnosis("signing certificate", OK, f"{who}, valid until {end.date()} ({days} days)")


def _personal_key(h: Home) -> Diagnosis:
    path = h.personal_key
    if not path.exists():
        return Diagnosis("personal-data key", OK, f"{path} is created on the first generate")
    m = _mode(path)
    if os.name == "posix" and m & 0o077:
        return Diagnosis(
            "personal-data key",
            PROBLEM,
            f"{path} has permissions {m:04o}; others can read it",
            f"chmod 600 {shlex.quote(str(path))}",
        )
    if not os.access(path, os.R_OK):
        return Diagnosis("personal-data key", PROBLEM, f"{path} cannot be read", f"chmod u+r {path}")
    return Diagnosis("personal-data key", OK, f"{path} ({m:04o})")


def _shown_url(url: str) -> str:
    """A log URL fit to print: no user, password or query (which may hold a password)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.username is None and parts.password is None and not parts.query:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _writable_ancestor(path: Path) -> tuple[Path, bool]:
    """The nearest existing folder at or above ``path``, and whether this user may create in it."""
    p = path
    while not p.exists() and p.parent != p:
        p = p.parent
    return p, os.access(p, os.W_OK | os.X_OK)


def _audit(h: Home) -> list[Diagnosis]:
    from hallmark.audit import AuditLog

    url = h.audit_url
    shown = _shown_url(url)
    key = h.audit_key
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        db = Path(url[len("sqlite:///") :])
        folder, writable = _writable_ancestor(db.parent)
        if not writable:
            return [
                Diagnosis(
                    "audit log",
                    PROBLEM,
                    f"no audit log yet, and {folder} is not writable, so the first generate cannot create {db}",
                    f"chmod u+w {shlex.quote(str(folder))}, or pass --home with a writable folder",
                )
            ]
        return [Diagnosis("audit log", OK, f"no audit log yet: the first generate creates {db}")]
    try:
        with AuditLog.open(url, key_path=key, create=False) as log:
            check = log.verify(check_files=False)
    except HallmarkError as e:
        fix = e.hint or "check HALLMARK_AUDIT_URL and that the database server is running"
        return [Diagnosis("audit log", PROBLEM, f"{shown}: {e}", fix)]
    if not check.ok:
        where = f" at entry {check.first_bad_index}" if check.first_bad_index is not None else ""
        return [
            Diagnosis(
                "audit log",
                PROBLEM,
                f"{shown} does NOT verify{where}: {check.reason}",
                "run `hallmark audit verify` for the details, and restore the log from a backup",
            )
        ]
    out = [Diagnosis("audit log", OK, f"{shown}: {check.size} entries, verifies")]
    if key.exists():
        m = _mode(key)
        if os.name == "posix" and m & 0o077:
            out.append(
                Diagnosis(
                    "audit checkpoint key",
                    WARNING,
                    f"{key} has permissions {m:04o}; others could sign checkpoints of this log",
                    f"chmod 600 {shlex.quote(str(key))}",
                )
            )
    elif check.size:
        out.append(
            Diagnosis(
                "audit checkpoint key",
                PROBLEM,
                f"{key} is missing, and the log's checkpoints are signed with it: appending fails",
                f"restore {key} from a backup",
            )
        )
    return out


def _manifest_store(h: Home, p: Policy | None) -> list[Diagnosis]:
    if p is None:
        return _policy_missing("manifest store")
    if not (p.c2pa.enabled and p.c2pa.keep_manifest_store):
        return [Diagnosis("manifest store", NOT_CHECKED, "the policy keeps no manifest store")]
    d = h.manifests
    if d.is_dir():
        if not os.access(d, os.W_OK | os.X_OK):
            return [Diagnosis("manifest store", PROBLEM, f"{d} is not writable", f"chmod u+w {d}")]
        count = sum(1 for e in os.scandir(d) if e.name.endswith(".c2pa"))
        return [Diagnosis("manifest store", OK, f"{d} ({count} manifests)")]
    folder, writable = _writable_ancestor(d)
    if not writable:
        return [
            Diagnosis(
                "manifest store",
                PROBLEM,
                f"{folder} is not writable, so the first generate cannot create {d}",
                f"chmod u+w {shlex.quote(str(folder))}, or pass --home with a writable folder",
            )
        ]
    return [Diagnosis("manifest store", OK, f"the first generate creates {d}")]


def _disk_space(h: Home) -> list[Diagnosis]:
    folder, _ = _writable_ancestor(h.root)
    free = shutil.disk_usage(folder).free
    shown = f"{free / (1 << 30):.1f} GiB free on the disk of {folder}"
    if free < MIN_FREE_BYTES:
        return [
            Diagnosis(
                "disk space", WARNING, shown, "free some space, or pass --home with a folder on a larger disk"
            )
        ]
    return [Diagnosis("disk space", OK, shown)]


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    if len(text) > 200:
        text = text[:199] + "…"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
