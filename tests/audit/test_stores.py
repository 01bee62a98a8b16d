"""The store registry (``audit/_stores.py``) and the layering of the audit modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hallmark.audit import STORES, AuditLog, open_store
from hallmark.audit._sqlite import SqliteStore
from hallmark.audit._stores import redact_url
from hallmark.errors import AuditError

AUDIT = Path(__file__).resolve().parents[2] / "audit"


def test_stores_are_registered_by_scheme(tmp_path: Path) -> None:
    assert STORES.names() == ["postgres", "postgresql", "sqlite"]
    store = open_store(f"SQLite+pysqlite:///{tmp_path / 'a.db'}")  # a driver suffix names the same store
    try:
        assert isinstance(store, SqliteStore)
    finally:
        store.close()
    with pytest.raises(AuditError, match="unknown audit store scheme 'mysql'") as caught:
        open_store("mysql://x/y")
    assert caught.value.hint.startswith("Use sqlite:///")


def test_urls_in_messages_hide_the_password(tmp_path: Path) -> None:
    assert redact_url("postgresql://app:s3cret@db/audit") == "postgresql://app:***@db/audit"
    assert redact_url("postgresql://app@db/audit") == "postgresql://app@db/audit"
    with AuditLog.open(f"sqlite:///{tmp_path / 'a.db'}") as log:
        assert log.url == f"sqlite:///{tmp_path / 'a.db'}"


def _imports(path: Path) -> set[str]:
    """The audit modules ``path`` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module] if node.module else [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hallmark.audit."):
            found.add(node.module.removeprefix("hallmark.audit."))  # type: ignore[union-attr]
    return found


def test_no_import_cycle_between_audit_modules() -> None:
    graph = {p.stem: _imports(p) for p in AUDIT.glob("_*.py")}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert "_stores" not in graph["_store"] | graph["_sql"] | graph["_sqlite"] | graph["_postgres"]
