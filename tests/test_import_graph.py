"""sharebot's modules import one another without cycles.

The graph is read from the source with `ast`, not from a running interpreter, so an import that only runs
inside a function counts as much as one at the top of a module: a lazy import hides a cycle from the
import system, not from the design. Every module under src/sharebot is read; an edge is any import of a
sharebot module (`import sharebot.x`, `from sharebot import x`, `from sharebot.x import name`, relative
imports) anywhere in the module, at any depth. `from package import name` points at the submodule when
`name` is one, else at the package itself.

Imports under `if TYPE_CHECKING:` count too: two modules that need each other's types still each depend on
the other (queue.py named `Store` only for type checking while store.py imported queue.py: a cycle).

Not counted, on purpose:
- the package `__init__` that Python runs before a submodule (`import sharebot.sources.fetch` loads
  `sharebot/sources/__init__.py` first): counting it would make every package that re-exports its own
  submodules a cycle; the edge is to the module named;
- modules loaded by a computed name (`importlib.import_module(name)`), which no reading of the source can
  resolve.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "sharebot"

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first such import}


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package rooted at `package_dir`."""
    top = package_dir.name
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [top, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in the tree, at any depth."""
    return [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    def existing(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    if isinstance(node, ast.Import):
        return {t for alias in node.names if (t := existing(alias.name))}
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    targets = set()
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        target = submodule if submodule in known else existing(base)
        if target:
            targets.add(target)
    return targets


def import_graph(package_dir: Path) -> Graph:
    modules = module_names(package_dir)
    known = set(modules)
    graph: Graph = {name: {} for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            for target in _targets(node, name, path.name == "__init__.py", known):
                if target != name:
                    graph[name].setdefault(target, node.lineno)
    return graph


def _strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm, iteratively; only the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                    components.append(sorted(component))
    return components


def _shortest_cycle(graph: Graph, members: set[str], start: str) -> list[str]:
    """A shortest cycle from `start` back to it through `members` only."""
    came_from: dict[str, str] = {}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        for child in sorted(graph[node]):
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if child not in came_from:
                came_from[child] = node
                todo.append(child)
    raise AssertionError(f"{start} is on no cycle in {sorted(members)}")  # pragma: no cover - see cycles()


def cycles(graph: Graph) -> list[str]:
    """One line per import cycle, each module with the line that imports the next: a shortest cycle through
    each module that is on one, unless an earlier line already shows it."""
    described = []
    for component in _strongly_connected(graph):
        members, shown = set(component), set()
        for start in component:  # every module of a strongly connected group is on a cycle within it
            if start in shown:
                continue
            path = _shortest_cycle(graph, members, start)
            shown.update(path)
            steps = [f"{a} (line {graph[a][b]})" for a, b in zip(path, path[1:], strict=False)]
            described.append(" -> ".join([*steps, path[-1]]))
    return described


def test_sharebot_has_no_import_cycles():
    graph = import_graph(SRC)
    assert len(graph) > 10 and any(graph.values()), f"read no sharebot modules under {SRC}"
    found = cycles(graph)
    assert not found, "import cycles in sharebot:\n" + "\n".join(found)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_the_graph_sees_lazy_relative_type_checking_and_from_package_imports(tmp_path):
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "def f():\n    from pkg import b\n",
        "pkg/b.py": "from .sub import helper\n",
        "pkg/sub/__init__.py": "def helper():\n    import pkg.a.x\n",
        "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
        "pkg/d.py": "import os, pkg\nfrom pkg.sub import helper\nfrom .. import elsewhere\n",
    })
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b": 2}
    assert graph["pkg.b"] == {"pkg.sub": 1}
    assert graph["pkg.sub"] == {"pkg.a": 2}  # pkg.a.x does not exist: the module that does is imported
    assert graph["pkg.c"] == {"pkg.a": 3}
    assert graph["pkg.d"] == {"pkg": 1, "pkg.sub": 2}
    [cycle] = cycles(graph)
    assert cycle == "pkg.a (line 2) -> pkg.b (line 1) -> pkg.sub (line 2) -> pkg.a"


def test_a_package_importing_its_own_submodules_is_no_cycle_unless_they_import_it_back(tmp_path):
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "from pkg.parts import common\n",
        "pkg/parts/__init__.py": "def load():\n    from pkg.parts import feed\n",
        "pkg/parts/common.py": "",
        "pkg/parts/feed.py": "from pkg.parts.common import x\n",
    })
    assert cycles(import_graph(pkg)) == []
    (pkg / "parts" / "feed.py").write_text("from pkg.parts import x\n", encoding="utf-8")
    assert cycles(import_graph(pkg)) == ["pkg.parts (line 2) -> pkg.parts.feed (line 1) -> pkg.parts"]
