"""A minimal C2SP tlog-witness for tests: ``POST /add-checkpoint`` on 127.0.0.1, one log.

It does what the spec asks a witness to do (tlog-witness.md, "add-checkpoint"): verify the log's
signature (403), know the origin (404), old size <= new size (400), old size equal to the size it
last cosigned (409 with ``text/x.tlog.size``), an empty proof from size 0, a consistency proof that
verifies (422), the same root at the same size (422); then it records the new checkpoint, atomically
with the check, and answers with a ``cosignature/v1`` line (Ed25519, timestamped).
"""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hallmark.audit import VerifierKey, WitnessKey, cosign, verify_checkpoint
from hallmark.audit._merkle import EMPTY_ROOT, check_consistency
from hallmark.errors import TamperError


class LocalWitness:
    """A witness for one log (``origin`` signed by ``log_key``) on an ephemeral port."""

    def __init__(self, *, name: str, origin: str, log_key: str, now: int = 1_780_000_000) -> None:
        self.name = name
        self.origin = origin
        self.log_key = VerifierKey.parse(log_key)
        self.private = Ed25519PrivateKey.generate()
        self.key = WitnessKey.from_private(self.private, name=name)
        self.now = now
        self.size = 0
        self.root = EMPTY_ROOT
        self.requests: list[tuple[int, int]] = []  # (old size, status) of every request
        self._lock = threading.Lock()
        witness = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, kind, text = witness.add_checkpoint(self.path, body.decode("utf-8", "replace"))
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/witness"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalWitness:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_checkpoint(self, path: str, body: str) -> tuple[int, str, str]:
        status, kind, text = self._add_checkpoint(path, body)
        self.requests.append(
            (int(body.split("\n", 1)[0][4:] or -1) if body.startswith("old ") else -1, status)
        )
        return status, kind, text

    def _add_checkpoint(self, path: str, body: str) -> tuple[int, str, str]:
        plain = "text/plain; charset=utf-8"
        if path != "/witness/add-checkpoint":
            return 404, plain, "not found\n"
        head, sep, note = body.partition("\n\n")
        lines = head.split("\n")
        if not sep or not lines[0].startswith("old ") or not lines[0][4:].isdigit():
            return 400, plain, "malformed request\n"
        old = int(lines[0][4:])
        try:
            proof = [base64.b64decode(x, validate=True) for x in lines[1:]]
        except ValueError:
            return 400, plain, "malformed proof\n"
        if len(proof) > 63:
            return 400, plain, "too many proof lines\n"
        origin = note.split("\n", 1)[0]
        if origin != self.origin:
            return 404, plain, "unknown log\n"
        try:
            cp = verify_checkpoint(note, self.log_key, origin=self.origin)
        except TamperError:
            return 403, plain, "no valid signature by a trusted log key\n"
        if old > cp.size:
            return 400, plain, "old size larger than the checkpoint's\n"
        with self._lock:  # the check and the update are one step: no rollback by racing requests
            if old != self.size:
                return 409, "text/x.tlog.size", f"{self.size}\n"
            if cp.size == 0 and cp.root_hash != EMPTY_ROOT:
                return 422, plain, "an empty tree has the empty root\n"
            if old == 0 and proof:
                return 422, plain, "no proof from the empty tree\n"
            try:
                if old == cp.size:
                    if proof or cp.root_hash != self.root:
                        raise TamperError("same size, different root")
                elif old:
                    check_consistency(old, cp.size, self.root, cp.root_hash, proof)
            except TamperError:
                return 422, plain, "consistency proof does not verify\n"
            self.size, self.root = cp.size, cp.root_hash
            return 200, plain, cosign(self.private, name=self.name, note=note, timestamp=self.now)
