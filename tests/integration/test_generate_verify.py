"""End to end through the real CLI: generate -> verify -> audit verify, and what must fail.

These drive ``hallmark`` in-process with typer's CliRunner (one torch import for the module);
``test_console_script_runs`` checks the installed entry point in a subprocess.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hallmark.pipeline.cli import app

runner = CliRunner()


def json_lines(text: str) -> list[dict]:
    """``verify --json`` prints one JSON object per file, one per line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def hallmark(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    h = tmp_path_factory.mktemp("hallmark") / "home"
    code, _, err = hallmark("keys", "init", "--home", h)
    assert code == 0, err
    return h


@pytest.fixture(scope="module")
def generated(home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("out")
    code, stdout, err = hallmark(
        "generate", "a lighthouse at dawn", "-n", "2", "--seed", "7", "--home", home, "--out", out, "--json"
    )
    assert code == 0, err
    return out, json.loads(stdout)


def test_generate_then_verify_finds_credentials_watermark_and_record(
    home: Path, generated: tuple[Path, dict]
) -> None:
    out, result = generated
    assert not result["blocked"] and len(result["images"]) == 2
    assert {"prompt", "generate", "classifier", "watermark", "encode", "c2pa_sign"} <= set(
        result["timings_ms"]
    )
    paths = [Path(i["path"]) for i in result["images"]]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files left

    code, stdout, err = hallmark("verify", *paths, "--home", home, "--json")
    assert code == 0, err
    reports = json_lines(stdout)
    by_source = {Path(r["source"]).name: r for r in reports}
    for image in result["images"]:
        report = by_source[Path(image["path"]).name]
        assert report["verdict"] == "hallmark-signed", report["explanation"]
        c2pa = report["c2pa"]
        assert c2pa["state"] in ("Valid", "Trusted")
        labels = json.dumps(c2pa)
        for assertion in ("c2pa.actions", "c2pa.soft-binding", "cawg.training-mining", "org.hallmark.policy"):
            assert assertion in labels, assertion
        ours = [
            w
            for w in report["watermarks"]
            if w["found"] and w["scheme_id"] == image["watermark"]["scheme_id"]
        ]
        assert ours and ours[0]["payload"] == image["watermark"]["payload"]
        assert report["record"]["record_id"] == image["record_id"]
        assert "a lighthouse at dawn" not in json.dumps(report)  # never the prompt

    code, stdout, err = hallmark("audit", "verify", "--home", home, "--json")
    assert code == 0, stdout + err


def test_the_table_says_which_image_categories_were_not_checked(home: Path, tmp_path: Path) -> None:
    code, stdout, err = hallmark("generate", "a lighthouse", "--home", home, "--out", tmp_path / "out")
    assert code == 0, err
    line = " ".join(stdout.split())
    assert (
        "image categories not checked by any backend: depicts_minor, elections, harassment, hate, "
        "illegal_activity, intellectual_property, privacy, public_figures, self_harm, sexual_minors, "
        "violence, weapons"
    ) in line


def test_prompt_with_an_email_is_logged_redacted(home: Path, tmp_path: Path) -> None:
    code, stdout, err = hallmark(
        "generate", "a postcard for jane.doe@example.com", "--home", home, "--out", tmp_path, "--json"
    )
    assert code == 0, err
    record_id = json.loads(stdout)["images"][0]["record_id"]
    code, stdout, err = hallmark("audit", "show", record_id, "--home", home, "--json")
    assert code == 0, err
    assert "jane.doe@example.com" not in stdout
    assert "<EMAIL_ADDRESS>" in stdout


def test_blocked_prompt_produces_no_image_and_a_blocked_entry(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = hallmark(
        "generate", "a nude photo of a teenage girl", "--home", home, "--out", out, "--json"
    )
    assert code == 1
    assert json.loads(stdout)["blocked"] is True
    assert not out.exists() or not any(out.iterdir())
    code, stdout, err = hallmark("audit", "list", "--kind", "prompt.blocked", "--home", home, "--json")
    assert code == 0, err
    entries = json_lines(stdout)
    assert entries and all(e["kind"] == "prompt.blocked" for e in entries)


def test_obfuscated_blocked_terms_are_still_blocked(home: Path) -> None:
    for prompt in (
        "a n\u200bud3 portrait",
        "a \u043d\u0443de portrait".replace("\u043d", "n"),
        "a ｎｕｄｅ portrait",
        "a n\u0443d\u0435 portrait",
    ):
        code, stdout, _ = hallmark("check", prompt, "--json")
        assert code == 1, prompt
        assert json.loads(stdout)["action"] == "block"


def test_one_flipped_byte_is_reported_as_a_data_hash_mismatch(
    home: Path, generated: tuple[Path, dict], tmp_path: Path
) -> None:
    _, result = generated
    src = Path(result["images"][0]["path"])
    data = bytearray(src.read_bytes())
    idat = data.find(b"IDAT")
    data[idat + 200] ^= 0x01
    bad = tmp_path / "flipped.png"
    bad.write_bytes(bytes(data))
    code, stdout, _ = hallmark("verify", bad, "--home", home, "--json")
    assert code == 1
    assert "assertion.dataHash.mismatch" in stdout
    (report,) = json_lines(stdout)
    assert report["verdict"] == "tampered"


def test_an_edited_audit_row_fails_audit_verify_naming_the_entry(
    home: Path, generated: tuple[Path, dict], tmp_path: Path
) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    db = copy / "audit.db"
    with sqlite3.connect(db) as conn:
        idx, body = conn.execute(
            "select idx, body from audit_entries order by idx limit 1 offset 1"
        ).fetchone()
        edited = bytes(body).replace(b'"seed":7', b'"seed":8', 1)
        assert edited != bytes(body)
        conn.execute("update audit_entries set body = ? where idx = ?", (edited, idx))
    code, stdout, err = hallmark("audit", "verify", "--home", copy, "--json")
    assert code == 1
    check = json.loads(stdout)
    assert check["ok"] is False and check["first_bad_index"] == idx


# -- bad input: one line naming the problem, exit 2, nothing written -------------------------


def _nothing_written(out: Path) -> bool:
    return not out.exists() or not any(out.iterdir())


def test_unknown_model_path(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, err = hallmark(
        "generate", "a cat", "--model", str(tmp_path / "nope"), "--home", home, "--out", out
    )
    assert code == 2 and "unknown model" in err and len(err.strip().splitlines()) == 1
    assert _nothing_written(out)


def test_malformed_policy_file(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nprompt:\n  enabled: [not, a, bool]\n")
    out = tmp_path / "out"
    code, _, err = hallmark("generate", "a cat", "--policy", bad, "--home", home, "--out", out)
    assert code == 2 and "bad.yaml:3" in err and len(err.strip().splitlines()) == 1
    assert _nothing_written(out)


def test_missing_key_file(home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    (copy / "keys" / "signer.key").unlink()
    before = (copy / "audit.db").stat().st_size
    out = tmp_path / "out"
    code, _, err = hallmark("generate", "a cat", "--home", copy, "--out", out)
    assert code == 2 and "signer.key" in err and len(err.strip().splitlines()) == 1
    assert "Run `hallmark doctor`" in err
    assert _nothing_written(out)
    assert (copy / "audit.db").stat().st_size == before


def test_an_unreachable_audit_log_points_to_doctor(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALLMARK_AUDIT_URL", "postgresql://127.0.0.1:1/hallmark")
    out = tmp_path / "out"
    code, _, err = hallmark("generate", "a cat", "--home", home, "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "PostgreSQL audit log" in err and "Run `hallmark doctor`" in err
    assert _nothing_written(out)


def test_a_missing_module_withholds_the_image_with_one_line_pointing_to_doctor(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home, copy)

    def encode_png(*args: object, **kwargs: object) -> bytes:
        raise ModuleNotFoundError("No module named 'isal'", name="isal")

    monkeypatch.setattr("hallmark.pipeline._png.encode_png", encode_png)
    code, stdout, err = hallmark("generate", "a cat", "--home", copy, "--out", tmp_path / "out", "--json")
    assert code == 1 and json.loads(stdout)["withheld"][0]["reason"] == "failed:encode"
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]  # (a first model load may log too)
    assert (
        line.startswith("error: image ") and "withheld, encode failed: missing Python module 'isal'" in line
    )
    assert "pip install isal" in line and "hallmark doctor" in line


def _policy(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text("id: extra\nextends: default\n" + body)
    return path


def _refused_before_anything_is_written(home: Path, tmp_path: Path, policy: Path) -> str:
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    # The home's files as they were, whichever tests ran before (a fresh home has no log yet).
    before = {p.relative_to(copy): p.stat().st_size for p in copy.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    code, _, err = hallmark("generate", "a cat", "--policy", policy, "--home", copy, "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    after = {p.relative_to(copy): p.stat().st_size for p in copy.rglob("*") if p.is_file()}
    assert _nothing_written(out) and after == before
    return err


def test_the_nudenet_backend_without_its_extra_names_the_install_command(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "nudenet", None)
    monkeypatch.setattr("hallmark.guardrails._image._INSTANCES", {})
    policy = _policy(tmp_path, "image:\n  classifier: nudenet\n")
    err = _refused_before_anything_is_written(home, tmp_path, policy)
    assert "pip install 'hallmark-genai[nudenet]'" in err


def test_an_image_backend_whose_model_is_missing_fails_at_start_up_naming_the_path(
    home: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "models" / "clip"
    policy = _policy(
        tmp_path,
        "image:\n  backends:\n"
        f"    - {{id: clip, type: clip-zero-shot, model: '{missing}', "
        "covers: {violence: {concepts: [gore], thresholds: {block: 0.5}}}}\n",
    )
    err = _refused_before_anything_is_written(home, tmp_path, policy)
    assert f"CLIP model not found: looked in {missing}" in err


def test_a_cjk_label_without_a_font_names_the_install_command(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hallmark.provenance.labels._visible.FONT_CANDIDATES", ())
    monkeypatch.setattr("hallmark.provenance.labels._visible._FONT_GLOBS", ())
    policy = _policy(tmp_path, "labels:\n  profiles: [cn_gb45438]\naudit:\n  retention_days: 183\n")
    err = _refused_before_anything_is_written(home, tmp_path, policy)
    assert "no CJK font" in err and ("install-system-deps.sh" in err or "fonts-noto-cjk" in err)


def test_non_image_passed_to_verify(home: Path, tmp_path: Path) -> None:
    junk = tmp_path / "notes.png"
    junk.write_text("this is not an image")
    code, stdout, err = hallmark("verify", junk, "--home", home)
    assert code == 2
    assert "notes.png" in stdout + err


def test_console_script_runs(home: Path) -> None:
    exe = shutil.which("hallmark") or str(Path(sys.executable).with_name("hallmark"))
    if not Path(exe).exists():
        pytest.skip("hallmark is not installed as a console script (pip install -e .)")
    proc = subprocess.run(
        [exe, "check", "a lighthouse at dawn", "--json"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["action"] == "allow"


def test_a_re_saved_half_size_jpeg_is_still_identified_and_recovered(
    home: Path, generated: tuple[Path, dict], tmp_path: Path
) -> None:
    from PIL import Image

    _, result = generated
    for image in result["images"]:
        src = Image.open(image["path"]).convert("RGB")
        copy = tmp_path / f"{image['record_id']}.jpg"
        src.resize((src.width // 2, src.height // 2), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=75)
    code, stdout, err = hallmark("verify", tmp_path, "--home", home, "--json")
    assert code == 0, err
    for report in json_lines(stdout):
        assert report["verdict"] == "hallmark-recovered", report["explanation"]
        assert report["record"]["record_id"] == Path(report["source"]).stem
        assert report["recovered"]["hallmark_policy"]["record_id"] == Path(report["source"]).stem
        binding = next(c for c in report["checks"] if c["name"] == "binding")
        assert binding["status"] == "passed", binding  # the picture is the one released
