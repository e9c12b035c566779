"""The shape of the house (docs/architecture.md), from the code's own import statements.

* No import cycle between the modules of src/abiguard: every ``import`` and ``from … import``
  anywhere in a module (also inside functions) is an edge; a package's ``__init__`` is a
  module of its own.
* No module over ~600 lines, except those listed with a reason.
* Results never import their renderers: nothing outside abiguard.render and the commands
  imports abiguard.render (the progress bars aside, which commands own), and the result
  types have no render methods.
* The tests mirror the package (the rule: :func:`misplaced`): tests/<p>/test_*.py for the
  package abiguard.<p>, tests/test_<module>[_<aspect>].py for a top-level module,
  tests/integration/ for the whole tool (real Debian data, README, hostile input, fuzzing,
  this file); helpers only in tests/helpers/, fixtures shared through conftest.py files (no
  fixture written twice), no test module importing another.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers.paths import SRC, TESTS

PACKAGE = SRC / "abiguard"

MAX_LINES = 600
TOO_LONG: dict[str, str] = {
    # module: why it may still be longer than MAX_LINES (none today)
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


# --------------------------------------------------------------------------------------------
# The tests' own layout
# --------------------------------------------------------------------------------------------

WHOLE_TOOL = "integration"  # tests of the whole tool, not of one package
SHARED = ("helpers", "data")  # helper modules (a package) and data files, no tests


def misplaced(rel: Path, package: Path = PACKAGE) -> str | None:
    """Why the test module at ``rel`` (relative to tests/) is not where the rule puts it, or
    None. The rule: a test module in tests/<p>/…/ tests the package abiguard.<p>… (a directory
    of src/abiguard with an __init__.py); one directly in tests/ is named after the top-level
    module it tests, test_<module>.py or test_<module>_<aspect>.py; tests of the whole tool
    are in tests/integration/."""
    *folders, name = rel.parts
    if not folders:
        stem = name.removeprefix("test_").removesuffix(".py")
        top = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
        if any(stem == m or stem.startswith(m + "_") for m in top):
            return None
        return f"{rel}: not named test_<module>[_<aspect>].py after a module of abiguard"
    if folders == [WHOLE_TOOL] or (package.joinpath(*folders) / "__init__.py").is_file():
        return None
    return f"{rel}: tests/{'/'.join(folders)}/ is neither a package of abiguard nor {WHOLE_TOOL}/"


def test_layout_rule_can_fail():
    assert misplaced(Path("elf/test_dwarf.py")) is None
    assert misplaced(Path("render/text/test_x.py")) is None  # a subpackage of a subpackage
    assert misplaced(Path("test_tarstream.py")) is None
    assert misplaced(Path("test_demangle_cxx.py")) is None
    assert misplaced(Path("integration/test_qemu_real.py")) is None
    assert misplaced(Path("test_elf.py"))  # elf is a package: tests/elf/
    assert misplaced(Path("test_qemu_real.py"))
    assert misplaced(Path("helpers/test_x.py"))
    assert misplaced(Path("elfs/test_elf.py"))
    assert misplaced(Path("data/schema/test_x.py"))


def test_every_test_module_lives_in_the_folder_of_what_it_tests():
    found = sorted(TESTS.rglob("test_*.py"))
    assert len(found) > 40
    wrong = [m for p in found if (m := misplaced(p.relative_to(TESTS)))]
    assert wrong == []


def test_helpers_are_in_one_place():
    """Outside tests/helpers/ (and the scripts of tests/data/), tests/ holds test modules and
    conftest.py files only; test folders are no packages (importlib import mode; a package
    tests/debian/ would also hide python-debian's ``debian`` from the tests)."""
    stray = sorted(str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py")
                   if p.relative_to(TESTS).parts[0] not in SHARED
                   and not p.name.startswith("test_") and p.name != "conftest.py")
    assert stray == []
    assert (TESTS / "helpers" / "__init__.py").is_file()


def _test_sources() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"), str(p)))
            for p in sorted(TESTS.rglob("*.py")) if p.relative_to(TESTS).parts[0] != "data"]


def test_no_test_module_imports_another():
    """What two test modules share is a helper (tests/helpers/) or a fixture (conftest.py)."""
    bad = []
    for path, tree in _test_sources():
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{path.relative_to(TESTS)}: {n}" for n in names
                    if any(part.startswith(("test_", "conftest")) for part in n.split("."))]
    assert bad == []


def _is_fixture(fn: ast.FunctionDef) -> bool:
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            return True
    return False


def duplicate_fixtures(sources: list[tuple[Path, ast.Module]]) -> list[list[str]]:
    """Fixtures written twice: the same parameters and the same body (docstring aside)."""
    seen: dict[str, list[str]] = {}
    for path, tree in sources:
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef) and _is_fixture(fn):
                body = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
                key = ast.dump(fn.args) + ast.dump(ast.Module(body=body, type_ignores=[]))
                seen.setdefault(key, []).append(f"{path.name}::{fn.name}")
    return [places for places in seen.values() if len(places) > 1]


def test_duplicate_fixtures_are_found():
    code = ('import pytest\n@pytest.fixture(scope="session")\ndef a(tmp_path_factory):\n'
            '    """doc"""\n    return tmp_path_factory.getbasetemp() / "xc"\n')
    other = code.replace("def a", "def b").replace('"""doc"""', '"""other doc"""')
    assert duplicate_fixtures([(Path("x.py"), ast.parse(code)),
                               (Path("y.py"), ast.parse(other))]) == [["x.py::a", "y.py::b"]]
    assert duplicate_fixtures([(Path("x.py"), ast.parse(code)),
                               (Path("y.py"), ast.parse(other.replace('"xc"', '"xd"')))]) == []


def test_no_fixture_is_written_twice():
    """A fixture two modules need is defined once, in the nearest conftest.py."""
    assert duplicate_fixtures(_test_sources()) == []


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
    ("abiguard.pipeline", "abiguard.model.plan"): "the plan's types, plan-only (as above)",
    # The call sites and the plan's types (six dataclasses, ~5 ms of a scan's start-up: Python
    # 3.11 compiles each one's methods) and the JSON reader (which knows them) are named by
    # their packages but loaded with their first use: a scan of files loads neither.
    ("abiguard.model", "abiguard.model.plan"): "call sites and plans: never in a scan",
    ("abiguard.jsonform", "abiguard.jsonform.read"): "reading JSON (diff, gate, census...): a "
                                                     "scan writes its JSON, reads none",
    ("abiguard.render.progress", "rich.console"): "rich only when bars are drawn on a "
                                                  "terminal (rich.progress: 60 ms)",
    ("abiguard.render.progress", "rich.progress"): "as above",
    ("abiguard.render.progress", "rich.markup"): "as above",
    # The kinds of input are all registered in every process, and every input is asked
    # whether it is a package name or a .deb; apt, .deb reading and the census's package
    # machinery load when a package is opened: a scan of files never loads them (issue #17,
    # start-up: ~20 ms of imports).
    ("abiguard.sources.apt", "abiguard.debian.apt"): "apt when a package name is fetched",
    ("abiguard.sources.apt", "abiguard.sources.fetched"): "what apt gives, as above",
    ("abiguard.sources.base", "abiguard.debian.suites"): "apt's configuration, as above",
    ("abiguard.sources.deb", "abiguard.debian.deb"): "reading a .deb when one is opened",
    ("abiguard.sources.deb", "abiguard.debian.apt"): "a .deb's SHA-256 (census)",
    ("abiguard.sources.deb", "abiguard.debian.unpacked"): "the cache of unpacked .debs",
    ("abiguard.sources.package", "abiguard.debian.control"): "relations parsed (census)",
    ("abiguard.sources.root", "abiguard.debian.control"): "a root's control file (census)",
    ("abiguard.sources.root", "hashlib"): "a root's hashes (census)",
    ("abiguard.sources", "abiguard.sources.package"): "the census's package vocabulary, "
                                                      "named by the package, loaded when used",
    ("abiguard.sources.deb", "abiguard.sources.package"): "as above (census)",
    ("abiguard.sources.root", "abiguard.sources.package"): "as above (census)",
    # A source's census and impact faces (sources.faces: CensusPart, LibraryTree, Relations;
    # three dataclasses, 2 ms of a scan's start-up), loaded by the kinds when they make them.
    ("abiguard.sources", "abiguard.sources.faces"): "named by the package, loaded when used",
    ("abiguard.sources.file", "abiguard.sources.faces"): "census and impact only",
    ("abiguard.sources.directory", "abiguard.sources.faces"): "as above",
    ("abiguard.sources.deb", "abiguard.sources.faces"): "as above, and --with-deps",
    ("abiguard.sources.apt", "abiguard.sources.faces"): "as above",
    ("abiguard.sources.root", "abiguard.sources.faces"): "census only",
    ("abiguard.resolve", "abiguard.resolve.indexed"): "the census's indexed layers (two "
                                                      "dataclasses), named by the package",
    ("abiguard.policy.files", "abiguard.policy.releases"): "a history's releases, read when "
                                                          "checked or written, never by a scan",
    ("abiguard.policy", "abiguard.policy.releases"): "as above, named by the package",
    ("abiguard.sources.base", "tempfile"): "a temporary directory when a package is "
                                           "unpacked (tempfile and shutil: 4.5 ms)",
    ("abiguard.sources.base", "shutil"): "as above, to remove it",
    ("abiguard.parallel", "tempfile"): "the child's answer in a temporary file where there "
                                       "is no memfd_create (not Linux)",
    ("abiguard.policy.files", "pathlib"): "a policy file's name from its path, when it "
                                          "names none (pathlib: 4.5 ms)",
    ("abiguard.elf.dynamic", "abiguard.elf.notes"): "build-id and debug link: call sites "
                                                    "only (binaries' debug files)",
    ("abiguard.elf.dynamic", "abiguard.elf.dwarf"): "DWARF: call sites only",
    ("abiguard.demangle", "ctypes"): "libstdc++'s demangler with the first name demangled "
                                     "(JSON output never is)",
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
