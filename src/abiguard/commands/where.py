"""abiguard where — where each target symbol is used: C sources, object files, binaries.

Targets: ``--symbol``, ``--symbols-from`` (one per line, or an abiguard JSON result: the
unstable/private imports of its consumers), ``--headers`` (every function a header declares),
or the unstable/private imports ``scan`` finds for the positional BINARY inputs.

Places: ``--source DIR`` / ``--source-package NAME`` (C sources, see
:mod:`abiguard.callsites.source`), ``--objects FILE…`` (relocations of .o/.a, see
:mod:`abiguard.callsites.objects`) and the BINARY inputs themselves (disassembly, see
:mod:`abiguard.callsites.binary`).

``-D``/``-U``/``--config-header`` evaluate the preprocessor conditions (``compiled``);
``--without``/``--without-feature`` answer which symbols remain referenced if some sources are
not built. Output: text, json, markdown, sarif.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..errors import DataFileError, UsageError
from ..model import SCHEMA_VERSION, Audit, CallSite, InputError, SchemaError, audit_from_json
from . import _common

FORMATS = ("text", "json", "markdown", "sarif")


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SymbolRemedy:
    """What the knowledge base says to do about one symbol (``kind`` unknown when nothing)."""

    symbol: str
    library: str | None = None
    kind: str = "unknown"
    rationale: str = ""
    replacements: tuple[str, ...] = ()
    """``symbol (library)`` of each replacement."""
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class WhereResult:
    """The result of ``abiguard where`` (JSON ``kind: "where"``)."""

    targets: tuple[str, ...] = ()
    callsites: tuple[CallSite, ...] = ()
    source_root: str | None = None
    wrappers: tuple[Any, ...] = ()
    """abiguard.callsites.source.Wrapper records."""
    impact: Any = None
    """abiguard.callsites.features.FeatureImpact when --without/--without-feature was given."""
    remedies: tuple[SymbolRemedy, ...] = ()
    configuration: tuple[str, ...] = ()
    """The -D/-U/--config-header values the conditions were evaluated with."""
    files_scanned: int = 0
    files_parsed: int = 0
    parse_error_files: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    errors: tuple[InputError, ...] = ()
    notes: tuple[str, ...] = ()
    audit: Audit | None = None
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "where"

    def remedy(self, symbol: str) -> SymbolRemedy | None:
        for r in self.remedies:
            if r.symbol == symbol:
                return r
        return None

    def inside_wrapper(self, site: CallSite) -> bool:
        from ..callsites.source import inside_wrapper

        return inside_wrapper(site, self.wrappers)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def register(sub, help_text: str) -> None:
    p = sub.add_parser("where", help=help_text, description=(
        "Find every place that references the target symbols: C sources (parsed with "
        "tree-sitter, no build needed; calls, function pointers, macro bodies, with the "
        "#if conditions they sit under), object files and archives (relocations), and "
        "binaries (disassembly). Exit: 0 ok, 2 usage/input error."))
    p.add_argument("inputs", nargs="*", metavar="BINARY",
                   help="programs/libraries to scan: their unstable imports become the "
                        "targets, and their own call sites are found by disassembly")
    t = p.add_argument_group("target symbols")
    t.add_argument("--symbol", action="append", default=[], metavar="NAME",
                   help="a target symbol (repeatable)")
    t.add_argument("--symbols-from", action="append", default=[], metavar="FILE",
                   help="target symbols, one per line, or an abiguard JSON result (the "
                        "unstable/private imports of its consumers) (repeatable)")
    t.add_argument("--headers", action="append", default=[], metavar="DIR_OR_FILE",
                   help="every function declared in these headers is a target, e.g. "
                        "/usr/include/xenctrl.h (repeatable)")
    s = p.add_argument_group("C sources")
    s.add_argument("--source", metavar="DIR", help="source tree (or one file) to search")
    s.add_argument("--source-package", metavar="NAME",
                   help="fetch the Debian source package NAME with apt (deb-src entries "
                        "derived from the system's sources; cached) and search it")
    s.add_argument("--cache-dir", metavar="DIR",
                   help="cache for --source-package (default: $XDG_CACHE_HOME/abiguard)")
    s.add_argument("-D", "--define", action="append", default=[], metavar="NAME[=VALUE]",
                   help="a macro for evaluating #if conditions (repeatable); with any -D/-U/"
                        "--config-header, undefined macros count as 0 as in cpp")
    s.add_argument("-U", "--undefine", action="append", default=[], metavar="NAME",
                   help="a macro known to be undefined (repeatable)")
    s.add_argument("--config-header", action="append", default=[], metavar="FILE",
                   help="a config-host.h style file of #define lines (repeatable)")
    f = p.add_argument_group("features: which symbols remain without some sources")
    f.add_argument("--without", action="append", default=[], metavar="PATHGLOB",
                   help="leave out sources matching PATHGLOB (relative to the source root; "
                        "repeatable), e.g. 'hw/xen/xen_pt*'")
    f.add_argument("--features", metavar="FILE",
                   help="TOML file of named feature groups: [features] name = [globs]")
    f.add_argument("--without-feature", action="append", default=[], metavar="NAME",
                   help="leave out the sources of a named feature (repeatable)")
    o = p.add_argument_group("objects and binaries")
    o.add_argument("--objects", action="extend", nargs="+", default=[], metavar="FILE",
                   help="object files (.o) and archives (.a) whose relocations are searched "
                        "(give BINARY inputs before --objects, or after --)")
    o.add_argument("--debug-dir", action="append", default=[], metavar="DIR",
                   help="directory of separate debug files for attributing binary call sites "
                        "(repeatable)")
    from .scan import add_resolution_options

    add_resolution_options(p, "scanning BINARY inputs")
    r = p.add_argument_group("remedies")
    r.add_argument("--remedies", action="append", default=[], metavar="FILE",
                   help="remedies TOML file, consulted before the built-in ones (repeatable)")
    _common.add_output_options(p, FORMATS)
    p.set_defaults(run=run)


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


def read_symbols_file(path: str) -> tuple[list[str], dict[str, str], Audit | None]:
    """Symbols (and their libraries, for a JSON result) from a --symbols-from file."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise DataFileError(path, f"cannot read symbols file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DataFileError(path, "symbols file is not UTF-8 text") from None
    if text.lstrip().startswith("{"):
        where = _where_targets(text)
        if where is not None:
            return where, {}, None
        try:
            audit = audit_from_json(text, path)
        except SchemaError as exc:
            raise DataFileError(path, str(exc).removeprefix(f"{path}: ")) from None
        names: list[str] = []
        libs: dict[str, str] = {}
        for _consumer, b in audit.findings:
            names.append(b.symbol.name)
            if b.provider:
                libs.setdefault(b.symbol.name, b.provider)
        return sorted(set(names)), libs, audit
    names = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name = line.split()[0].split("@", 1)[0]
        if not name.replace("_", "a").replace("$", "a").replace(".", "a").isalnum():
            raise DataFileError(path, f"line {lineno}: {line[:60]!r} is not a symbol name")
        names.append(name)
    return names, {}, None


def _where_targets(text: str) -> list[str] | None:
    """The targets of a ``where`` JSON result that embeds no audit (else None)."""
    import json

    from ..jsonform import READS

    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("kind") == "where" and not data.get("audit") \
            and data.get("schema") in READS and isinstance(data.get("targets"), list):
        return [t for t in data["targets"] if isinstance(t, str)]
    return None


def collect_targets(args: argparse.Namespace) -> tuple[list[str], dict[str, str], Audit | None,
                                                        list[str]]:
    """(targets, symbol -> library, audit of the BINARY inputs, notes)."""
    names: list[str] = []
    libs: dict[str, str] = {}
    notes: list[str] = []
    audit = None
    for n in args.symbol:
        for part in n.split(","):
            part = part.strip()
            if part:
                names.append(part)
    for path in args.symbols_from:
        got, got_libs, _ = read_symbols_file(path)
        names += got
        for k, v in got_libs.items():
            libs.setdefault(k, v)
    if args.headers:
        from ..callsites.source import declared_functions

        declared = declared_functions(args.headers)
        if not declared:
            notes.append(f"--headers {', '.join(args.headers)}: no function declarations found")
        names += declared
    if args.inputs:
        audit = scan_binaries(args)
        check_missing_libraries(audit)
        for c in audit.consumers:
            # (imports from a library that was not found count with the class of its name)
            for b in (*c.findings, *c.presumed):
                names.append(b.symbol.name)
                if b.provider:
                    libs.setdefault(b.symbol.name, b.provider)
        notes += list(getattr(audit, "notes", ()) or ())
    return sorted(set(names)), libs, audit, notes


def check_missing_libraries(audit: Audit) -> None:
    """The BINARY inputs' targets are their unstable/private imports. When a library was
    not found, its imports count with the class the policy gives its name (the audit's
    notes then carry the "libraries not found" line); when some imports of such a consumer
    cannot be classified, the targets would be incomplete: stop (exit 2) with that line."""
    from ..missing import missing_libraries

    missing = missing_libraries(audit.consumers)
    if missing is not None and missing.unclassified:
        raise UsageError(f"where: the target symbols of the BINARY inputs are incomplete, "
                         f"{missing.unclassified} import(s) not classified: {missing.line()}")


def scan_binaries(args: argparse.Namespace) -> Audit:
    from ..pipeline import scan_paths
    from .scan import scan_options

    return scan_paths(list(args.inputs), scan_options(args))


# --------------------------------------------------------------------------------------------
# Remedies
# --------------------------------------------------------------------------------------------


def lookup_remedies(symbols: list[str], libraries: dict[str, str],
                    extra_files: list[str] | tuple[str, ...] = ()) -> tuple[SymbolRemedy, ...]:
    """The knowledge base's remedy for each symbol; kind "unknown" when it has none.

    Only when abiguard.remedies itself is absent is every symbol "unknown".
    """
    try:
        from .. import remedies as remedies_module
    except ImportError:
        return tuple(SymbolRemedy(symbol=s, library=libraries.get(s)) for s in symbols)
    knowledge = remedies_module.load_knowledge(list(extra_files))
    out = []
    for s in symbols:
        lib = libraries.get(s)
        r = knowledge.lookup(s, lib)
        if r is None:
            out.append(SymbolRemedy(symbol=s, library=lib))
            continue
        repl = tuple(f"{x.symbol} ({x.library})" if getattr(x, "library", None) else x.symbol
                     for x in getattr(r, "replacements", ()) or ())
        out.append(SymbolRemedy(symbol=s, library=lib or getattr(r, "library", None),
                                kind=r.kind, rationale=getattr(r, "rationale", "") or "",
                                replacements=repl, origin=getattr(r, "origin", None)))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Run
# --------------------------------------------------------------------------------------------


def _source_root(args: argparse.Namespace) -> str | None:
    if args.source and args.source_package:
        raise UsageError("give either --source or --source-package, not both")
    if args.source:
        if not os.path.exists(args.source):
            raise UsageError(f"--source {args.source}: no such file or directory")
        return args.source
    if args.source_package:
        from ..debian.srcpkg import fetch_source_package

        return str(fetch_source_package(args.source_package, args.cache_dir,
                                        log=lambda m: _common.note(args, m)))
    return None


def _object_sites(args: argparse.Namespace, symbols: set[str] | None
                  ) -> tuple[list[CallSite], list[InputError]]:
    try:
        from ..callsites.objects import find_object_references
    except ImportError:
        raise UsageError("--objects needs abiguard.callsites.objects, which this build of "
                         "abiguard does not have") from None
    sites, errors = find_object_references(list(args.objects), symbols)
    return list(sites), list(errors)


def _binary_sites(args: argparse.Namespace, symbols: set[str] | None, notes: list[str]
                  ) -> tuple[list[CallSite], list[InputError]]:
    files = [p for p in args.inputs if os.path.isfile(p) and not p.endswith(".deb")]
    skipped = [p for p in args.inputs if p not in files]
    if skipped:
        notes.append("binary call sites are searched in ELF files given by path only; not in "
                     + ", ".join(skipped))
    if not files:
        return [], []
    try:
        from ..callsites.binary import find_binary_callsites
    except ImportError:
        notes.append("binary call sites: abiguard.callsites.binary is not available in this "
                     "build; BINARY inputs only gave the target symbols")
        return [], []
    from ..errors import InputFileError

    sites: list[CallSite] = []
    errors: list[InputError] = []
    for path in files:
        try:
            sites += find_binary_callsites(path, symbols, list(args.debug_dir))
        except InputFileError as exc:
            errors.append(InputError(path, exc.message))
    return sites, errors


def build_result(args: argparse.Namespace) -> WhereResult:
    from ..callsites.cpp_expr import build_macros

    macros = build_macros(args.define, args.undefine, args.config_header)  # usage errors first
    features: dict[str, tuple[str, ...]] = {}
    if args.features:
        from ..callsites.features import load_features

        features = load_features(args.features)
    without = list(args.without)
    if args.without_feature:
        from ..callsites.features import resolve_feature_globs

        without += resolve_feature_globs(args.without_feature, features, args.features)
    if not (args.source or args.source_package or args.objects or args.inputs):
        raise UsageError("nothing to search: give --source DIR, --source-package NAME, "
                         "--objects FILE… or BINARY inputs")
    if args.source and not os.path.exists(args.source):
        raise UsageError(f"--source {args.source}: no such file or directory")
    targets, libraries, audit, notes = collect_targets(args)
    given = bool(args.symbol or args.symbols_from or args.headers or args.inputs)
    if not targets and (args.source or args.source_package or args.inputs):
        if args.inputs:
            notes.append("the BINARY inputs import no unstable/private symbols: nothing to "
                         "search for")
        elif not given:
            raise UsageError("no target symbols: give --symbol, --symbols-from, --headers or "
                             "BINARY inputs")
    callsites: list[CallSite] = []
    errors: list[InputError] = list(audit.errors) if audit is not None else []
    root = _source_root(args)
    scan = None
    if root is not None and targets:
        from ..callsites.source import scan_sources

        progress = (lambda m: _common.note(args, m)) if _common.show_progress(args) else None
        scan = scan_sources(root, targets, macros, progress=progress)
        callsites += scan.callsites
        if scan.parse_error_files:
            notes.append(f"{len(scan.parse_error_files)} of {scan.files_parsed} parsed source "
                         "file(s) have syntax tree-sitter could not parse fully (scanned "
                         "anyway): " + ", ".join(scan.parse_error_files[:5])
                         + (" …" if len(scan.parse_error_files) > 5 else ""))
    # No target given at all (only --objects): every reference is listed. Targets given
    # but none found: nothing is searched for.
    symbols = set(targets) if given else None
    if args.objects:
        sites, errs = _object_sites(args, symbols)
        callsites += sites
        errors += errs
    if args.inputs:
        sites, errs = _binary_sites(args, symbols, notes)
        callsites += sites
        errors += errs
    impact = None
    if without:
        from ..callsites.features import feature_impact

        wrappers = scan.wrappers if scan is not None else ()
        from ..callsites.source import inside_wrapper

        # A binary is the whole link: its sites cannot say which sources they came from, so
        # only source, object and link sites decide what remains without some sources.
        roots = [s for s in callsites
                 if s.method != "binary" and not inside_wrapper(s, wrappers)]
        impact = feature_impact(roots, targets, without, args.without_feature)
    rank = {"source": 0, "object": 1, "binary": 2, "link": 3}
    callsites.sort(key=lambda s: (s.symbol, rank.get(s.method, 9), s.file, s.line or 0,
                                  s.column or 0, s.address or 0, s.via or ""))
    configuration = tuple([f"-D{d}" for d in args.define] + [f"-U{u}" for u in args.undefine]
                          + [f"--config-header={c}" for c in args.config_header])
    return WhereResult(
        targets=tuple(targets),
        callsites=tuple(callsites),
        source_root=os.path.abspath(root) if root else None,
        wrappers=scan.wrappers if scan is not None else (),
        impact=impact,
        remedies=lookup_remedies(targets, libraries, args.remedies),
        configuration=configuration,
        files_scanned=scan.files_scanned if scan is not None else 0,
        files_parsed=scan.files_parsed if scan is not None else 0,
        parse_error_files=scan.parse_error_files if scan is not None else (),
        inputs=tuple(args.inputs) + tuple(args.objects),
        errors=tuple(errors),
        notes=tuple(notes),
        audit=audit,
        tool_version=__version__,
    )


def run(args: argparse.Namespace) -> int:
    result = build_result(args)
    for n in result.notes:
        _common.note(args, n)
    color = _common.use_color() and not args.output
    if args.format == "json":
        from ..model import to_json

        text = to_json(result)
    elif args.format == "sarif":
        from ..render.sarif import render as render_sarif

        text = render_sarif(result)
    elif args.format == "markdown":
        text = render_markdown(result)
    else:
        text = render_text(result, verbose=args.verbose, color=color)
    _common.emit(args, text)
    if result.errors:
        for e in result.errors:
            _common.error_line(e)
        return 2
    return 0


# --------------------------------------------------------------------------------------------
# Text and Markdown
# --------------------------------------------------------------------------------------------


def _location(s: CallSite) -> str:
    if s.line is not None:
        return f"{s.file}:{s.line}:{s.column}" if s.column else f"{s.file}:{s.line}"
    if s.address is not None:
        return f"{s.file}+{s.address:#x}"
    return s.file


def _compiled(v: bool | None, method: str = "source") -> str:
    if v is None and method != "source":
        return "-"  # found in a compiled artifact: no preprocessor question
    return "?" if v is None else ("yes" if v else "no")


def _summary_lines(result: WhereResult) -> list[str]:
    lines = []
    n_sym = len({s.symbol for s in result.callsites})
    lines.append(f"{len(result.targets)} target symbol(s), {n_sym} referenced, "
                 f"{len(result.callsites)} site(s)")
    if result.source_root:
        lines.append(f"source: {result.source_root} ({result.files_scanned} files searched, "
                     f"{result.files_parsed} parsed, {len(result.parse_error_files)} with "
                     "parse errors)")
    if result.configuration:
        lines.append("conditions evaluated with " + " ".join(result.configuration))
    return lines


def _impact_lines(result: WhereResult, md: bool = False) -> list[str]:
    imp = result.impact
    if imp is None:
        return []
    what = ", ".join(list(imp.features) + [p for p in imp.without]) or "nothing"
    code = (lambda x: f"`{x}`") if md else (lambda x: x)
    out = [f"Without {what}:"]
    by = {s.symbol: s for s in imp.symbols}
    out.append(f"  remaining ({len(imp.remaining)}):" if not md
               else f"- **remaining** ({len(imp.remaining)}):")
    for sym in imp.remaining:
        files = ", ".join(by[sym].remaining_files)
        out.append(f"    {sym}  [{files}]" if not md else f"  - {code(sym)} ({files})")
    out.append(f"  disappear ({len(imp.disappearing)}):" if not md
               else f"- **disappear** ({len(imp.disappearing)}):")
    for sym in imp.disappearing:
        files = ", ".join(by[sym].removed_files)
        out.append(f"    {sym}  [only in {files}]" if not md
                   else f"  - {code(sym)} (only in {files})")
    if imp.not_compiled:
        out.append((f"  not compiled with this configuration ({len(imp.not_compiled)}): " if not md
                    else f"- not compiled with this configuration ({len(imp.not_compiled)}): ")
                   + ", ".join(code(s) for s in imp.not_compiled))
    if imp.unreferenced:
        shown = imp.unreferenced if md or len(imp.unreferenced) <= 30 else imp.unreferenced[:30]
        more = len(imp.unreferenced) - len(shown)
        out.append((f"  not referenced at all ({len(imp.unreferenced)}): " if not md
                    else f"- not referenced at all ({len(imp.unreferenced)}): ")
                   + ", ".join(code(s) for s in shown) + (f" … ({more} more)" if more else ""))
    return out


def render_text(result: WhereResult, verbose: int = 0, color: bool = False,
                width: int | None = None) -> str:
    """Text: a table of the sites (identifiers never break: abiguard.render.table); input
    errors are not repeated here (run() prints each once on stderr)."""
    from rich.text import Text

    from ..demangle import display
    from ..render.table import Column, Table, item_lines, paragraph, print_lines
    from ..render.text import console

    con = console(color, width)
    width = con.width
    for line in _summary_lines(result):
        print_lines(con, paragraph(line, width, 0, 2))
    if result.callsites:
        # the compiled column once something decides it: -D/-U/--config-header, or constants
        # (#if 0) for some sites; a column of "?" says nothing
        evaluated = bool(result.configuration) or any(
            s.compiled is not None for s in result.callsites if s.method == "source")
        table = Table([Column("symbol"), Column("file:line:col"), Column("function"),
                       Column("via"), Column("kind", drop=2),
                       Column("compiled" if evaluated else ""),
                       Column("condition", "text", min_width=20)],
                      heading=(0,))
        previous = None
        for s in result.callsites:
            table.add_row((display(s.symbol) if s.symbol != previous else "", "bold"),
                          _location(s), display(s.function) if s.function else "-",
                          display(s.via) if s.via else "", s.kind,
                          _compiled(s.compiled, s.method) if result.configuration else
                          ("" if s.compiled is None else _compiled(s.compiled, s.method)),
                          s.condition or "")
            previous = s.symbol
        print_lines(con, table.lines(width))
        if not result.configuration and any(s.condition for s in result.callsites):
            print_lines(con, [Text(ln, "dim") for ln in paragraph(
                "(whether a conditional site is compiled: give -D/-U/--config-header)",
                width)])
    referenced = {s.symbol for s in result.callsites}
    unreferenced = [display(t) for t in result.targets if t not in referenced]
    if unreferenced:
        shown = unreferenced[:30]
        print_lines(con, [Text(ln, "dim") for ln in item_lines(
            f"no site found for {len(unreferenced)}: ",
            shown + (["…"] if len(unreferenced) > 30 else []), width)])
    if result.wrappers:
        con.print(Text("wrappers (sites inside them count where they are used):", "bold"))
        for w in result.wrappers:
            cond = f" [{w.condition}]" if w.condition else ""
            lines = paragraph(f"{w.name} ({w.kind}, {w.file}:{w.line}){cond} -> "
                              + ", ".join(display(x) for x in w.symbols), width, 2, 6)
            print_lines(con, lines)
    known = [r for r in result.remedies if r.kind != "unknown" and r.symbol in referenced]
    if known:
        con.print(Text("remedies:", "bold"))
        for r in known:
            print_lines(con, item_lines(f"{display(r.symbol)}: {r.kind}"
                                        + (" -> " if r.replacements else ""),
                                        [display(x) for x in r.replacements], width, 2))
            if verbose and r.rationale:
                print_lines(con, [Text(ln, "dim") for ln in paragraph(r.rationale, width, 6)])
    for line in _impact_lines(result):
        indent = len(line) - len(line.lstrip())
        print_lines(con, [line] if len(line) <= width else
                    item_lines(line.lstrip(), [], width, indent))
    return con.file.getvalue()


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: WhereResult) -> str:
    out = ["# Where the target symbols are used", ""]
    out += [f"- {_esc(line)}" for line in _summary_lines(result)]
    out.append("")
    if result.callsites:
        out += ["| symbol | location | function | via | kind | condition | compiled |",
                "|---|---|---|---|---|---|---|"]
        for s in result.callsites:
            cond = f"`{_esc(s.condition)}`" if s.condition else ""
            via = f"`{s.via}`" if s.via else ""
            out.append(f"| `{s.symbol}` | `{_esc(_location(s))}` | {_esc(s.function or '-')} | "
                       f"{via} | {s.kind} | {cond} | {_compiled(s.compiled, s.method)} |")
        out.append("")
    if result.wrappers:
        out += ["## Wrappers", ""]
        for w in result.wrappers:
            cond = f" under `{_esc(w.condition)}`" if w.condition else ""
            out.append(f"- `{w.name}` ({w.kind}, `{w.file}:{w.line}`){cond}: "
                       + ", ".join(f"`{x}`" for x in w.symbols))
        out.append("")
    known = [r for r in result.remedies if r.kind != "unknown"]
    if known:
        out += ["## Remedies", ""]
        for r in known:
            repl = f" → {', '.join(f'`{x}`' for x in r.replacements)}" if r.replacements else ""
            out.append(f"- `{r.symbol}`: **{r.kind}**{repl}"
                       + (f". {_esc(r.rationale)}" if r.rationale else ""))
        out.append("")
    if result.impact is not None:
        out += ["## Without some sources", ""] + _impact_lines(result, md=True) + [""]
    if result.notes:
        out += [f"> note: {_esc(n)}" for n in result.notes] + [""]
    return "\n".join(out)


__all__ = [
    "SymbolRemedy",
    "WhereResult",
    "build_result",
    "lookup_remedies",
    "read_symbols_file",
    "register",
    "render_markdown",
    "render_text",
    "run",
]
