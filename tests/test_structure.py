"""The shape of the house (docs/architecture.md), from the code's own import statements.

* No import cycle between the modules of src/abiguard: every ``import`` and ``from … import``
  anywhere in a module (also inside functions) is an edge; a package's ``__init__`` is a
  module of its own.
* No module over ~600 lines, except those listed with a reason.
* Results never import their renderers: nothing outside abiguard.render and the commands
  imports abiguard.render (the progress bars aside, which commands own), and the result
  types have no render methods.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "abiguard"

MAX_LINES = 600
TOO_LONG = {
    # module: why it may still be longer (each one the "core" helper's restructuring)
    "abiguard.callsites.source": "C call sites; one C parser set-up shared with headers.py is "
                                 "the core helper's",
    "abiguard.model": "the vocabulary of every stage (every helper adds to it): a package (ELF "
                      "view, bindings and audit, plan) once the other branches in flight "
                      "have landed",
}


def modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package's __init__)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, package)
    return out


def imported(name: str, package: bool, node: ast.Import | ast.ImportFrom,
             known: dict[str, tuple[Path, bool]]) -> list[str]:
    """The modules of abiguard an import statement of module ``name`` loads."""
    targets = []
    if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
    else:
        if node.level:
            base = name.split(".")
            if not package:
                base = base[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        # ``from pkg import sub`` loads pkg.sub when it is a module, else a name of pkg
        targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix
                   for a in node.names]
    out = []
    for t in targets:
        if not t.startswith("abiguard"):
            continue
        while t not in known and "." in t:
            t = t.rsplit(".", 1)[0]
        if t in known and t != name:
            out.append(t)
    return out


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, (path, package) in known.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps.update(imported(name, package, node, known))
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), and self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read_from_the_code():
    g = import_graph()
    assert len(g) > 80
    # a sample of edges the code has, at module top and inside functions
    assert "abiguard.compare.diff" in g["abiguard.commands.diff"]
    assert "abiguard.model" in g["abiguard.compare.match"]
    assert "abiguard.render.text.diff" in g["abiguard.render.markdown.diff"]
    assert "abiguard.compare.gate" in g["abiguard.compare"]  # a package's __init__
    # relative imports of every depth resolve
    assert "abiguard.errors" in g["abiguard.render.text.console"] or \
        "abiguard.render.table" in g["abiguard.render.text.console"]


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_no_module_over_600_lines():
    known = modules()
    long = {name: sum(1 for _ in path.open(encoding="utf-8"))
            for name, (path, _) in known.items()}
    over = sorted(name for name, n in long.items() if n > MAX_LINES and name not in TOO_LONG)
    assert over == [], {name: long[name] for name in over}
    # an exception that no longer is one is struck off the list
    assert sorted(name for name in TOO_LONG if long.get(name, 0) <= MAX_LINES) == []


def test_results_do_not_import_renderers():
    graph = import_graph()
    allowed = ("abiguard.render", "abiguard.commands", "abiguard.cli")
    users = sorted(m for m, deps in graph.items()
                   if not m.startswith(allowed)
                   and any(d == "abiguard.render" or d.startswith("abiguard.render.")
                           for d in deps))
    assert users == []


@pytest.mark.parametrize("module", ["abiguard.compare.diff", "abiguard.compare.trend",
                                    "abiguard.compare.gate", "abiguard.compare.impact",
                                    "abiguard.callsites.result", "abiguard.census.overview"])
def test_result_types_have_no_render_methods(module):
    import importlib

    mod = importlib.import_module(module)
    for name in getattr(mod, "__all__", ()):
        obj = getattr(mod, name)
        if isinstance(obj, type):
            methods = [m for m in vars(obj) if m.startswith(("render", "svg", "message"))]
            assert methods == [], (name, methods)


def test_commands_are_parsing_and_one_call():
    """Commands import no other command (shared pieces live in _common and options)."""
    graph = import_graph()
    for m, deps in graph.items():
        if m.startswith("abiguard.commands.") and not m.endswith(("_common", "options")):
            others = sorted(d for d in deps if d.startswith("abiguard.commands.")
                            and not d.endswith(("_common", "options")) and d != m)
            assert others == [], (m, others)


# Imports sit at the top of a module; these are the deliberate exceptions, each with why.
# (cli.py's command registration and render's dispatch table import by name through
# importlib, not with an import statement.)
LAZY_IMPORTS = {
    ("abiguard.census.aggregate", "pyarrow"): "Parquet export: pyarrow is not a dependency",
    ("abiguard.census.aggregate", "pyarrow.parquet"): "Parquet export (as above)",
    ("abiguard.census.overview", "pyarrow"): "only to tell whether pyarrow is there",
    ("abiguard.census.cluster", "distributed"): "optional (abiguard[census]); Dask takes "
                                                 "seconds to import",
    ("abiguard.cparse", "tree_sitter"): "optional (abiguard[where]), only for C sources",
    ("abiguard.cparse", "tree_sitter_c"): "optional (abiguard[where])",
    ("abiguard.cparse", "tree_sitter_cpp"): "optional, C++ sources only",
    ("abiguard.debian.control", "debian.debian_support"): "20 ms: with the first Debian "
                                                           "version compared, not at start-up",
    ("abiguard.elf.image", "zstandard"): "only for a zstd-compressed section (start-up)",
    ("abiguard.tarstream", "zstandard"): "only for a zstd-compressed .deb member (start-up)",
    ("abiguard.limits", "tomllib"): "with the first data file read, not on every start-up",
    ("abiguard.pipeline", "abiguard.remedies"): "the remedies knowledge is plan-only: a scan "
                                                "never loads it",
    ("abiguard.render.progress", "rich.console"): "rich only when bars are drawn on a "
                                                  "terminal (rich.progress: 60 ms)",
    ("abiguard.render.progress", "rich.progress"): "as above",
    ("abiguard.render.progress", "rich.markup"): "as above",
}


def function_imports() -> dict[tuple[str, str], list[str]]:
    """(module, imported module) -> where, for every import statement inside a function."""
    known = modules()
    out: dict[tuple[str, str], list[str]] = {}
    for name, (path, package) in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    targets = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = name.split(".")
                        if not package:
                            base = base[:-1]
                        base = base[: len(base) - (node.level - 1)]
                        prefix = ".".join(base + ([node.module] if node.module else []))
                    else:
                        prefix = node.module or ""
                    targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known
                               else prefix for a in node.names]
                else:
                    continue
                for t in targets:
                    if t.startswith("abiguard."):
                        while t not in known and "." in t:
                            t = t.rsplit(".", 1)[0]
                    out.setdefault((name, t), []).append(f"{path.name}:{node.lineno}")
    return out


def test_function_imports_are_read_from_the_code():
    found = function_imports()
    assert ("abiguard.pipeline", "abiguard.remedies") in found  # relative, inside a function
    assert ("abiguard.cparse", "tree_sitter") in found
    assert ("abiguard.cli", "abiguard.limits") not in found  # at the top


def test_imports_inside_functions_are_the_listed_ones():
    found = function_imports()
    unlisted = {k: v for k, v in found.items() if k not in LAZY_IMPORTS}
    assert unlisted == {}, "move these imports to the module's top (or list them, with why)"
    # an exception that no longer is one is struck off the list
    assert sorted(k for k in LAZY_IMPORTS if k not in found) == []
