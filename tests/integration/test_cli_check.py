"""`hallmark check` and `hallmark policy show|lint|test`, driven through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hallmark.pipeline.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input, env={"COLUMNS": "200"})


def test_allowed_prompt_exits_0_with_a_table() -> None:
    result = _run("check", "a lighthouse at dawn")
    assert result.exit_code == 0, result.output
    assert "decision: allow" in result.output


def test_blocked_prompt_exits_1_and_explains() -> None:
    result = _run("check", "a n\u200bud3 woman", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["action"] == "block"
    assert data["findings"][0]["rule_id"] == "sexual.nudity"
    assert data["findings"][0]["span"] == [2, 7]  # n, zero-width space, u, d, 3


def test_rewrite_shows_the_prompt_sent_to_the_model() -> None:
    result = _run("check", "a castle in the style of Greg Rutkowski", "--negative", "blurry", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["action"] == "rewrite" and data["prompt_out"] == "a castle"
    assert data["negative_prompt_out"].endswith(", blurry")


def test_pii_is_redacted_in_json() -> None:
    data = json.loads(_run("check", "mail bob@example.org a cat", "--json").stdout)
    assert data["redacted_prompt"] == "mail <EMAIL_ADDRESS> a cat"
    assert all(f["matched"] is None for f in data["findings"] if f["detector"] == "pii")


def test_prompt_from_stdin_and_huge_input() -> None:
    result = _run("check", "-", "--json", input="x" * 1_000_000)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["findings"][0]["rule_id"] == "length.max_chars"


def test_unknown_policy_is_a_usage_error() -> None:
    result = _run("check", "a cat", "--policy", "nope")
    assert result.exit_code == 2
    assert "unknown policy 'nope'" in result.stderr


def test_policy_show_and_json() -> None:
    result = _run("policy", "show", "--policy", "strict")
    assert result.exit_code == 0 and "sexual_minors" in result.output
    data = json.loads(_run("policy", "show", "--json").stdout)
    assert data["id"] == "default" and len(data["digest"]) == 64


def test_policy_lint_reports_every_problem(tmp_path: Path) -> None:
    assert _run("policy", "lint", "default").exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: b\nextends: default\nprompt:\n  categories:\n    astrology: {}\n  max_prompt_tokens: x\n"
    )
    result = _run("policy", "lint", str(bad), "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert len(problems) == 2 and all(str(bad) in p for p in problems)


def test_policy_test_prints_confusion_and_false_positives(tmp_path: Path) -> None:
    f = tmp_path / "set.csv"
    f.write_text(
        "prompt,label,category\na naked man,unsafe,sexual\nnude lipstick,safe,sexual\nnude heels and a nude model,safe,sexual\n"
    )
    result = _run("policy", "test", str(f))
    assert result.exit_code == 0
    assert "false positive [sexual]" in result.output and "nude heels" in result.output
    data = json.loads(_run("policy", "test", str(f), "--json").stdout)
    assert data["categories"]["sexual"]["tp"] == 1 and data["categories"]["sexual"]["fp"] == 1


def test_bad_csv_is_a_usage_error(tmp_path: Path) -> None:
    f = tmp_path / "set.csv"
    f.write_text("prompt\nno label\n")
    result = _run("policy", "test", str(f))
    assert result.exit_code == 2 and "header must name" in result.stderr


def test_check_cold_start_imports_no_heavy_library() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from hallmark.pipeline.cli import app\n"
        "r = CliRunner().invoke(app, ['check', 'a cat'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers', 'presidio_analyzer', 'onnxruntime') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("prompt", ["", "\x00\x01\x02 garbage \udcff"])
def test_odd_prompts_get_a_decision(prompt: str) -> None:
    result = _run("check", prompt, "--json")
    assert result.exit_code in (0, 1)
    json.loads(result.stdout)


def test_a_missing_people_registry_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "gone.tsv.gz"
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "id: test\nextends: default\nprompt:\n  categories:\n    public_figures:\n      detectors:\n"
        f"        - {{type: people, id: people, data: ['{missing}']}}\n",
        encoding="utf-8",
    )
    result = _run("check", "a lighthouse at dawn", "--policy", str(policy))
    assert result.exit_code == 2
    assert str(missing) in " ".join(result.output.split())


def test_policy_people_update_compiles_a_list_a_policy_can_name(tmp_path: Path) -> None:
    own = tmp_path / "mine.tsv"
    own.write_text("name\taliases\tkind\tborn\nAmelia Quartermaine\tA. Quartermaine|阿米莉亚\tperson\t1980\n")
    result = _run("policy", "people", "--update", str(own))
    assert result.exit_code == 0, result.output
    registry = tmp_path / "mine.tsv.gz"
    assert "1 people" in result.output and registry.is_file()
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "id: mine\nextends: default\nprompt:\n  categories:\n    public_figures:\n      detectors:\n"
        f"        - {{type: people, id: people, data: [bundled, '{registry}'], harm: [prison]}}\n"
    )
    checked = _run("check", "amelia quartermaine in prison", "--policy", str(policy), "--json")
    assert checked.exit_code == 1, checked.output
    assert "Amelia Quartermaine" in checked.stdout


def test_policy_people_update_refuses_a_bad_row(tmp_path: Path) -> None:
    own = tmp_path / "bad.tsv"
    own.write_text("name\tborn\nSomeone Else\tlast year\n")
    result = _run("policy", "people", "--update", str(own))
    assert result.exit_code == 2
    assert "bad.tsv:2" in " ".join(result.output.split())
