"""``hallmark policy show | lint | test``: inspect, check and measure policy packs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import EXIT_FAILED, JsonOption, PolicyOption, command, console, print_json

app = typer.Typer(
    help="Inspect, lint and test policy packs.\n\nExample: hallmark policy show --policy strict",
    no_args_is_help=True,
)


@app.command("show")
@command
def show(policy: PolicyOption = "default", json_output: JsonOption = False) -> None:
    """Show a resolved policy (after `extends`): categories, actions, detectors, PII, image.

    Example: hallmark policy show --policy strict
    """
    from hallmark.policies import load_policy

    p = load_policy(policy)
    if json_output:
        print_json(p.model_dump(mode="json") | {"digest": p.digest}, schema="policy")
        return
    from rich.table import Table

    out = console()
    out.print(f"[bold]{p.id}[/] v{p.version}  digest {p.digest[:16]}  {p.description}")
    table = Table("category", "enabled", "low", "medium", "high", "detectors", "allow phrases")
    for name, cat in p.prompt.categories.items():
        detectors = ", ".join(f"{d.type}:{d.id}({d.severity}, {_size(d)})" for d in cat.detectors)
        a = cat.actions
        table.add_row(name, str(cat.enabled), a.low, a.medium, a.high, detectors, str(len(cat.allow)))
    for edit_name, cat in p.edit.categories.items():  # applied to edits of an image only
        detectors = ", ".join(f"{d.type}:{d.id}({d.severity}, {_size(d)})" for d in cat.detectors)
        a = cat.actions
        enabled = str(cat.enabled and p.edit.enabled)
        table.add_row(
            f"{edit_name} (edits)", enabled, a.low, a.medium, a.high, detectors, str(len(cat.allow))
        )
    out.print(table)
    pii = p.prompt.pii
    entities = (
        ", ".join(f"{k}={v}" for k, v in pii.entities.items()) or f"all pattern entities={pii.default_action}"
    )
    out.print(
        f"pii: {'on' if pii.enabled else 'off'} ({entities}); NER not checked: {', '.join(pii.ner_entities)}"
    )
    out.print(
        f"safety negative prompt: {p.prompt.safety_negative_prompt!r}; max tokens {p.prompt.max_prompt_tokens}"
    )
    out.print(
        f"image: {'on' if p.image.enabled else 'off'} classifier={p.image.classifier} thresholds={p.image.thresholds}"
        + "".join(f" +{b.id}({b.type}: {', '.join(b.covers)})" for b in p.image.backends)
    )


def _size(detector: object) -> str:
    for attr, unit in (("terms", "terms"), ("patterns", "patterns"), ("concepts", "concepts")):
        value = getattr(detector, attr, None)
        if value is not None:
            return f"{len(value)} {unit}"
    return ""


@app.command("lint")
@command
def lint(
    policy: Annotated[str, typer.Argument(help="Bundled policy name or YAML file.")],
    json_output: JsonOption = False,
) -> None:
    """Report every problem of a policy file at once (exit 1 when there is any).

    Example: hallmark policy lint my-policy.yaml
    """
    from hallmark.policies import lint_policy

    problems = lint_policy(policy)
    if json_output:
        print_json({"policy": policy, "ok": not problems, "problems": problems}, schema="policy-lint")
    elif problems:
        for line in problems:
            typer.echo(line)
    else:
        typer.echo(f"{policy}: ok")
    if problems:
        raise typer.Exit(EXIT_FAILED)


@app.command("test")
@command
def test(
    file: Annotated[Path, typer.Argument(help="CSV with columns prompt,label[,category].")],
    policy: PolicyOption = "default",
    json_output: JsonOption = False,
) -> None:
    """Run labelled prompts through a policy: confusion matrix per category, false positives.

    Example: hallmark policy test prompts.csv --policy strict
    """
    from hallmark.guardrails import PromptFilter, evaluate_labelled, read_labelled_csv
    from hallmark.policies import load_policy

    rows = read_labelled_csv(file)
    result = evaluate_labelled(PromptFilter.from_policy(load_policy(policy)).evaluate, rows)
    if json_output:
        print_json(result.to_dict(), schema="policy-test")
        return
    from rich.table import Table

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    table = Table("category", "TP", "FP", "FN", "TN", "precision", "recall", "FP rate")
    for name, c in [*sorted(result.categories.items()), ("ALL", result.overall)]:
        table.add_row(
            name, str(c.tp), str(c.fp), str(c.fn), str(c.tn), pct(c.precision), pct(c.recall), pct(c.fp_rate)
        )
    out = console()
    out.print(table)
    for row, fired in result.false_positives:
        out.print(
            f"false positive [{row.category}] fired {','.join(fired)}: {row.prompt}",
            markup=False,
            highlight=False,
        )
    for row in result.false_negatives:
        out.print(f"missed [{row.category}]: {row.prompt}", markup=False, highlight=False)


@app.command("people")
@command
def people(
    update: Annotated[
        Path,
        typer.Option(
            "--update", help="Your list: a TSV with a header (name, aliases, kind, born, died, country)."
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Registry file to write (default: beside the list, .tsv.gz).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Compile your own list of people or artists into a registry file that a policy names.

    Name the file in a `people` detector beside the bundled registry:
    `data: [bundled, /path/my-people.tsv.gz]` (README, "Real people and artists").

    Example: hallmark policy people --update my-people.tsv --out my-people.tsv.gz
    """
    from hallmark.guardrails import compile_people_list

    target = out or update.with_name(update.name.split(".")[0] + ".tsv.gz")
    result = compile_people_list(update, target)
    data = {
        "source": str(result.source),
        "out": str(result.out),
        "people": result.people,
        "artists": result.artists,
        "keys": result.keys,
    }
    if json_output:
        print_json(data, schema="policy-people")
        return
    typer.echo(
        f"wrote {result.out}: {result.people} people, {result.artists} artists, {result.keys} match keys"
    )
