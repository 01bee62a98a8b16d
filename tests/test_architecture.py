"""The house rules of DESIGN.md, checked on the source: rooms talk through each other's faces,
the import graph has no circle, arrows point the right way, and no module grows past 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOMS = ("policies", "guardrails", "provenance", "audit", "pipeline")
# What each room may import of the others (DESIGN.md: arrows point down towards policies;
# provenance and audit do not know each other; pipeline knows all).
MAY_IMPORT = {
    "policies": set(),
    "guardrails": {"policies"},
    "provenance": {"policies"},
    "audit": {"policies"},
    "pipeline": {"policies", "guardrails", "provenance", "audit"},
}
MAX_LINES = 500


def modules() -> dict[str, Path]:
    """Every module of the hallmark package by its dotted name."""
    found: dict[str, Path] = {}
    roots = [(REPO / "src" / "hallmark", ("hallmark",))] + [(REPO / r, ("hallmark", r)) for r in ROOMS]
    for root, prefix in roots:
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if any(p in ("tests", "__pycache__") for p in parts):
                continue
            if root == REPO / "src" / "hallmark" and parts and parts[0] in ROOMS:
                continue
            name = ".".join(prefix + (parts[:-1] if parts[-1] == "__init__" else parts))
            found[name] = path
    return found


MODULES = modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(name: str, path: Path) -> set[str]:
    """The hallmark modules that ``name`` imports when it runs (at module level or inside a
    function), leaving out ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("hallmark"))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.startswith("hallmark"):
                    found.add(target)
                    found.update(f"{target}.{a.name}" for a in child.names if f"{target}.{a.name}" in MODULES)
            visit(child)

    visit(tree)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: runtime_imports(name, path) for name, path in MODULES.items()}


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else None


def test_the_graph_was_read() -> None:
    assert (
        "hallmark.pipeline._guarded" in GRAPH and "hallmark.policies" in GRAPH["hallmark.pipeline._guarded"]
    )


def test_the_import_graph_has_no_circle() -> None:
    """A circle hides an order dependency that breaks the day someone imports a module first;
    imports inside functions count, so a circle cannot hide behind a lazy import."""
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                circles.append(trail[trail.index(nxt) :] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                walk(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(GRAPH):
        if start not in state:
            walk(start, [start])
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_rooms_use_each_other_only_through_their_faces() -> None:
    private = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if room(target) not in (None, room(name)) and any(p.startswith("_") for p in target.split(".")[2:])
    ]
    assert not private, "\n".join(private)


def test_arrows_point_down_towards_policies() -> None:
    wrong = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if (src := room(name)) and (dst := room(target)) and dst != src and dst not in MAY_IMPORT[src]
    ]
    assert not wrong, "\n".join(wrong)


def test_within_a_room_imports_are_relative() -> None:
    absolute = []
    for name, path in MODULES.items():
        here = room(name)
        if here is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and room(node.module or "") == here:
                absolute.append(f"{name}: from {node.module} import ...")
            elif isinstance(node, ast.Import):
                absolute.extend(f"{name}: import {a.name}" for a in node.names if room(a.name) == here)
    assert not absolute, "\n".join(absolute)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_500_lines(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(REPO)} has {lines} lines"
