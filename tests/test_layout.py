"""The shape of the package: no import circles, and the CLI only parses arguments and prints.

Imports are read from the source (every `import`, including those inside functions and under TYPE_CHECKING),
so a circle hidden behind a lazy import still counts: it still means two modules can't be understood apart.
"""

from __future__ import annotations

import ast
from pathlib import Path

import assay

SRC = Path(assay.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the assay modules it imports (`from assay.x import y` counts as assay.x.y when y is a module)."""
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in files)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in files:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    graph[name].add(sub if sub in files else node.module)
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back_through_others() -> None:
    assert _circles(_import_graph()) == []


def test_the_rubric_command_only_parses_and_prints() -> None:
    """Asking models, reading the store and building prompts belong to assay.rubric; the command calls them."""
    domain = ("assay.engine", "assay.judge", "assay.providers", "assay.store", "assay.evaluate", "assay.dataset")
    used = _import_graph()["assay.cli.rubric"]
    assert sorted(m for m in used if m.startswith(domain)) == []


def test_yaml_is_read_in_one_place() -> None:
    """Only assay.yamlfile parses YAML (so every file gets the same checks, such as refusing repeated keys)."""
    readers = sorted(_module_name(p) for p in SRC.rglob("*.py")
                     if any(call in p.read_text(encoding="utf-8") for call in ("yaml.safe_load(", "yaml.load(",
                                                                                 "yaml.full_load(", "yaml.unsafe_load(")))
    assert readers == ["assay.yamlfile"]


def test_no_print_calls() -> None:
    """Output goes through click (what a command prints) or logging (what an operator may need later)."""
    calls = sorted(f"{_module_name(p)}:{node.lineno}" for p in SRC.rglob("*.py")
                   for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                   if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print")
    assert calls == []
