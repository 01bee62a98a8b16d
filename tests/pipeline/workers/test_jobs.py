"""What a job does without Celery: its message, the worker's refusals, the verdict summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallmark.errors import InputError, PipelineError
from hallmark.pipeline.workers import GenerationJob, ProcessState, WorkerSettings, run_generation, summarize


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
