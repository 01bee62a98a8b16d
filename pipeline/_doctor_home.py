"""``hallmark doctor``'s look at one home: keys and their permissions, the signing certificate,
the audit log (opened without creating anything), the manifest store and free disk space."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hallmark.errors import HallmarkError

from ._diagnosis import NOT_CHECKED, OK, PROBLEM, WARNING, Diagnosis, _policy_missing
from ._home import Home, default_home

if TYPE_CHECKING:
    from hallmark.policies import Policy

MIN_FREE_BYTES = 1 << 30  # below this the home's disk gets a warning
CERT_WARN_DAYS = 30  # a signing certificate this close to its end gets a warning


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
