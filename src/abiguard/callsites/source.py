"""Where target symbols are referenced in C (and, roughly, C++) sources — without a build.

How it works
------------
1. **Text pre-filter.** Every C/C++ source and header under the root (hidden directories such
   as ``.git`` and quilt's ``.pc`` skipped) is searched for the names of interest with one
   compiled regular expression (a trie of the names), so only the few files that mention a
   name are parsed.
2. **tree-sitter.** Each matching file is parsed with tree-sitter-c (error tolerant: a file
   with parse errors is still scanned and counted). For every textual match, the syntax node
   under it says what it is: a call (``xc_foo(...)``), an address taken / function pointer
   (``&xc_foo``, ``p = xc_foo``, an argument or initializer), a use inside a macro body
   (``#define SHUTDOWN(x) xc_domain_shutdown(x, 0)``), or nothing (a comment, a string, a
   declaration of the name itself, a struct member, an ``#if`` expression).
3. **Conditions.** A line-based pass over the preprocessor directives gives the condition each
   line sits under: nested conditions joined with ``&&``, ``#else``/``#elif`` branches
   negated, ``#ifdef X`` as ``defined(X)``; include guards are recognised and left out. With
   a macro environment (``-D``/``--config-header``) each condition is evaluated by
   :mod:`.cpp_expr` and ``CallSite.compiled`` says whether the reference is compiled.
4. **Wrappers.** A macro whose body references a target, or a static/inline function defined
   in a header that does, is a *wrapper*: it produces a reference only where it is used. Its
   names are searched for in turn (to a fixed point, so wrappers of wrappers work), and every
   use of a wrapper yields one ``CallSite`` per target it reaches, with ``via`` = the wrapper
   and a condition that combines the use site's condition with the conditions under which the
   wrapper reaches the target (the wrapper may have several definitions, one per ``#if``
   branch).

Sites *inside* wrappers are reported too (``kind="macro"`` with ``via`` = the macro for a macro
body; ``function`` = the wrapper for an inline function), but :func:`inside_wrapper` tells them
apart from the *root* sites that decide whether a program ends up importing a symbol.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import cparse
from ..cparse import defined_function, file_scope, function_declarator, is_cpp, text
from ..errors import InputFileError, UsageError
from ..model import CallSite, CallSiteKind
from .conditions import (
    Dnf,
    Term,
    conjoin,
    evaluate_dnf,
    line_conditions,
    render_dnf,
    render_term,
    simplify,
)
from .cpp_expr import Macros

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

C_SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".c++", ".inc", ".m")
HEADER_SUFFIXES = (".h", ".hh", ".hpp", ".hxx", ".h++", ".inl", ".tcc")
MAX_FILE_SIZE = 32 * 1024 * 1024



# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Wrapper:
    """A macro or static/inline header function through which targets are referenced."""

    name: str
    kind: str
    """macro | inline"""
    file: str
    line: int
    condition: str | None = None
    """The condition the definition sits under (one definition per record)."""
    symbols: tuple[str, ...] = ()
    """The target symbols it reaches (directly or through other wrappers)."""


@dataclass(frozen=True, slots=True)
class SourceScan:
    """What a source scan found."""

    root: str
    callsites: tuple[CallSite, ...] = ()
    wrappers: tuple[Wrapper, ...] = ()
    files_scanned: int = 0
    files_parsed: int = 0
    parse_error_files: tuple[str, ...] = ()
    configured: bool = False
    """True when -D/--config-header values were given (``compiled`` is evaluated)."""


def inside_wrapper(site: CallSite, wrappers: Iterable[Wrapper]) -> bool:
    """True for a site inside a wrapper's definition (accounted for at the wrapper's uses)."""
    if site.method != "source":
        return False
    if site.kind == "macro":
        return True
    return any(w.kind == "inline" and w.name == site.function and w.file == site.file
               for w in wrappers)


def root_sites(scan: SourceScan) -> list[CallSite]:
    """Sites that make a program import the symbol when their file is built."""
    inline = {(w.name, w.file) for w in scan.wrappers if w.kind == "inline"}
    return [s for s in scan.callsites
            if not (s.kind == "macro" or (s.function, s.file) in inline)]


# --------------------------------------------------------------------------------------------
# Name search
# --------------------------------------------------------------------------------------------


_Trie = dict[str, "_Trie"]


def _trie_pattern(names: Iterable[str]) -> str:
    trie: _Trie = {}
    for name in names:
        node = trie
        for ch in name:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: _Trie) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if end:
            return f"(?:{body})?"
        return body

    return build(trie)


def names_regex(names: Iterable[str]) -> re.Pattern[bytes] | None:
    """One regex matching any of the names as a whole C identifier."""
    names = sorted({n for n in names if n})
    if not names:
        return None
    pat = _trie_pattern(names)
    # No look-behind: a pattern that starts with a literal (the names' common prefix, such as
    # "xc_") lets the regex engine skip ahead fast. The preceding byte is checked by the caller
    # (iter_name_matches).
    return re.compile(rb"(?:" + pat.encode() + rb")(?![A-Za-z0-9_$])")


_IDENT_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$")


def iter_name_matches(rx: re.Pattern[bytes], src: bytes) -> Iterator[re.Match[bytes]]:
    """Matches of a names_regex that are whole identifiers."""
    for m in rx.finditer(src):
        start = m.start()
        if start == 0 or src[start - 1] not in _IDENT_BYTES:
            yield m


def mentions(rx: re.Pattern[bytes], src: bytes) -> bool:
    return next(iter_name_matches(rx, src), None) is not None


def iter_source_files(root: Path) -> Iterator[Path]:
    """C/C++ sources and headers under root (hidden directories skipped), sorted."""
    for rel in _relative_source_files(root):
        yield root / rel if rel else root


def _is_c_name(fn: str) -> bool:
    low = fn.lower()
    return low.endswith(C_SOURCE_SUFFIXES) or low.endswith(HEADER_SUFFIXES) or \
        fn.endswith((".C", ".H"))


def _relative_source_files(root: Path) -> list[str]:
    """Posix paths relative to root ("" for root itself when it is a file)."""
    if root.is_file():
        return [""]
    out: list[str] = []
    top = str(root)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        reldir = os.path.relpath(dirpath, top)
        prefix = "" if reldir == "." else reldir.replace(os.sep, "/") + "/"
        out.extend(prefix + fn for fn in sorted(filenames) if _is_c_name(fn))
    return out


def is_header(path: str) -> bool:
    return path.lower().endswith(HEADER_SUFFIXES) or path.endswith(".H")


# --------------------------------------------------------------------------------------------
# tree-sitter
# --------------------------------------------------------------------------------------------

def parse(src: bytes, lang: str = "c") -> Tree:
    """The tree of a C (``lang="cpp"``: C++) file (:mod:`abiguard.cparse`)."""
    return cparse.parse(src, lang, needed_for="source scanning")


_DECLARATOR_WRAPPERS = {"function_declarator", "pointer_declarator", "array_declarator",
                        "parenthesized_declarator", "attributed_declarator", "init_declarator",
                        "reference_declarator"}
_DECLARATION_OWNERS = {"declaration", "function_definition", "field_declaration",
                       "parameter_declaration", "type_definition", "optional_parameter_declaration",
                       "template_declaration"}
_SKIP_CONTEXT = {"preproc_include", "preproc_call", "preproc_defined", "preproc_params",
                 "comment", "string_literal", "char_literal", "system_lib_string",
                 "concatenated_string", "raw_string_literal"}
_STRINGISH = {"comment", "string_content", "string_literal", "escape_sequence", "char_literal",
              "system_lib_string", "raw_string_content", "character"}
_IDENT_TYPES = {"identifier", "type_identifier"}
_STORAGE = re.compile(rb"\b(static|inline|__inline|__inline__)\b")


def function_name(fdef: Node) -> str | None:
    """The name a function_definition defines."""
    return defined_function(fdef)


def _is_field(parent: Node, field_name: str, node: Node) -> bool:
    return any(c == node for c in parent.children_by_field_name(field_name))


@dataclass(frozen=True, slots=True)
class _Occ:
    name: str
    file: str
    line: int
    column: int
    kind: CallSiteKind
    function: str | None
    container: tuple[str, str] | None
    """("macro", NAME) or ("inline", NAME): the wrapper definition the occurrence sits in."""
    term: Term


class _File:
    """One parsed source file with what the scan needs from it."""

    def __init__(self, rel: str, src: bytes) -> None:
        self.rel = rel
        self.src = src
        self.header = is_header(rel)
        self.tree = parse(src, "cpp" if is_cpp(rel) else "c")
        self.has_error = self.tree.root_node.has_error
        self.line_starts = [0] + [m.end() for m in re.finditer(rb"\n", src)]
        self.terms = line_conditions(src)
        self.wrapper_defs: dict[tuple[str, str, int], Term] = {}
        """(kind, name, definition line) -> the condition the definition sits under."""

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and character column of a byte offset."""
        row = bisect.bisect_right(self.line_starts, offset) - 1
        col = len(self.src[self.line_starts[row]:offset].decode("utf-8", "replace")) + 1
        return row + 1, col

    def term(self, line: int) -> Term:
        return self.terms[line - 1] if 0 < line <= len(self.terms) else ()

    def occurrences(self, rx: re.Pattern[bytes]) -> list[_Occ]:
        out = []
        root = self.tree.root_node
        for m in iter_name_matches(rx, self.src):
            start, end = m.span()
            name = m.group().decode("ascii", "replace")
            node = root.descendant_for_byte_range(start, end)
            if node is None or node.type in _STRINGISH:
                continue
            if node.type == "preproc_arg":
                occ = self._macro_body(node, name, start)
            elif node.start_byte == start and node.end_byte == end:
                occ = self._code(node, name, start)
            else:
                occ = self._fallback(node, name, start, end)
            if occ is not None:
                out.append(occ)
        return out

    # -- a match inside a #define body
    def _macro_body(self, arg: Node, name: str, start: int) -> _Occ | None:
        parent = arg.parent
        if parent is None or parent.type not in ("preproc_def", "preproc_function_def"):
            return None
        body = self.src[arg.start_byte:arg.end_byte]
        rel = start - arg.start_byte
        if _in_literal_or_comment(body, rel):
            return None
        if rel > 0 and body[rel - 1:rel] == b"#" and body[rel - 2:rel] != b"##":
            return None  # stringified
        params = parent.child_by_field_name("parameters")
        if params is not None and name in {text(c) for c in params.named_children}:
            return None
        name_node = parent.child_by_field_name("name")
        macro = text(name_node) if name_node else "?"
        line, col = self.position(start)
        dline, _ = self.position(parent.start_byte)
        self.wrapper_defs.setdefault(("macro", macro, dline), self.term(dline))
        return _Occ(name, self.rel, line, col, "macro", None, ("macro", macro), self.term(line))

    # -- a match that is exactly one syntax node
    def _code(self, node: Node, name: str, start: int) -> _Occ | None:
        if node.type not in _IDENT_TYPES:
            if node.type in ("field_identifier", "statement_identifier", "primitive_type",
                             "namespace_identifier"):
                return None
            return self._fallback(node, name, start, node.end_byte)
        kind: CallSiteKind = "address"
        # C++: ::xc_foo(…) and ns::xc_foo(…) are calls of the qualified name
        while node.parent is not None and node.parent.type == "qualified_identifier" and \
                _is_field(node.parent, "name", node):
            node = node.parent
        parent = node.parent
        if parent is not None:
            if parent.type == "call_expression" and _is_field(parent, "function", node):
                kind = "call"
            elif node.type == "type_identifier":
                kind = "call" if self._followed_by_paren(node.end_byte) else "reference"
        # climb: declared names, preprocessor conditions, enclosing function
        child, cur = node, parent
        chain = True
        fdef = None
        while cur is not None:
            t = cur.type
            if t in _SKIP_CONTEXT:
                return None
            if t in ("preproc_if", "preproc_elif") and _is_field(cur, "condition", child):
                return None
            if t in ("preproc_ifdef", "preproc_elifdef") and _is_field(cur, "name", child):
                return None
            if t in ("preproc_def", "preproc_function_def") and _is_field(cur, "name", child):
                return None
            if chain:
                if t in _DECLARATOR_WRAPPERS and _is_field(cur, "declarator", child):
                    pass
                elif t in _DECLARATION_OWNERS and _is_field(cur, "declarator", child):
                    return None  # the name being declared or defined
                else:
                    chain = False
            if t == "function_definition" and fdef is None:
                fdef = cur
            child, cur = cur, cur.parent
        return self._make(name, start, kind, fdef)

    def _fallback(self, node: Node, name: str, start: int, end: int) -> _Occ | None:
        """A match inside an ERROR node or an odd token: a plain reference."""
        cur: Node | None = node
        fdef = None
        while cur is not None:
            if cur.type in _SKIP_CONTEXT or cur.type in _STRINGISH:
                return None
            if cur.type == "function_definition" and fdef is None:
                fdef = cur
            cur = cur.parent
        kind: CallSiteKind = "call" if self._followed_by_paren(end) else "reference"
        return self._make(name, start, kind, fdef)

    def _followed_by_paren(self, end: int) -> bool:
        rest = self.src[end:end + 200].lstrip()
        return rest.startswith(b"(")

    def _make(self, name: str, start: int, kind: CallSiteKind, fdef: Node | None) -> _Occ:
        line, col = self.position(start)
        function = function_name(fdef) if fdef is not None else None
        container = None
        if fdef is not None and function and self.header:
            declarator = fdef.child_by_field_name("declarator")
            head = self.src[fdef.start_byte:declarator.start_byte] if declarator is not None \
                else b""
            if _STORAGE.search(head):
                container = ("inline", function)
                dline, _ = self.position(fdef.start_byte)
                self.wrapper_defs.setdefault(("inline", function, dline), self.term(dline))
        return _Occ(name, self.rel, line, col, kind, function, container, self.term(line))


def _in_literal_or_comment(body: bytes, pos: int) -> bool:
    for m in re.finditer(rb'"(?:\\.|[^"\\\n])*"?|\'(?:\\.|[^\'\\\n])*\'?|/\*.*?(?:\*/|$)|//[^\n]*',
                         body, re.DOTALL):
        if m.start() <= pos < m.end():
            return True
        if m.start() > pos:
            break
    return False


# --------------------------------------------------------------------------------------------
# The scan
# --------------------------------------------------------------------------------------------


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read source file: {exc.strerror}") from None
    return data if len(data) <= MAX_FILE_SIZE else b""


def scan_sources(
    root: str | os.PathLike[str],
    targets: Iterable[str],
    macros: Macros | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> SourceScan:
    """Find every reference to ``targets`` under ``root`` (a directory or one file).

    ``macros`` (from :func:`.cpp_expr.build_macros`) decides ``CallSite.compiled``; without
    it (or unconfigured) only constant conditions such as ``#if 0`` are decided.
    Raises UsageError for a missing root, InputFileError for an unreadable file.
    """
    rootp = Path(root)
    if not rootp.exists():
        raise UsageError(f"--source {root}: no such file or directory")
    if not (rootp.is_dir() or rootp.is_file()):
        raise UsageError(f"--source {root}: not a directory or file")
    base = rootp if rootp.is_dir() else rootp.parent
    targets = sorted(set(targets))
    rels = _relative_source_files(rootp)
    say = progress or (lambda _m: None)

    parsed: dict[str, _File] = {}
    occs: dict[str, list[_Occ]] = {}
    interest: set[str] = set(targets)
    pending: set[str] = set(targets)
    wrapper_names: set[str] = set()
    # definitions: name -> list of (kind, file, line, term)
    definitions: dict[str, list[tuple[str, str, int, Term]]] = {}
    rounds = 0
    while pending and rounds < 16:
        rounds += 1
        rx = names_regex(pending)
        if rx is None:
            break
        say(f"searching {len(rels)} files for {len(pending)} names")
        new_files: list[_File] = []
        for rel in rels:
            if rel in parsed:
                continue
            src = _read(os.path.join(base, rel) if rel else rootp)
            if not mentions(rx, src):
                continue
            f = _File(rel or rootp.name, src)
            parsed[rel] = f
            new_files.append(f)
        # new files: all names of interest so far; old files: the pending names only
        all_rx = names_regex(interest)
        found: list[_Occ] = []
        for f in parsed.values():
            found.extend(f.occurrences(all_rx if f in new_files else rx))  # type: ignore[arg-type]
        for o in found:
            occs.setdefault(o.name, []).append(o)
        # wrappers that reference something of interest
        new_wrappers: set[str] = set()
        for f in parsed.values():
            for (kind, wname, dline), term in f.wrapper_defs.items():
                defs = definitions.setdefault(wname, [])
                entry = (kind, f.rel, dline, term)
                if entry not in defs:
                    defs.append(entry)
                if wname not in interest:
                    new_wrappers.add(wname)
        wrapper_names |= new_wrappers
        interest |= new_wrappers
        pending = new_wrappers
    target_set = set(targets)
    # a target that is also a wrapper name (a macro named like the function) stays a target
    wrapper_names -= target_set

    # ---- what each wrapper reaches, under which conditions
    by_container: dict[str, list[_Occ]] = {}
    for lst in occs.values():
        for o in lst:
            if o.container is not None:
                by_container.setdefault(o.container[1], []).append(o)
    reach: dict[str, dict[str, Dnf]] = {w: {} for w in wrapper_names}
    for _ in range(32):
        changed = False
        for w in wrapper_names:
            acc: dict[str, list[Term]] = {}
            for o in by_container.get(w, ()):
                if o.name in target_set:
                    acc.setdefault(o.name, []).append(o.term)
                elif o.name in wrapper_names and o.name != w:
                    for t, dnf in reach[o.name].items():
                        acc.setdefault(t, []).extend(conjoin(o.term, term) for term in dnf)
            new = {t: simplify(v) for t, v in acc.items()}
            if new != reach[w]:
                reach[w] = new
                changed = True
        if not changed:
            break

    # ---- call sites
    sites: dict[tuple[object, ...], CallSite] = {}

    def add(symbol: str, o: _Occ, dnf: Dnf, via: str | None) -> None:
        condition = render_dnf(dnf)
        compiled = evaluate_dnf(dnf, macros)
        if o.kind == "macro":
            via = via or (o.container[1] if o.container else None)
        cs = CallSite(symbol=symbol, method="source", file=o.file, kind=o.kind, line=o.line,
                      column=o.column, function=o.function, condition=condition,
                      compiled=compiled, via=via)
        sites.setdefault((symbol, o.file, o.line, o.column, via), cs)

    for t in target_set:
        for o in occs.get(t, ()):
            add(t, o, (o.term,), None)
    for w in wrapper_names:
        for o in occs.get(w, ()):
            if o.container is not None and o.container[1] == w:
                continue  # recursion inside the wrapper itself
            for t, dnf in reach[w].items():
                combined = simplify(conjoin(o.term, term) for term in dnf)
                if combined:
                    add(t, o, combined, w)
    callsites = tuple(sorted(sites.values(), key=lambda s: (s.symbol, s.file, s.line or 0,
                                                             s.column or 0, s.via or "")))
    wrappers = []
    for w in sorted(wrapper_names):
        for kind, file, dline, term in definitions.get(w, ()):
            if not reach[w]:
                continue
            wrappers.append(Wrapper(name=w, kind=kind, file=file, line=dline,
                                    condition=render_term(term), symbols=tuple(sorted(reach[w]))))
    return SourceScan(
        root=str(rootp),
        callsites=callsites,
        wrappers=tuple(wrappers),
        files_scanned=len(rels),
        files_parsed=len(parsed),
        parse_error_files=tuple(sorted(f.rel for f in parsed.values() if f.has_error)),
        configured=bool(macros and macros.configured),
    )


# --------------------------------------------------------------------------------------------
# Targets from headers
# --------------------------------------------------------------------------------------------

def declared_functions_in(src: bytes) -> list[str]:
    """Names of the functions a header declares (prototypes; definitions are not imports)."""
    names: list[str] = []
    macros: set[str] = set()
    for item in file_scope(parse(src).root_node):
        if item.type == "declaration":
            for d in item.children_by_field_name("declarator"):
                found = function_declarator(d)
                if found is not None:
                    names.append(text(found[1]))
        elif item.type in ("preproc_def", "preproc_function_def"):
            name_node = item.child_by_field_name("name")
            if name_node is not None:
                macros.add(text(name_node))
    # a macro used like a function in a declaration is not a function
    return sorted(set(names) - macros)


def declared_functions(paths: Iterable[str]) -> list[str]:
    """Functions declared in the given headers or directories of headers."""
    names: set[str] = set()
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise UsageError(f"--headers {p}: no such file or directory")
        files = [f for f in iter_source_files(path) if is_header(f.name)] if path.is_dir() \
            else [path]
        for f in files:
            names.update(declared_functions_in(_read(f)))
    return sorted(names)


__all__ = ["SourceScan", "Wrapper", "declared_functions", "declared_functions_in",
           "function_name", "inside_wrapper", "iter_source_files", "mentions", "names_regex",
           "parse", "root_sites", "scan_sources"]
