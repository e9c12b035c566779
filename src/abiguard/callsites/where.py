"""``abiguard where``: where each target symbol is used, in C sources, object files and
binaries, and which target symbols remain without some sources.

Targets: ``symbols``, ``symbols_from`` (one per line, or an abiguard JSON result: the
unstable/private imports of its consumers), ``headers`` (every function a header declares),
or the unstable/private imports the scan finds in the BINARY ``inputs``. Places: a source
tree (``source``, or the Debian source package ``source_package``, :mod:`.source`), object
files and archives (``objects``, :mod:`.objects`) and the BINARY inputs themselves
(disassembly, :mod:`.binary`). ``defines``/``undefines``/``config_headers`` evaluate the
preprocessor conditions (``compiled``); ``without``/``without_features`` answer which
symbols remain referenced when some sources are not built (:mod:`.features`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import __version__
from ..debian.srcpkg import fetch_source_package
from ..errors import DataFileError, ElfError, InputFileError, UsageError
from ..inputs import Target
from ..missing import missing_libraries
from ..model import Audit, CallSite, InputError, SchemaError
from ..pipeline import CallSiteProvider, ScanOptions, scan_paths
from ..remedies import load_knowledge
from ..results import audit_from_text, where_targets
from .binary import find_binary_callsites
from .cpp_expr import Macros, build_macros
from .features import feature_impact, load_features, resolve_feature_globs
from .objects import find_object_references
from .result import SymbolRemedy, WhereResult
from .source import SourceScan, declared_functions, inside_wrapper, scan_sources


def _ignore(_message: str) -> None:
    return None


@dataclass(frozen=True)
class WhereRequest:
    """What ``abiguard where`` was asked (its options, as data)."""

    inputs: tuple[str, ...] = ()
    """BINARY inputs: their unstable/private imports are targets, their code is searched."""
    symbols: tuple[str, ...] = ()
    """Target symbols (each may be a comma-separated list)."""
    symbols_from: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    source: str | None = None
    source_package: str | None = None
    cache_dir: str | None = None
    defines: tuple[str, ...] = ()
    undefines: tuple[str, ...] = ()
    config_headers: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    features: str | None = None
    without_features: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    debug_dirs: tuple[str, ...] = ()
    remedies: tuple[str, ...] = ()
    scan: ScanOptions = field(default_factory=ScanOptions)
    """How the BINARY inputs are scanned."""


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
        where = where_targets(text)
        if where is not None:
            return where, {}, None
        try:
            audit = audit_from_text(text, path)
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


def collect_targets(request: WhereRequest) -> tuple[list[str], dict[str, str], Audit | None,
                                                    list[str]]:
    """(targets, symbol -> library, audit of the BINARY inputs, notes)."""
    names: list[str] = []
    libs: dict[str, str] = {}
    notes: list[str] = []
    audit = None
    for n in request.symbols:
        for part in n.split(","):
            part = part.strip()
            if part:
                names.append(part)
    for path in request.symbols_from:
        got, got_libs, _ = read_symbols_file(path)
        names += got
        for k, v in got_libs.items():
            libs.setdefault(k, v)
    if request.headers:
        declared = declared_functions(request.headers)
        if not declared:
            notes.append(f"--headers {', '.join(request.headers)}: no function declarations "
                         "found")
        names += declared
    if request.inputs:
        audit = scan_paths(list(request.inputs), request.scan)
        check_missing_libraries(audit)
        for c in audit.consumers:
            # (imports from a library that was not found count with the class of its name)
            for b in (*c.findings, *c.presumed):
                names.append(b.symbol.name)
                if b.provider:
                    libs.setdefault(b.symbol.name, b.provider)
        notes += list(audit.notes)
    return sorted(set(names)), libs, audit, notes


def check_missing_libraries(audit: Audit) -> None:
    """The BINARY inputs' targets are their unstable/private imports. When a library was
    not found, its imports count with the class the policy gives its name (the audit's
    notes then carry the "libraries not found" line); when some imports of such a consumer
    cannot be classified, the targets would be incomplete: stop (exit 2) with that line."""
    missing = missing_libraries(audit.consumers)
    if missing is not None and missing.unclassified:
        raise UsageError(f"where: the target symbols of the BINARY inputs are incomplete, "
                         f"{missing.unclassified} import(s) not classified: {missing.line()}")


# --------------------------------------------------------------------------------------------
# Remedies
# --------------------------------------------------------------------------------------------


def lookup_remedies(symbols: list[str], libraries: dict[str, str],
                    extra_files: list[str] | tuple[str, ...] = ()) -> tuple[SymbolRemedy, ...]:
    """The knowledge base's remedy for each symbol; kind "unknown" when it has none."""
    knowledge = load_knowledge(list(extra_files))
    out = []
    for s in symbols:
        lib = libraries.get(s)
        r = knowledge.lookup(s, lib)
        if r is None:
            out.append(SymbolRemedy(symbol=s, library=lib))
            continue
        repl = tuple(f"{x.symbol} ({x.library})" if x.library else x.symbol
                     for x in r.replacements)
        out.append(SymbolRemedy(symbol=s, library=lib or r.library, kind=r.kind,
                                rationale=r.rationale or "", replacements=repl,
                                origin=r.origin))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------


def source_root(source: str | None, source_package: str | None, cache_dir: str | None,
                note: Callable[[str], None] = _ignore, *, directory: bool = False
                ) -> str | None:
    """The source tree: ``source``, or the Debian source package fetched with apt (cached);
    ``directory``: ``source`` must be a directory (not one file)."""
    if source and source_package:
        raise UsageError("give either --source or --source-package, not both")
    if source:
        if directory and not os.path.isdir(source):
            raise UsageError(f"--source {source}: not a directory")
        if not os.path.exists(source):
            raise UsageError(f"--source {source}: no such file or directory")
        return source
    if source_package:
        return str(fetch_source_package(source_package, cache_dir, log=note))
    return None


def _binary_sites(request: WhereRequest, symbols: set[str] | None, notes: list[str]
                  ) -> tuple[list[CallSite], list[InputError]]:
    files = [p for p in request.inputs if os.path.isfile(p) and not p.endswith(".deb")]
    skipped = [p for p in request.inputs if p not in files]
    if skipped:
        notes.append("binary call sites are searched in ELF files given by path only; not in "
                     + ", ".join(skipped))
    sites: list[CallSite] = []
    errors: list[InputError] = []
    for path in files:
        try:
            sites += find_binary_callsites(path, symbols, list(request.debug_dirs))
        except InputFileError as exc:
            errors.append(InputError(path, exc.message))
    return sites, errors


RANK = {"source": 0, "object": 1, "binary": 2, "link": 3}
"""The order of the sites of one symbol: sources first."""


def find(request: WhereRequest, *, note: Callable[[str], None] = _ignore,
         progress: Callable[[str], None] | None = None) -> WhereResult:
    """Every place that references the target symbols. ``note`` hears what fetching a source
    package does; ``progress`` the source scan's progress."""
    macros = build_macros(list(request.defines), list(request.undefines),
                          list(request.config_headers))  # usage errors first
    features: dict[str, tuple[str, ...]] = {}
    if request.features:
        features = load_features(request.features)
    without = list(request.without)
    if request.without_features:
        without += resolve_feature_globs(request.without_features, features, request.features)
    if not (request.source or request.source_package or request.objects or request.inputs):
        raise UsageError("nothing to search: give --source DIR, --source-package NAME, "
                         "--objects FILE… or BINARY inputs")
    if request.source and not os.path.exists(request.source):
        raise UsageError(f"--source {request.source}: no such file or directory")
    targets, libraries, audit, notes = collect_targets(request)
    given = bool(request.symbols or request.symbols_from or request.headers or request.inputs)
    if not targets and (request.source or request.source_package or request.inputs):
        if request.inputs:
            notes.append("the BINARY inputs import no unstable/private symbols: nothing to "
                         "search for")
        elif not given:
            raise UsageError("no target symbols: give --symbol, --symbols-from, --headers or "
                             "BINARY inputs")
    callsites: list[CallSite] = []
    errors: list[InputError] = list(audit.errors) if audit is not None else []
    root = source_root(request.source, request.source_package, request.cache_dir, note)
    scan: SourceScan | None = None
    if root is not None and targets:
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
    if request.objects:
        sites, errs = find_object_references(list(request.objects), symbols)
        callsites += sites
        errors += errs
    if request.inputs:
        sites, errs = _binary_sites(request, symbols, notes)
        callsites += sites
        errors += errs
    impact = None
    if without:
        wrappers = scan.wrappers if scan is not None else ()
        # A binary is the whole link: its sites cannot say which sources they came from, so
        # only source, object and link sites decide what remains without some sources.
        roots = [s for s in callsites
                 if s.method != "binary" and not inside_wrapper(s, wrappers)]
        impact = feature_impact(roots, targets, without, request.without_features)
    callsites.sort(key=lambda s: (s.symbol, RANK.get(s.method, 9), s.file, s.line or 0,
                                  s.column or 0, s.address or 0, s.via or ""))
    configuration = tuple([f"-D{d}" for d in request.defines]
                          + [f"-U{u}" for u in request.undefines]
                          + [f"--config-header={c}" for c in request.config_headers])
    return WhereResult(
        targets=tuple(targets),
        callsites=tuple(callsites),
        source_root=os.path.abspath(root) if root else None,
        wrappers=scan.wrappers if scan is not None else (),
        impact=impact,
        remedies=lookup_remedies(targets, libraries, request.remedies),
        configuration=configuration,
        files_scanned=scan.files_scanned if scan is not None else 0,
        files_parsed=scan.files_parsed if scan is not None else 0,
        parse_error_files=scan.parse_error_files if scan is not None else (),
        inputs=tuple(request.inputs) + tuple(request.objects),
        errors=tuple(errors),
        notes=tuple(notes),
        audit=audit,
        tool_version=__version__,
    )


# --------------------------------------------------------------------------------------------
# The call sites of a plan's steps
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSites:
    """Where ``plan`` looks for each step's call sites."""

    source_root: str | None = None
    macros: Macros | None = None
    """-D/-U/--config-header, deciding #if branches (None: not given)."""
    objects: tuple[str, ...] = ()
    binary: bool = False
    """Disassemble the scanned binaries."""

    @property
    def wanted(self) -> bool:
        return bool(self.source_root or self.objects or self.binary)


def plan_sites(where: PlanSites, *, error: Callable[[InputError], None] = lambda _e: None,
               note: Callable[[str], None] = _ignore) -> CallSiteProvider | None:
    """The call sites of each scanned target's unstable symbols (None: none asked for).
    ``error`` hears each object file that could not be read, ``note`` a binary that could
    not be disassembled."""
    if not where.wanted:
        return None

    def provide(target: Target, symbols: set[str]) -> list[CallSite]:
        sites: list[CallSite] = []
        if where.source_root:
            sites += scan_sources(where.source_root, symbols, where.macros).callsites
        if where.objects:
            found, errors = find_object_references(list(where.objects), symbols)
            sites += found
            for e in errors:
                error(e)
        if where.binary and target.elf.member is None:
            try:
                sites += find_binary_callsites(target.elf.path, symbols)
            except ElfError as exc:
                note(f"no binary call sites: {exc}")
        return sites

    return provide


__all__ = ["RANK", "PlanSites", "WhereRequest", "check_missing_libraries", "collect_targets", "find",
           "lookup_remedies", "plan_sites", "read_symbols_file", "source_root"]
