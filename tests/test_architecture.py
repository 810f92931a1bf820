"""The layers of ``src/rumbo``, read from its import graph (docs/architecture.md).

Every ``import`` counts — at module level, inside functions, under ``TYPE_CHECKING`` —
so a lazy import cannot hide a dependency. From the bottom up:

- ``errors`` and ``kit`` import nothing of Rumbo (``kit`` only the one error type);
- ``config``, ``db`` and ``models`` import only those below them;
- ``shared`` (languages, the live-page announcer, metrics, background services) only
  the layers below it;
- the domains import those layers and each other, without a cycle between packages,
  and never the composition on top nor the web pages;
- ``app``, ``cli``, ``worker``, ``reactions`` and ``migrations`` compose it all.

``python -m tests.test_architecture`` rewrites the diagram in docs/architecture.md; the
test below fails while it is stale.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "rumbo"
DOC = ROOT / "docs" / "architecture.md"

BASE = frozenset({"errors", "kit"})
FOUNDATION = frozenset({"config", "db", "models"})
SHARED = frozenset({"shared"})
COMPOSITION = frozenset({"app", "cli", "worker", "reactions", "migrations", "__init__"})
# The edges: server-rendered pages that compose several domains for a browser.
PAGES = frozenset({"web"})
DOMAINS = frozenset(
    {
        "analytics",
        "assistant",
        "carriers",
        "console",
        "demo",
        "devices",
        "eta",
        "events",
        "merchants",
        "notifications",
        "ops",
        "orders",
        "public",
        "routes",
        "support",
    }
)
# What each layer may import, besides itself.
ALLOWED: dict[frozenset[str], frozenset[str]] = {
    BASE: BASE,
    FOUNDATION: BASE | FOUNDATION,
    SHARED: BASE | FOUNDATION | SHARED,
    DOMAINS: BASE | FOUNDATION | SHARED | DOMAINS,
    PAGES: BASE | FOUNDATION | SHARED | DOMAINS | PAGES,
    COMPOSITION: BASE | FOUNDATION | SHARED | DOMAINS | PAGES | COMPOSITION,
}
# A command-line program loads what its one command needs: the only place where an
# import inside a function is the rule rather than a way around a cycle.
LAZY_IMPORTS_ALLOWED = frozenset({"rumbo.cli"})


@dataclass(frozen=True, slots=True)
class Import:
    importer: str  # rumbo.events.service
    imported: str  # rumbo.kit.codes
    line: int
    in_function: bool

    @property
    def source(self) -> str:
        return component(self.importer)

    @property
    def target(self) -> str:
        return component(self.imported)


def component(module: str) -> str:
    """``rumbo.events.service`` -> ``events``; ``rumbo`` itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_in(path: Path) -> list[Import]:
    importer = module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    tree = ast.parse(path.read_text("utf-8"))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside |= {id(n) for n in ast.walk(node) if n is not node}
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # ``from rumbo.web import pages`` imports the module rumbo.web.pages.
            names = [
                f"{module}.{alias.name}"
                if (SRC.parent / module.replace(".", "/") / alias.name).with_suffix(".py").exists()
                or (SRC.parent / module.replace(".", "/") / alias.name).is_dir()
                else module
                for alias in node.names
            ]
        for name in names:
            if name == "rumbo" or name.startswith("rumbo."):
                found.append(Import(importer, name, node.lineno, id(node) in inside))
    return found


def import_graph() -> list[Import]:
    """Every import of a Rumbo module by a Rumbo module."""
    return [i for path in sorted(SRC.rglob("*.py")) for i in _imports_in(path)]


def package_graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for i in imports:
        if i.source != i.target:
            graph[i.source].add(i.target)
    return graph


def layer_of(name: str) -> frozenset[str]:
    for layer in ALLOWED:
        if name in layer:
            return layer
    raise AssertionError(f"rumbo.{name} belongs to no layer: add it to tests/test_architecture.py")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                members.append(top)
                if top == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# -- the rules ------------------------------------------------------------------------


def test_every_package_has_a_layer() -> None:
    names = {component(module_name(p)) for p in SRC.rglob("*.py")}
    for name in names:
        layer_of(name)


def test_each_layer_imports_only_what_lies_below_it() -> None:
    wrong = [
        f"{i.importer}:{i.line} imports {i.imported}"
        for i in import_graph()
        if i.target not in ALLOWED[layer_of(i.source)]
    ]
    assert wrong == []


def test_kit_imports_nothing_of_rumbo_but_the_error_type() -> None:
    wrong = [
        f"{i.importer}:{i.line} imports {i.imported}"
        for i in import_graph()
        if i.source == "kit" and i.target not in {"kit", "errors"}
    ]
    errors = [i for i in import_graph() if i.source == "errors" and i.target != "errors"]
    assert (wrong, errors) == ([], [])


def test_no_two_packages_depend_on_each_other() -> None:
    assert cycles(package_graph(import_graph())) == []


def test_no_import_inside_a_function_outside_the_command_line() -> None:
    lazy = [
        f"{i.importer}:{i.line} imports {i.imported}"
        for i in import_graph()
        if i.in_function and i.importer not in LAZY_IMPORTS_ALLOWED
    ]
    assert lazy == []


def test_the_rules_see_a_cycle_and_a_layer_breach() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "app" not in ALLOWED[layer_of("events")]
    assert "web" not in ALLOWED[layer_of("console")]
    assert "notifications" not in ALLOWED[layer_of("shared")]


# -- the diagram in docs/architecture.md ----------------------------------------------

BEGIN = "<!-- import-graph: begin (python -m tests.test_architecture) -->"
END = "<!-- import-graph: end -->"


def _reduced(graph: dict[str, set[str]], nodes: set[str]) -> dict[str, set[str]]:
    """The graph among ``nodes`` without the edges that a longer path already implies
    (the transitive reduction of a DAG), so the picture shows the spine of it."""
    sub = {n: {m for m in graph.get(n, ()) if m in nodes} for n in nodes}

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(sub[start])
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(sub[n])
        return seen

    return {n: {m for m in sub[n] if not any(m in reach(k) for k in sub[n] if k != m)} for n in sub}


def diagram() -> str:
    """A Mermaid flowchart of the domains, the pages and the composition, top down."""
    graph = package_graph(import_graph())
    shown = set(DOMAINS | PAGES | COMPOSITION | SHARED) - {"__init__"}
    reduced = _reduced(graph, shown)
    lines = ["```mermaid", "flowchart TD"]
    groups = (
        ("composition", COMPOSITION),
        ("pages", PAGES),
        ("domains", DOMAINS),
        ("shared", SHARED),
    )
    for title, members in groups:
        lines.append(f"  subgraph {title}")
        lines += [f"    {name}" for name in sorted(members & shown)]
        lines.append("  end")
    lines += [f"  {n} --> {m}" for n in sorted(reduced) for m in sorted(reduced[n])]
    lines.append("  %% below shared: config, db, models; below them: errors, kit (imported by all)")
    lines.append("```")
    return "\n".join(lines)


def _with_diagram(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{diagram()}\n{END}{tail}"


def test_the_documented_diagram_is_the_code_s() -> None:
    text = DOC.read_text("utf-8")
    assert BEGIN in text
    assert END in text
    assert text == _with_diagram(text), "stale: run python -m tests.test_architecture"


if __name__ == "__main__":
    DOC.write_text(_with_diagram(DOC.read_text("utf-8")), "utf-8")
    sys.stdout.write(f"wrote the import graph into {DOC.relative_to(ROOT)}\n")
