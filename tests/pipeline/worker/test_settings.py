"""Worker settings: the environment's broker and result store, the audit log a worker accepts,
the folder a job may write to, and the one-line refusal without the worker extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hallmark.errors import InputError
from hallmark.pipeline.worker import (
    DEFAULT_BROKER_URL,
    DEFAULT_RESULT_URL,
    WorkerSettings,
    check_audit_url,
    check_worker_keys,
    output_folder,
)


def test_settings_come_from_the_environment_with_documented_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HALLMARK_BROKER_URL",
        "HALLMARK_RESULT_URL",
        "HALLMARK_QUEUE_PREFIX",
        "HALLMARK_WORKER_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    s = WorkerSettings.from_env()
    assert (s.broker_url, s.result_url) == (DEFAULT_BROKER_URL, DEFAULT_RESULT_URL)
    assert DEFAULT_BROKER_URL == "amqp://guest:guest@127.0.0.1:5672//"
    assert DEFAULT_RESULT_URL == "redis://127.0.0.1:6379/0"
    assert s.queue("generate") == "hallmark.generate"
    monkeypatch.setenv("HALLMARK_BROKER_URL", "redis://127.0.0.1:6379/1")
    monkeypatch.setenv("HALLMARK_QUEUE_PREFIX", "staging.")
    s = WorkerSettings.from_env(model="sd-turbo")
    assert s.broker_url == "redis://127.0.0.1:6379/1" and s.model == "sd-turbo"
    assert s.queue("verify") == "staging.verify"
    for name, value in s.to_env().items():  # what the pool processes read back
        monkeypatch.setenv(name, value)
    back = WorkerSettings.from_env()
    assert (back.broker_url, back.model, back.queue_prefix) == (s.broker_url, "sd-turbo", "staging.")
    assert back.out_root == s.out_root.resolve()


def test_a_sqlite_audit_log_is_refused_unless_on_one_machine() -> None:
    with pytest.raises(InputError, match="needs a shared PostgreSQL audit log, not SQLite") as e:
        check_audit_url("sqlite:////tmp/audit.db")
    assert "--allow-sqlite" in e.value.hint
    check_audit_url("sqlite:////tmp/audit.db", allow_sqlite=True)
    check_audit_url("postgresql://db.example/hallmark")
    with pytest.raises(InputError, match="unknown audit log URL scheme in 'mysql'"):
        check_audit_url("mysql://db.example/hallmark")


def test_a_worker_needs_the_shared_checkpoint_key(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "audit-checkpoint.key"
    with pytest.raises(InputError, match="no audit checkpoint key at .*same key") as e:
        check_worker_keys(key)
    assert "hallmark audit checkpoint" in e.value.hint
    key.parent.mkdir()
    key.write_bytes(b"k")
    check_worker_keys(key)


def test_a_job_writes_only_under_the_workers_output_root(tmp_path: Path) -> None:
    assert output_folder(tmp_path, None) == tmp_path.resolve()
    assert output_folder(tmp_path, "batch/7") == (tmp_path / "batch" / "7").resolve()
    assert output_folder(tmp_path, str(tmp_path / "a")) == (tmp_path / "a").resolve()
    for escape in ("..", "../elsewhere", "/etc", "a/../../b"):
        with pytest.raises(InputError, match="outside the worker's output root"):
            output_folder(tmp_path, escape)


BLOCK_CELERY = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "celery" or name.startswith("celery."):
            raise ModuleNotFoundError("No module named 'celery'", name="celery")
        return None
sys.meta_path.insert(0, Block())
import importlib.util
importlib.util.find_spec = (lambda real: lambda name, *a: None if name == "celery" else real(name, *a))(importlib.util.find_spec)
from hallmark.pipeline.cli import main
sys.argv = ["hallmark", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize(
    "args",
    [["worker", "--allow-sqlite"], ["generate", "--remote", "a lighthouse"], ["jobs", "show", "x"]],
)
def test_without_the_workers_extra_the_commands_say_what_to_install(tmp_path: Path, args: list[str]) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            BLOCK_CELERY,
            *args,
            *(["--home", str(tmp_path)] if args[0] == "worker" else []),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'hallmark-genai[worker]'" in lines[0], run.stderr


def test_the_delivery_limit_and_network_use_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HALLMARK_MAX_DELIVERIES", "HALLMARK_ALLOW_NETWORK", "HALLMARK_FETCH_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    s = WorkerSettings.from_env()
    assert (s.max_deliveries, s.allow_network, s.fetch_timeout) == (5, False, 30.0)
    monkeypatch.setenv("HALLMARK_MAX_DELIVERIES", "5")
    monkeypatch.setenv("HALLMARK_ALLOW_NETWORK", "1")
    monkeypatch.setenv("HALLMARK_FETCH_MAX_BYTES", "1000")
    s = WorkerSettings.from_env()
    assert (s.max_deliveries, s.allow_network, s.fetch_max_bytes) == (5, True, 1000)
    for name, value in WorkerSettings(max_deliveries=2).to_env().items():
        monkeypatch.setenv(name, value)
    back = WorkerSettings.from_env()
    assert (back.max_deliveries, back.allow_network, back.fetch_max_bytes) == (2, False, 64 * 1024 * 1024)
    with pytest.raises(InputError, match="the delivery limit must be at least 1, not 0"):
        WorkerSettings.from_env(max_deliveries=0)


def test_deliveries_are_counted_per_job_in_the_result_store() -> None:
    import socket
    import uuid

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    from hallmark.pipeline.worker import make_app
    from hallmark.pipeline.worker._deliveries import count_delivery, deliveries

    app = make_app(WorkerSettings())
    job, other = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        assert deliveries(app.backend, job) is None
        assert [count_delivery(app.backend, job, expires=60) for _ in range(3)] == [1, 2, 3]
        assert count_delivery(app.backend, other, expires=60) == 1
        assert deliveries(app.backend, job) == 3
        assert 0 < app.backend.client.ttl(f"hallmark-deliveries-{job}") <= 60  # forgotten in time
    finally:
        app.backend.client.delete(f"hallmark-deliveries-{job}", f"hallmark-deliveries-{other}")
        app.close()
