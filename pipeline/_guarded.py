"""GuardedPipeline: every image it releases passed the policy, the classifier, carries the
watermark and a signed C2PA manifest, and has an audit entry.

The order of the stages is DESIGN.md's.  Two invariants hold whatever fails:

* C2PA signing is the last change to the bytes; labels and metadata come before it.
* The audit entry of an image is committed before the file appears under its final name, so no
  image is ever released without a record.  A crash leaves at most a ``.tmp`` file.

Fail closed: if the classifier, the watermark, the labels or the signer raises, that image is
not released and the failure is recorded.  A stage is skipped only when the policy disables it,
and the skip is written in both the manifest and the audit entry.
"""

from __future__ import annotations

import collections.abc
import functools
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter

from hallmark.errors import HallmarkError, PipelineError, describe_error
from hallmark.guardrails import Action, CheckStatus, ImageVerdict, PromptDecision
from hallmark.policies import IMAGE_CATEGORIES, Policy, load_policy

from ._batch import in_two_phases
from ._durable import fsync_dir
from ._generators import GenerationParams, Generator, generator_for
from ._home import Home
from ._memory import retain_freed_memory
from ._once import (
    add_settled,
    blocked_before,
    image_record_id,
    parse_request_id,
    request_seed,
    settled_entries,
)
from ._readback import encode_image, release_marked
from ._records import label_context, new_record_id, policy_assertion, request_record
from ._release import _EXT, _MIME, _SEALED_HEAD, _StageFailed, _timed, _Work, write_sealed
from ._request import check_request, check_writable
from ._results import GenerationResult, ReleasedImage, WithheldImage
from ._stages import Stages


class GuardedPipeline:
    """Wraps any generator with hallmark's policy, safety, watermark, C2PA and audit stages.

    Build one with ``GuardedPipeline.from_pretrained("tiny")`` (or a diffusers folder, a hub id,
    or any callable returning PIL images), call it with a prompt, and close it (or use it as a
    context manager) to release the audit log.
    """

    def __init__(
        self,
        generator: Generator | Callable[..., Any] | str | Path,
        *,
        policy: Policy | str = "default",
        home: Home | str | Path | None = None,
        audit_url: str | None = None,
        signer: Any = None,
        stages: Stages | None = None,
        workers: int | None = None,
        now: Callable[[], datetime] | None = None,
        editor: Any = None,
    ) -> None:
        self.home = home if isinstance(home, Home) else Home.resolve(home)
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        self._now = now or (lambda: datetime.now(UTC))
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        retain_freed_memory()  # the chain's buffers would page-fault afresh for every image
        self.stages = stages or Stages.from_policy(self.policy, self.home, signer=signer)

        # The model loads after every key and setting was checked, and the audit log opens last:
        # a bad request fails before anything is written.
        self.generator = generator_for(generator, models_dir=self.home.models)  # type: ignore[arg-type]
        self.editor = editor  # edits: an Editor or callable; None uses the diffusers model's own

        self.audit = self.home.open_audit_log(
            audit_url, retention_days=self.policy.audit.retention_days or None
        )

    @classmethod
    def from_pretrained(
        cls,
        model: str | Path = "tiny",
        *,
        policy: Policy | str = "default",
        home: Home | str | Path | None = None,
        **kwargs: Any,
    ) -> GuardedPipeline:
        """Load a generator by name (``tiny``, a diffusers folder or a hub id) and guard it."""
        return cls(model, policy=policy, home=home, **kwargs)

    # -- context management -------------------------------------------------------------

    def close(self) -> None:
        self.audit.close()

    def __enter__(self) -> GuardedPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the request ---------------------------------------------------------------------

    def __call__(
        self,
        prompt: str,
        *,
        negative_prompt: str | None = None,
        n: int = 1,
        seed: int | None = None,
        size: int | tuple[int, int] = 512,
        steps: int = 2,
        guidance_scale: float | None = None,
        user: str | None = None,
        out_dir: str | Path = ".",
        fmt: str | None = None,
        progress: Callable[[str, int], None] | None = None,
        request_id: str | None = None,
    ) -> GenerationResult:
        """Run one request through every stage; see the module docstring for the guarantees.

        A ``request_id`` (a UUID the caller chose) makes the request safe to run again: images an
        earlier run of it settled in the audit log are returned from their entries, not released
        twice (``hallmark.pipeline._once``)."""
        width, height = (size, size) if isinstance(size, int) else size
        fmt = fmt or self.policy.output.format
        check_request(n=n, width=width, height=height, steps=steps, fmt=fmt)
        out = Path(out_dir)
        check_writable(out)
        timings: dict[str, float] = {}
        tick = progress or (lambda stage, k: None)

        with _timed(timings, "prompt"):
            decision = self.stages.prompt_filter.evaluate(prompt, negative_prompt=negative_prompt)
        rid = parse_request_id(request_id) if request_id is not None else None
        request_id = str(rid or new_record_id(now=self._now()))
        personal: dict[str, Any] = {"prompt": decision.redacted_prompt, "user": user}
        if self.stages.cipher is not None:
            personal["raw_prompt"] = self.stages.cipher.seal(prompt, context=request_id)
        result = GenerationResult(decision=decision, timings_ms=timings, model=self.generator.name)
        if decision.blocked:
            data = request_record(
                self.policy, self.generator.name, decision, params=None, request_id=request_id
            )
            if rid is not None:  # a named request's refusal is recorded once, under its id
                if blocked_before(self.audit, request_id):
                    return result
                data["record_id"] = request_id
            self.audit.append("prompt.blocked", data, personal=personal, now=self._now())
            return result

        if seed is None:
            seed = request_seed(rid) if rid else secrets.randbelow(2**31)
        result.seed = seed
        ids = [image_record_id(rid, i) if rid else new_record_id(now=self._now()) for i in range(n)]
        settled = settled_entries(self.audit, ids) if rid else {}
        add_settled(result, list(settled.values()))
        if len(settled) == n:  # an earlier run of this request settled every image
            return result
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
        tick("generate", 0)
        try:
            with _timed(timings, "generate"):
                images = self.generator.generate(params)
        except Exception as e:
            data = request_record(
                self.policy, self.generator.name, decision, params=params, request_id=request_id
            )
            data.update(stage="generate", error=type(e).__name__)
            self.audit.append("generation.failed", data, personal=personal, now=self._now())
            if isinstance(e, HallmarkError):
                raise
            private = (prompt, negative_prompt or "", params.prompt, user or "")
            raise PipelineError(
                f"generator {self.generator.name!r} failed: {describe_error(e, withhold=private)}"
            ) from e
        tick("generate", n)

        works = [
            _Work(index=i, record_id=ids[i], image=img)
            for i, img in enumerate(images)
            if ids[i] not in settled
        ]
        self._release(
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
        return result

    def edit(
        self, image: Any, prompt: str, *, mask: Any = None, strength: float = 0.6, **options: Any
    ) -> GenerationResult:
        """Edit a real image (a path, bytes or PIL image; ``mask`` white where it is redrawn) through
        the same stages, its input checked before any model runs and recorded as the ``parentOf``
        ingredient of each released image.  ``options``: ``n``, ``seed``, ``steps``, ``guidance_scale``,
        ``negative_prompt``, ``user``, ``out_dir``, ``fmt``, ``editor``, ``progress`` (``_edit``)."""
        from ._edit import edit_image

        return edit_image(self, image, prompt, mask=mask, strength=strength, **options)

    def _release(
        self,
        works: list[_Work],
        *,
        decision: PromptDecision,
        params: GenerationParams,
        personal: dict[str, Any],
        fmt: str,
        out: Path,
        result: GenerationResult,
        request_id: str,
        tick: Callable[[str, int], None],
    ) -> None:
        """Classify, mark, sign and commit ``works`` in order (see the module docstring)."""
        timings = result.timings_ms
        out.mkdir(parents=True, exist_ok=True)
        post_start = time.perf_counter()
        # Audit appends and renames happen in order, on this thread: the log sees the images in
        # generation order and no file is renamed before its entry is committed.  With workers,
        # image k is committed while the later ones are still being processed.
        processed = self._processed(works, out_dir=out, fmt=fmt)
        try:
            for w in processed:
                self._commit(
                    w,
                    decision=decision,
                    params=params,
                    personal=personal,
                    fmt=fmt,
                    result=result,
                    request_id=request_id,
                )
                tick("release", w.index + 1)
        finally:
            processed.close()  # joins the workers before their files are looked at
            for w in works:  # written, never committed: nothing of them stays behind
                if w.tmp_path is not None:
                    w.tmp_path.unlink(missing_ok=True)
        timings["post_generation"] = (time.perf_counter() - post_start) * 1000
        for w in works:
            for stage, ms in w.timings.items():
                timings[stage] = timings.get(stage, 0.0) + ms

    def _processed(self, works: list[_Work], *, out_dir: Path, fmt: str) -> collections.abc.Generator[_Work]:
        """The works, in order, each once its post-generation stages have run (on worker threads
        when there are workers and more than one image; see ``hallmark.pipeline._batch``)."""

        def classified(w: _Work) -> bool:
            self._phase(w, self._classify)
            return w.outcome == "pending"

        def finish(w: _Work) -> None:
            self._phase(w, functools.partial(self._finish, out_dir=out_dir, fmt=fmt))

        if self.workers > 1 and len(works) > 1:
            yield from in_two_phases(works, classified, finish, workers=self.workers)
            return
        for w in works:
            if classified(w):
                finish(w)
            yield w

    # -- post-generation stages, one image, any thread ----------------------------------

    def _phase(self, w: _Work, stages: Callable[[_Work], None]) -> None:
        """Run ``stages`` on ``w``; a stage failure is recorded on the work, not raised."""
        try:
            stages(w)
        except _StageFailed as e:
            w.outcome = f"failed:{e.stage}"
            w.error, w.error_type = describe_error(e.error), type(e.error).__name__

    def _finish(self, w: _Work, *, out_dir: Path, fmt: str) -> None:
        """Every stage after the classifier, for an image it let through."""
        self._mark_and_sign(w, fmt=fmt)
        with self._stage(w, "write"):
            write_sealed(w, out_dir=out_dir, fmt=fmt)
        w.outcome = "ready"

    @contextmanager
    def _stage(self, w: _Work, stage: str) -> Iterator[None]:
        """Time a stage and turn any exception into a recorded, fail-closed stage failure."""
        with _timed(w.timings, stage):
            try:
                yield
            except _StageFailed:
                raise
            except Exception as e:
                raise _StageFailed(stage, e) from e

    def _classify(self, w: _Work) -> None:
        if self.stages.image_safety is None:
            w.verdict = ImageVerdict(
                action=Action.ALLOW,
                state=CheckStatus.NOT_CHECKED,
                reason="disabled by policy",
                categories=dict.fromkeys(IMAGE_CATEGORIES, CheckStatus.NOT_CHECKED),
            )
            w.stages["classifier"] = "skipped: disabled by policy"
            return
        with self._stage(w, "classifier"):
            w.verdict = self.stages.image_safety.classify(w.image)
        w.stages["classifier"] = "applied"
        if w.verdict.action is Action.BLOCK:
            w.outcome = "blocked"
        elif w.verdict.action is Action.BLUR:
            radius = max(w.image.size) / 24
            w.image = w.image.filter(ImageFilter.GaussianBlur(radius))
            w.stages["blur"] = "applied"

    def _mark_and_sign(self, w: _Work, *, fmt: str) -> None:
        labeler = self.stages.labeler
        ctx = (
            label_context(
                self.policy,
                w.edit.agent if w.edit is not None else self.generator.name,
                w.record_id,
                source_type=w.edit.source_type if w.edit is not None else None,
            )
            if labeler is not None
            else None
        )
        if labeler is not None and ctx is not None:
            with self._stage(w, "labels"):
                w.image = labeler.visible(w.image, ctx)
            w.stages["labels"] = "applied: " + ",".join(self.policy.labels.profiles)
        else:
            w.stages["labels"] = "skipped: no profile in policy"

        encode = functools.partial(self._encode, w, fmt=fmt, labeler=labeler, ctx=ctx)
        scheme = self.stages.watermark
        before = sum(w.timings.get(k, 0.0) for k in ("encode", "labels"))
        with self._stage(w, "watermark"):
            release = release_marked(
                scheme, w.image, record_id=w.record_id.bytes, encode=encode, policy=self.policy.watermark
            )
        # The encodings made inside the read-back are timed as the encode's, not the mark's.
        w.timings["watermark"] -= sum(w.timings.get(k, 0.0) for k in ("encode", "labels")) - before
        w.image, w.data, w.payload, w.readable = (
            release.image,
            release.data,
            release.payload,
            release.readable,
        )
        w.stages.update(release.stages)
        if w.payload is not None:
            from hallmark.provenance import content_fingerprint

            with self._stage(w, "watermark"):  # binds the mark to this picture
                w.fingerprint = content_fingerprint(w.image)

        if self.stages.signer is None:
            w.stages["c2pa"] = "skipped: disabled by policy"
            return
        from hallmark.provenance import ManifestSpec, SoftBinding
        from hallmark.provenance.c2pa import TRAINED_ALGORITHMIC_MEDIA

        spec = ManifestSpec(
            title=f"{w.record_id}.{_EXT[fmt]}",
            software_agent=w.edit.agent if w.edit is not None else self.generator.name,
            claim_generator=self.policy.c2pa.claim_generator,
            # Only a mark that reads back from these very bytes is promised as a soft binding.
            watermark=SoftBinding(scheme.scheme_id, w.payload.hex())
            if (scheme is not None and w.payload is not None and w.readable)
            else None,
            training_mining=self.policy.c2pa.training_mining,
            policy_assertion=policy_assertion(
                self.policy,
                record_id=str(w.record_id),
                audit_origin=getattr(self.audit, "origin", "hallmark audit log"),
                verdict=w.verdict,
                stages=w.stages,
                edit_input=w.edit.record if w.edit is not None else None,
            ),
            digital_source_type=w.edit.source_type if w.edit is not None else TRAINED_ALGORITHMIC_MEDIA,
            ingredient=w.edit.ingredient if w.edit is not None else None,
            extra_assertions=list(labeler.assertions(ctx))
            if (labeler is not None and ctx is not None)
            else [],
            thumbnail=self.policy.c2pa.thumbnail,
        )
        with self._stage(w, "c2pa_sign"):
            signed = self.stages.signer.sign(w.data, mime=_MIME[fmt], manifest=spec)
            w.data = signed.data
            if self.stages.manifests is not None:
                self.stages.manifests.put(str(w.record_id), signed.manifest_store)
        w.stages["c2pa"] = "applied"
        w.manifest_summary = {"signed": True, "store_bytes": len(signed.manifest_store)}

    def _encode(self, w: _Work, image: Image.Image, *, fmt: str, labeler: Any, ctx: Any) -> bytes:
        """``image`` as the bytes that will be released: encoded, metadata labels applied."""
        with self._stage(w, "encode"):
            data = encode_image(image, fmt=fmt, output=self.policy.output)
        if labeler is not None and ctx is not None:
            with self._stage(w, "labels"):
                data = labeler.embed_metadata(data, fmt=fmt, ctx=ctx)
        return bytes(data)

    # -- commit, in order, on the calling thread -----------------------------------------

    def _commit(
        self,
        w: _Work,
        *,
        decision: PromptDecision,
        params: GenerationParams,
        personal: dict[str, Any],
        fmt: str,
        result: GenerationResult,
        request_id: str,
    ) -> None:
        model = w.edit.agent if w.edit is not None else self.generator.name
        data = request_record(self.policy, model, decision, params=params, request_id=request_id)
        data["record_id"] = str(w.record_id)
        if w.edit is not None:  # the input: its sha256 and what its checks said, never its pixels
            data["input"] = dict(w.edit.record)
        data["decisions"]["image"] = w.verdict.to_dict() if w.verdict else None
        data["stages"] = dict(w.stages)
        if w.outcome == "blocked":
            entry = self.audit.append("image.blocked", data, personal=personal, now=self._now())
            result.withheld.append(WithheldImage(str(w.record_id), "blocked", w.verdict, entry.index))
            return
        if w.outcome != "ready":
            data.update(stage=w.outcome.removeprefix("failed:"), error=w.error_type)
            entry = self.audit.append("generation.failed", data, personal=personal, now=self._now())
            result.withheld.append(
                WithheldImage(str(w.record_id), w.outcome, w.verdict, entry.index, w.error)
            )
            return
        assert w.tmp_path is not None and w.final_path is not None
        digest = hashlib.sha256(w.data).hexdigest()
        data.update(
            path=str(w.final_path.resolve()),
            sha256=digest,
            format=fmt,
            scheme_id=self.stages.watermark.scheme_id
            if (self.stages.watermark is not None and w.payload is not None)
            else None,
            payload=w.payload.hex() if w.payload is not None else None,
            watermark_readable=w.readable,
            fingerprint=w.fingerprint,
            manifest=w.manifest_summary,
        )
        try:
            entry = self.audit.append("image.released", data, personal=personal, now=self._now())
        except Exception:
            w.tmp_path.unlink(missing_ok=True)  # no record, no release
            raise
        with open(w.tmp_path, "r+b") as f:  # committed: the image may become readable
            f.write(w.data[:_SEALED_HEAD])
            f.flush()
            os.fsync(f.fileno())
        os.replace(w.tmp_path, w.final_path)
        w.tmp_path = None
        fsync_dir(w.final_path.parent)
        result.images.append(
            ReleasedImage(
                record_id=str(w.record_id),
                path=w.final_path,
                sha256=digest,
                payload=data["payload"],
                scheme_id=data["scheme_id"],
                verdict=w.verdict or ImageVerdict(action=Action.ALLOW, state=CheckStatus.NOT_CHECKED),
                audit_index=entry.index,
                timings_ms=dict(w.timings),
                watermark_readable=w.readable,
            )
        )
