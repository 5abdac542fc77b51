"""The import graph of the scowl package, read from the source files (nothing is imported).

Source roots: scowl/ is `scowl`, actors/ is `scowl.actors`, broker/ is `scowl.broker` (as
installed, see setup.cfg package_dir). Every `import` and `from ... import` statement counts,
at module level and inside functions; those under `if TYPE_CHECKING:` (they never run) only
with `type_only=True` (a cycle through annotations still ties two modules together).
`from scowl import wire` is an edge to the module scowl.wire when that is a module, else to
the package scowl. A package's __init__ is not implied by importing one of its modules (that
would put every module on a cycle through scowl/__init__.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = {"scowl": ROOT / "scowl", "scowl.actors": ROOT / "actors", "scowl.broker": ROOT / "broker"}


def module_files() -> dict[str, Path]:
    """Every module of the package -> its file."""
    out: dict[str, Path] = {}
    for prefix, root in SOURCE_ROOTS.items():
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([prefix, *parts])] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool, modules: set[str], type_only: bool = False) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import that can run."""
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in (child.body + child.orelse if type_only else child.orelse):
                    visit_stmt(sub, top)
                continue
            visit_stmt(child, top)

    def visit_stmt(child: ast.AST, top: bool) -> None:
        if isinstance(child, ast.Import):
            found.extend((alias.name, child.lineno, top) for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = module.split(".")
                base = base[: len(base) - child.level + (1 if is_package else 0)]
                target = ".".join(base + ([child.module] if child.module else []))
            else:
                target = child.module or ""
            for alias in child.names:  # `from pkg import mod` imports pkg.mod; `from pkg import name` runs pkg
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in modules else target, child.lineno, top))
        else:
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, inner)

    visit(tree, True)
    return found


def import_graph(local: bool = True, type_only: bool = False) -> dict[str, dict[str, tuple[int, bool]]]:
    """module -> {imported scowl module -> (line, at module level)}; `local=False` keeps only
    module-level imports; `type_only=True` adds the imports under `if TYPE_CHECKING:`."""
    files = module_files()
    graph: dict[str, dict[str, tuple[int, bool]]] = {}
    for module, path in files.items():
        edges: dict[str, tuple[int, bool]] = {}
        tree = ast.parse(path.read_text(), str(path))
        for name, line, top in _imports(tree, module, path.name == "__init__.py", set(files), type_only):
            if not top and not local:
                continue
            if name in files and name != module:
                prev = edges.get(name)
                if prev is None or (top and not prev[1]):
                    edges[name] = (line, top)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, dict[str, tuple[int, bool]]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


if __name__ == "__main__":
    g = import_graph(type_only=True)
    for comp in cycles(g):
        print("CYCLE:", " ".join(comp))
        for m in comp:
            for t, (line, top) in g[m].items():
                if t in comp:
                    print(f"   {m}:{line} -> {t}{'' if top else '  (in a function)'}")
