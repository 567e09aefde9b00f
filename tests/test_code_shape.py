"""The engine's shape stays one a newcomer can hold in their head (GUIDE.md, "Standards"): in
``s2i_core/`` no module over 500 lines, no function over 60 lines, and no import circle, imports
inside functions included (only ``if TYPE_CHECKING:`` imports, which never run, are left out).

``python -m tests.test_code_shape [CHECKOUT]`` prints every module over the limits, every
function over them and every circle, of this tree or of another checkout (an older commit's
``git worktree``: docs/code-shape.md compares the engine before issue 19 and now).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "s2i_core"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the engine by its dotted name (a package by its own name)."""
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def module_lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def long_modules(limit: int = MAX_MODULE_LINES, root: Path = ROOT) -> list[tuple[str, int]]:
    sizes = ((name, module_lines(path)) for name, path in modules(root).items())
    return sorted((item for item in sizes if item[1] > limit), key=lambda item: -item[1])


def functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    """(qualified name, lines from ``def`` to its last line) of every function, nested ones too."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{node.name}"
            yield name, node.end_lineno - node.lineno + 1
            yield from functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, f"{prefix}{node.name}.")
        else:
            yield from functions(node, prefix)


def long_functions(limit: int = MAX_FUNCTION_LINES, root: Path = ROOT) -> list[tuple[str, int]]:
    found = []
    for module, path in modules(root).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [(f"{module}:{name}", n) for name, n in functions(tree) if n > limit]
    return sorted(found, key=lambda item: -item[1])


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The engine's modules that ``module`` imports anywhere in its file, ``if TYPE_CHECKING:``
    blocks aside. ``from .a import b`` names ``a.b`` when that is a module, else ``a``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found |= {_nearest(alias.name, known) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for alias in node.names:
                target = f"{base}.{alias.name}" if base else alias.name
                found.add(target if target in known else _nearest(base, known))
    return {name for name in found if name and name != module}


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _nearest(name: str, known: set[str]) -> str:
    """The engine module ``name`` is, or is inside; "" for anything outside the engine."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    found = modules(root)
    known = set(found)
    return {name: imports(name, path, known) for name, path in found.items()}


def import_circles(root: Path = ROOT) -> list[list[str]]:
    """Every group of modules that import each other, round and round (Tarjan's algorithm)."""
    graph = import_graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_no_engine_module_is_over_500_lines():
    assert long_modules() == [], "split these modules along their parts"


def test_no_engine_function_is_over_60_lines():
    assert long_functions() == [], "cut these functions into named steps"


def test_no_engine_modules_import_each_other():
    assert import_circles() == [], "these modules import each other (imports in functions count)"


def test_the_checker_sees_an_import_inside_a_function(tmp_path):
    """A circle made only by an import inside a function is still a circle."""
    (tmp_path / "a.py").write_text("def f():\n    from . import b\n")
    (tmp_path / "b.py").write_text("from .a import f\n")
    known = {"pkg.a", "pkg.b"}
    assert imports("pkg.a", tmp_path / "a.py", known) == {"pkg.b"}
    assert imports("pkg.b", tmp_path / "b.py", known) == {"pkg.a"}


def report(root: Path = ROOT) -> str:
    """The engine's shape in numbers, as docs/code-shape.md shows it."""
    sizes = [module_lines(path) for path in modules(root).values()]
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in modules(root).values()]
    lengths = [n for tree in trees for _name, n in functions(tree)]
    lines = [
        f"modules: {len(sizes)}, {sum(sizes)} lines, largest {max(sizes)}",
        f"functions: {len(lengths)}, largest {max(lengths)} lines",
        f"Modules over {MAX_MODULE_LINES} lines:",
        *(f"  {n:5}  {name}" for name, n in long_modules(root=root)),
        f"Functions over {MAX_FUNCTION_LINES} lines:",
        *(f"  {n:5}  {name}" for name, n in long_functions(root=root)),
        "Import circles:",
        *("  " + " <-> ".join(circle) for circle in import_circles(root)),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT))
