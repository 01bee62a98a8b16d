"""The library calls behind the endpoints, in plain synchronous functions.

No verification, policy or logging logic lives here: ``Verifier`` verifies, ``PromptFilter``
decides, ``AuditLog`` proves.  This module only holds what one server builds once (the verifier
of its home, a prompt filter per policy) and turns results into the JSON the CLI prints.  The
endpoints call it from worker threads, off the event loop.
"""

from __future__ import annotations

import threading
import unicodedata
import uuid
from typing import Any

from hallmark._schemas import schema_id

from .._home import Home
from ._errors import ApiError
from ._pool import VerifyPool
from ._reports import build_verifier, report_html, report_json
from ._resolver import SoftBindingResolver
from ._settings import ServeSettings

MAX_LABEL = 200


class Service:
    """What one server process verifies, checks and proves with, built from its settings.

    The verifier is built at once, so that an unusable home or trust setting stops the server
    before it listens; prompt filters are built on first use of each policy (they load word lists
    and the PII recognizers)."""

    def __init__(self, settings: ServeSettings) -> None:
        from hallmark.policies import load_policy

        self.settings = settings
        self.home = Home.resolve(settings.home)
        self.verifier = build_verifier(settings)
        self.resolver = SoftBindingResolver.for_home(self.home)
        load_policy(settings.policy)  # a bad --policy fails now, not on the first request
        self._filters: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._pool: VerifyPool | None = None

    def verify(self, data: bytes, *, label: str, as_html: bool = False) -> tuple[Any, bool]:
        """The verify-report JSON (``as_html``: the HTML report's text) of one upload (its
        ``source`` is ``label``), and whether it
        could be checked at all (False: the verdict is ``error``).  With a time limit it runs
        in a worker process (``VerifyPool``, started on first use), else in this thread."""
        if not self.settings.verify_timeout_s:
            report = report_html if as_html else report_json
            return report(self.verifier, data, label=label)
        with self._lock:
            if self._pool is None:
                self._pool = VerifyPool(
                    self.settings, size=self.settings.verify_slots, timeout_s=self.settings.verify_timeout_s
                )
            pool = self._pool
        return pool.verify(data, label=label, as_html=as_html)

    def keep_upload(self, data: bytes) -> None:
        """Keep an upload in the operator's ``keep_uploads`` folder, named by its SHA-256 (never
        by anything the client sent), written whole and readable by the server's user only."""
        import hashlib
        import os
        import secrets
        from pathlib import Path

        folder = Path(str(self.settings.keep_uploads))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha256(data).hexdigest()}.upload"
        if path.exists():
            return
        tmp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the verification workers, if any were started."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def check(self, prompt: str, *, negative_prompt: str | None, policy: str | None) -> dict[str, Any]:
        """The check-decision JSON for a prompt under ``policy`` (a bundled policy's name; the
        server's own policy when None)."""
        decision = self._filter(policy).evaluate(prompt, negative_prompt=negative_prompt)
        return {"schema": schema_id("check-decision"), **decision.to_dict(redact=False)}

    def prove(self, record_id: str) -> dict[str, Any]:
        """The audit-proof JSON (inclusion proof, signed checkpoint, verifier key) of the entry
        that released ``record_id``; 404 ``ApiError`` when no image was released under it."""
        from hallmark.errors import AuditError

        rid = record_id_of(record_id)
        unknown = ApiError(404, "unknown-record", f"no image was released under record id {rid}")
        try:
            log = self.home.open_audit_log(create=False)
        except AuditError as e:
            if str(e).startswith("no audit log"):  # nothing released yet
                raise unknown from e
            raise
        with log:
            released = log.find(record_id=rid, kind="image.released")
            if not released:
                raise unknown
            proof = log.prove(released[-1].index).to_dict()
            proof["verifier_key"] = log.verifier_key()
        return {"schema": schema_id("audit-proof"), **proof}

    def released_image(self, record_id: str) -> tuple[bytes, str]:
        """The bytes and format of the image released under ``record_id``, found through its
        audit entry; 404 when none was released here, or its file is gone or was changed."""
        import hashlib
        from pathlib import Path

        rid = record_id_of(record_id)
        unknown = ApiError(404, "unknown-image", f"no released image is kept for record id {rid}")
        with self._audit_log(unknown) as log:
            released = log.find(record_id=rid, kind="image.released")
            erased = any(e.kind == "record.erased" for e in log.find(record_id=rid))
        if not released or erased:
            raise unknown
        data = released[-1].data
        try:
            image = Path(str(data["path"])).read_bytes()
        except (KeyError, OSError):
            raise unknown from None
        if hashlib.sha256(image).hexdigest() != data.get("sha256"):
            raise unknown  # not the bytes released: never serve them as the record's image
        return image, str(data.get("format") or "")

    def audit_entries(self, *, limit: int, **filters: str | None) -> list[dict[str, Any]]:
        """Entries as ``hallmark audit list --json`` prints them (oldest first, at most ``limit``)."""
        with self._audit_log(None) as log:
            return [
                _entry_json(e) for e in log.entries(**{k: v for k, v in filters.items() if v}, limit=limit)
            ]

    def audit_show(self, what: str) -> list[dict[str, Any]]:
        """The entry at index ``what``, or every entry of record id ``what`` (``audit show``)."""
        from hallmark.errors import AuditError

        missing = ApiError(404, "unknown-record", f"no audit entry for {what[:64]}")
        with self._audit_log(missing) as log:
            if what.isdigit() and len(what) < 19:
                try:
                    return [_entry_json(log.get(int(what)))]
                except AuditError:
                    raise missing from None
            found = log.find(record_id=record_id_of(what))
        if not found:
            raise missing
        return [_entry_json(e) for e in found]

    def audit_verify(self) -> dict[str, Any]:
        """``hallmark audit verify --json`` on the home's log (with its checkpoint file and its
        manifests' records when the log is the home's own)."""
        from hallmark.audit import verify_log

        home = self.home
        mine = home.is_home_log(None)
        self._audit_log(None).close()  # no log yet: a 404, not a verification failure
        check = verify_log(
            home.audit_url,
            key_path=home.audit_key,
            verifier_key=None,
            checkpoint_file=home.audit_checkpoint if mine else None,
            checkpoints={},
            records=home.manifest_records() if mine else None,
            witnesses=None,
            check_files=True,
        )
        return {"schema": schema_id("audit-log-check"), **check.to_dict()}

    def _audit_log(self, missing: ApiError | None) -> Any:
        """The home's audit log, opened read-only; ``missing`` (or a 404) when there is none yet."""
        from hallmark.errors import AuditError

        try:
            return self.home.open_audit_log(create=False)
        except AuditError as e:
            if str(e).startswith("no audit log"):
                raise missing or ApiError(404, "unknown-record", "the audit log is empty") from e
            raise

    def _filter(self, policy: str | None) -> Any:
        from hallmark.guardrails import PromptFilter
        from hallmark.policies import bundled_policies, load_policy

        name = policy or self.settings.policy
        if policy is not None and policy not in bundled_policies():
            # Only bundled names: a policy named by a request must never become a file path.
            raise ApiError(
                400, "unknown-policy", f"unknown policy {policy!r}; known: {', '.join(bundled_policies())}"
            )
        with self._lock:
            found = self._filters.get(name)
            if found is None:
                found = self._filters[name] = PromptFilter.from_policy(load_policy(name))
        return found


def _entry_json(entry: Any) -> dict[str, Any]:
    return {"schema": schema_id("audit-entry"), **entry.to_dict()}


def record_id_of(text: str) -> str:
    """``text`` as a record id in its canonical form (lower-case hyphenated UUID); 400
    ``ApiError`` for anything else, so no other text reaches a query."""
    try:
        if len(text) != 36:
            raise ValueError(text)
        return str(uuid.UUID(text))
    except ValueError:
        raise ApiError(400, "bad-request", "a record id is a UUID (8-4-4-4-12 hex digits)") from None


def upload_label(filename: str, number: int) -> str:
    """The name a report shows for an upload: the client's file name without folders or control
    characters, cut to ``MAX_LABEL``; ``upload-N`` when it gave none.  Display only: the content
    is sniffed from the bytes."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:MAX_LABEL] or f"upload-{number}"
