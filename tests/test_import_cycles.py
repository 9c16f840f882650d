"""No module of mrfrecon imports, directly or through others, a module that imports it back.

Every ``import`` counts, also those inside functions (a lazy import hides a cycle from Python but
not from a reader); imports under ``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import mrfrecon

ROOT = Path(mrfrecon.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.with_suffix("").relative_to(ROOT.parent).parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        stack += [child for child in ast.iter_child_nodes(node)
                  if not _is_type_checking_block(child)]
    return found


def import_graph() -> dict[str, set[str]]:
    """mrfrecon module -> the mrfrecon modules it imports (a name imported from a package
    counts as its submodule when there is one)."""
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in _imported(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in files}
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = {f"{target}.{a.name}" for a in node.names} & set(files)
            deps |= submodules or ({target} & set(files))
        graph[name] = deps - {name}
    return graph


def test_the_graph_sees_imports():
    graph = import_graph()
    assert "mrfrecon.sequence.model" in graph["mrfrecon.sequence.pulseq"]
    assert "mrfrecon.io.acquisition" in graph["mrfrecon.io.load"]
    assert "mrfrecon.io.nifti" in graph["mrfrecon.io.load"]  # a lazy import counts


def test_no_import_cycles():
    graph = import_graph()
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            cycle = " -> ".join([*stack[stack.index(name):], name])
            raise AssertionError(f"import cycle: {cycle}")
        if name in done:
            return
        for dep in sorted(graph[name]):
            visit(dep, [*stack, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
