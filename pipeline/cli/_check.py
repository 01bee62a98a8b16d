"""``hallmark check PROMPT``: the prompt policy's decision as a table of findings (or JSON)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ._common import EXIT_FAILED, JsonOption, PolicyOption, command, console, fail, print_json

if TYPE_CHECKING:
    from hallmark.guardrails import PromptDecision


@command
def check(
    prompt: Annotated[str, typer.Argument(help="The prompt to check; '-' reads it from stdin.")],
    policy: PolicyOption = "default",
    negative: Annotated[str | None, typer.Option("--negative", "-n", help="Negative prompt.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Check a prompt against a policy. Exit 0 when allowed/rewritten/flagged, 1 when blocked.

    Example: hallmark check "a castle in the style of Greg Rutkowski" --policy strict
    """
    if prompt == "-":
        data = sys.stdin.buffer.read()
        prompt = data.decode("utf-8", errors="surrogateescape")
    from hallmark.guardrails import PromptFilter
    from hallmark.policies import load_policy

    if not isinstance(prompt, str):  # pragma: no cover - typer always passes text
        fail("the prompt must be text")
    decision = PromptFilter.from_policy(load_policy(policy)).evaluate(prompt, negative_prompt=negative)
    if json_output:
        print_json(decision.to_dict(redact=False), schema="check-decision")
    else:
        _render(decision)
    if decision.blocked:
        raise typer.Exit(EXIT_FAILED)


def _render(d: PromptDecision) -> None:
    from rich.table import Table

    out = console()
    colour = {"allow": "green", "rewrite": "cyan", "flag": "yellow", "block": "bold red"}.get(
        d.action.value, ""
    )
    out.print(f"decision: [{colour}]{d.action.value}[/]  policy: {d.policy_id} ({d.policy_digest[:12]})")
    if d.findings:
        table = Table("action", "category", "rule", "detector", "span", "why")
        for f in d.findings:
            span = f"{f.span[0]}-{f.span[1]}" if f.span else ""
            table.add_row(f.action.value, f.category, f.rule_id, f.detector, span, f.explanation)
        out.print(table)
    for s in d.detectors:
        if s.state.value != "checked":
            out.print(f"[dim]{s.detector}: {s.state.value} ({s.reason})[/]")
    if d.prompt_out and d.action.value != "block":
        out.print(f"prompt sent to the model: {d.prompt_out}", markup=False, highlight=False)
    if d.negative_prompt_out:
        out.print(f"negative prompt: {d.negative_prompt_out}", markup=False, highlight=False)
