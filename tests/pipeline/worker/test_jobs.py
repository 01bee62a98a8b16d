"""What a job does without Celery: its message, the worker's refusals, the verdict summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallmark.errors import InputError, PipelineError
from hallmark.pipeline.worker import GenerationJob, ProcessState, WorkerSettings, run_generation, summarize


def test_a_job_message_round_trips_and_refuses_unknown_fields() -> None:
    job = GenerationJob(request_id="01a23747-c2c7-74e2-8cc4-121a9eae31d9", prompt="a lighthouse", n=2)
    assert GenerationJob.from_message(job.to_message()) == job
    with pytest.raises(InputError, match="unknown generation job field 'api_key'"):
        GenerationJob.from_message({**job.to_message(), "api_key": "x"})


@pytest.mark.parametrize(("field", "value"), [("model", "sd-turbo"), ("policy", "strict")])
def test_a_worker_refuses_a_job_for_another_model_or_policy(tmp_path: Path, field: str, value: str) -> None:
    state = ProcessState(WorkerSettings(home=tmp_path, out_root=tmp_path))
    message = {"request_id": "01a23747-c2c7-74e2-8cc4-121a9eae31d9", "prompt": "a lighthouse", field: value}
    with pytest.raises(PipelineError, match=f"this worker serves {field} '.*', not '{value}'"):
        run_generation(message, state)
    assert state._pipeline is None  # refused before anything loaded


def test_a_job_may_not_write_outside_the_output_root(tmp_path: Path) -> None:
    state = ProcessState(WorkerSettings(home=tmp_path, out_root=tmp_path / "out"))
    message = {"request_id": "01a23747-c2c7-74e2-8cc4-121a9eae31d9", "prompt": "a lighthouse", "out": "../x"}
    with pytest.raises(InputError, match="outside the worker's output root"):
        run_generation(message, state)


def test_the_summary_counts_verdicts_over_chunks() -> None:
    chunks = [
        [{"verdict": "hallmark-signed", "passed": True}, {"verdict": "tampered", "passed": False}],
        [{"verdict": "hallmark-signed", "passed": True}],
        [],
    ]
    assert summarize(chunks) == {"files": 3, "passed": 2, "verdicts": {"hallmark-signed": 2, "tampered": 1}}


def _slow_render(prompt: str, n: int, width: int, height: int) -> list:  # type: ignore[type-arg]
    import time

    import numpy as np
    from PIL import Image

    time.sleep(1.0)  # long enough for the second delivery to arrive while the first runs
    rng = np.random.default_rng(n)
    return [Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)) for _ in range(n)]


def _deliver(home: str, out: str, message: dict, results) -> None:  # type: ignore[no-untyped-def]
    from hallmark.pipeline import GuardedPipeline

    state = ProcessState(WorkerSettings(home=Path(home), out_root=Path(out)))
    state._pipeline = GuardedPipeline(_slow_render, home=home)  # the loaded model, without torch
    results.put(run_generation(message, state))


def test_two_deliveries_of_one_job_at_once_release_its_images_once(
    tmp_path: Path, pg_log_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing as mp

    from hallmark.audit import AuditLog
    from hallmark.pipeline import new_record_id
    from hallmark.provenance import init_keys

    home = tmp_path / "home"
    init_keys(home / "keys")
    monkeypatch.setenv("HALLMARK_AUDIT_URL", pg_log_url)
    with AuditLog.open(pg_log_url, key_path=home / "keys" / "audit-checkpoint.key") as log:
        log.verifier_key()  # the key exists before the two deliveries race to use it
    message = GenerationJob(
        request_id=str(new_record_id()), prompt="a lighthouse", n=2, width=256, height=256
    )
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_deliver, args=(str(home), str(tmp_path / "out"), message.to_message(), results))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0]

    def key(result: dict) -> list:  # type: ignore[type-arg]
        return [
            (i["record_id"], i["path"], i["sha256"], i["audit_index"], i["watermark"])
            for i in result["images"]
        ]

    assert key(got[0]) == key(got[1]) and len(got[0]["images"]) == 2  # the second returned the first's
    with AuditLog.open(pg_log_url, key_path=home / "keys" / "audit-checkpoint.key") as log:
        released = [e for e in log.entries() if e.kind == "image.released"]
    assert sorted(e.data["record_id"] for e in released) == sorted(i["record_id"] for i in got[0]["images"])
