"""The import graph of app/ reads top-down: no module imports, directly or through others, a module
that imports it back (the layers and forbidden imports themselves are import-linter contracts in
pyproject.toml, run by .ci/run)."""
from __future__ import annotations

import ast
from pathlib import Path

import grimp


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other round a circle (Tarjan's strongly connected
    components of more than one module, or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1 or module in edges.get(module, ()):
                found.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_no_import_circle_in_app() -> None:
    graph = grimp.build_graph("app", exclude_type_checking_imports=True)
    edges = {module: {imported for imported in graph.find_modules_directly_imported_by(module)
                      if imported.startswith("app.")}
             for module in graph.modules if module.startswith("app.")}
    assert circles(edges) == []


def test_the_check_sees_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_migration_imports_live_application_code() -> None:
    """A migration must do tomorrow what it did the day it was written, whatever the code becomes."""
    importing = []
    for path in sorted(Path(__file__).parents[1].glob("migrations/versions/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            importing += [f"{path.name}: {name}" for name in names if name == "app" or name.startswith("app.")]
    assert importing == []
