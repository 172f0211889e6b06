"""The package's layout rules, read from the source with `ast` (nothing is imported):
the runtime never imports the tools, and no sub-package imports one that imports it back."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "live"
TOOLS = "live.tools"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield module_name(path), path, ast.parse(path.read_text(), filename=str(path))


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The absolute names an import statement brings in (relative ones resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        here = module.split(".") if is_package else module.split(".")[:-1]
        anchor = here[: len(here) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    # `from live import tools` imports the sub-package live.tools
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def imports_of(tree: ast.Module, module: str, path: Path) -> Iterator[tuple[ast.AST, str]]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in imported(node, module, is_package):
                yield node, name


def functions_around(tree: ast.Module) -> dict[ast.AST, str]:
    """Each import statement nested in a function, mapped to the outermost function's name."""
    owner: dict[ast.AST, str] = {}
    for top in ast.walk(tree):
        if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(top):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    owner.setdefault(node, top.name)
    return owner


def is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_runtime_never_imports_the_tools() -> None:
    """Only the tools themselves, and `live bench` in the CLI (lazily, inside the command),
    may import live.tools: nothing the server runs loads the benchmarks or the dev Redis."""
    offences = []
    for module, path, tree in modules():
        if is_under(module, TOOLS):
            continue
        around = functions_around(tree)
        for node, name in imports_of(tree, module, path):
            if not is_under(name, TOOLS):
                continue
            if module == "live.cli" and around.get(node) == "cmd_bench":
                continue
            offences.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {name}")
    assert not offences, "\n".join(sorted(set(offences)))


def test_the_cli_imports_the_tools_only_inside_the_bench_command() -> None:
    tree = ast.parse((PACKAGE / "cli.py").read_text())
    around = functions_around(tree)
    tool_imports = [
        (node, around.get(node))
        for node, name in imports_of(tree, "live.cli", PACKAGE / "cli.py")
        if is_under(name, TOOLS)
    ]
    assert tool_imports, "`live bench` no longer runs the tools?"
    assert {owner for _, owner in tool_imports} == {"cmd_bench"}


def subpackage_of(module: str) -> str | None:
    """`live.X` when the module lives in the sub-package live/X/, else None."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "live":
        return None
    return f"live.{parts[1]}" if (PACKAGE / parts[1] / "__init__.py").exists() else None


def subpackage_graph() -> dict[str, set[str]]:
    """live.X → live.Y when a module of the sub-package live/X/ imports from live/Y/ (at any
    depth: in a function or under TYPE_CHECKING as well, since both are dependencies)."""
    graph: dict[str, set[str]] = {}
    for module, path, tree in modules():
        source = subpackage_of(module)
        if source is None:
            continue
        graph.setdefault(source, set())
        for _, name in imports_of(tree, module, path):
            target = subpackage_of(name)
            if target is not None and target != source:
                graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_finds_a_loop_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_subpackage_imports_one_that_imports_it_back() -> None:
    graph = subpackage_graph()
    assert {TOOLS, "live.web", "live.backends"} <= set(graph)  # the walk sees the sub-packages
    found = [sorted(c) for c in cycles(graph)]
    assert not found, f"import cycles between sub-packages: {found}"
