"""Comparing results: the diff of two audits, the trend over versions, the baseline gate.

* :func:`diff_audits` matches consumers of two audits (installed path, then the longest
  common path suffix, then soname) and sorts every unstable/private symbol of each pair into
  *added*, *removed*, *moved* (now taken from another library, or replaced by the stable
  replacement the remedies knowledge base names) and *unchanged*. A symbol bound to the same
  library family (the soname without its release: ``libxenctrl.so.4.17`` and
  ``libxenctrl.so.4.20`` are family ``libxenctrl``) under another version node
  (``VERS_4.17.0`` -> ``libxenctrl_4.20.0``) is unchanged with change ``renamed-node``: the
  program uses the same function, only the library's naming scheme moved.
* :func:`trend` counts the unstable/private symbols of each consumer over several audits.
* :class:`Baseline` is the gate's ratchet file (TOML, docs/gate.md); :func:`gate` compares
  an audit against it and :func:`updated_baseline` computes the rewritten file.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import DataFileError
from .limits import toml_loads
from .model import SCHEMA_VERSION, Audit, Binding, Consumer, InputError, Stability

# --------------------------------------------------------------------------------------------
# Library families
# --------------------------------------------------------------------------------------------

_SO = re.compile(r"\.so(\.[0-9][0-9A-Za-z.+_-]*)?$")


def family(soname: str | None) -> str:
    """The library without its release: ``libxenctrl.so.4.17`` -> ``libxenctrl``;
    ``libc.so.6`` -> ``libc``; ``ld-linux-x86-64.so.2`` -> ``ld-linux-x86-64``.
    A name without ``.so`` is its own family."""
    if not soname:
        return "?"
    base = os.path.basename(soname)
    m = _SO.search(base)
    return base[: m.start()] if m else base


def problem_bindings(c: Consumer) -> dict[str, Binding]:
    """Unstable/private imports of a consumer by symbol name (first binding wins): bound,
    or unresolved from a library that was not found and is classified by its name."""
    out: dict[str, Binding] = {}
    for b in (*c.findings, *c.presumed):
        out.setdefault(b.symbol.name, b)
    return out


def _unresolved_names(c: Consumer | None) -> set[str]:
    """The imports of a consumer with libraries not found that stay unresolved: what it
    uses of them is unknown, so none of them was added or removed."""
    if c is None or not c.missing_libraries:
        return set()
    return {b.symbol.name for b in c.bindings if b.status == "unresolved"}


def bound_bindings(c: Consumer) -> dict[str, Binding]:
    out: dict[str, Binding] = {}
    for b in c.bindings:
        if b.status == "bound":
            out.setdefault(b.symbol.name, b)
    return out


def node_of(b: Binding) -> str | None:
    return b.provided_version or b.symbol.version


def copy_bindings(c: Consumer) -> dict[str, Binding]:
    """The bound copy relocations of a consumer by symbol name (first binding wins)."""
    out: dict[str, Binding] = {}
    for b in c.copies:
        out.setdefault(b.symbol.name, b)
    return out


# --------------------------------------------------------------------------------------------
# Matching consumers
# --------------------------------------------------------------------------------------------


def _parts(c: Consumer) -> list[str]:
    return [p for p in c.path.replace("\\", "/").split("/") if p and p != "."]


def _common_suffix(a: list[str], b: list[str]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def match_consumers(old: Iterable[Consumer], new: Iterable[Consumer]
                    ) -> list[tuple[Consumer | None, Consumer | None, str]]:
    """Pairs (old, new, how): how is ``path`` (same installed path and member), ``suffix``
    (longest common trailing path, at least the directory and name), ``basename``,
    ``soname``, ``only-old`` or ``only-new``. Ambiguous fallbacks (two equally good
    candidates) are not matched."""
    olds, news = list(old), list(new)
    pairs: list[tuple[Consumer | None, Consumer | None, str]] = []
    used_old: set[int] = set()
    used_new: set[int] = set()
    by_name: dict[str, list[int]] = {}
    for j, n in enumerate(news):
        by_name.setdefault(n.display_name, []).append(j)
    for i, o in enumerate(olds):
        for j in by_name.get(o.display_name, []):
            if j not in used_new:
                pairs.append((o, news[j], "path"))
                used_old.add(i)
                used_new.add(j)
                break
    # Fallback 1: longest common path suffix (>= the basename), unique on both sides.
    scored = []
    for i, o in enumerate(olds):
        if i in used_old:
            continue
        for j, n in enumerate(news):
            if j in used_new or o.member != n.member:
                continue
            k = _common_suffix(_parts(o), _parts(n))
            if k:
                scored.append((k, i, j))
    scored.sort(key=lambda t: -t[0])
    for k, i, j in scored:
        if i in used_old or j in used_new:
            continue
        rivals = [t for t in scored if t[0] == k and (t[1] == i) != (t[2] == j)
                  and t[1] not in used_old and t[2] not in used_new]
        if rivals:
            continue
        pairs.append((olds[i], news[j], "basename" if k == 1 else "suffix"))
        used_old.add(i)
        used_new.add(j)
    # Fallback 2: soname.
    for i, o in enumerate(olds):
        if i in used_old or not o.soname:
            continue
        cands = [j for j, n in enumerate(news) if j not in used_new and n.soname == o.soname]
        if len(cands) == 1:
            pairs.append((o, news[cands[0]], "soname"))
            used_old.add(i)
            used_new.add(cands[0])
    pairs += [(o, None, "only-old") for i, o in enumerate(olds) if i not in used_old]
    pairs += [(None, n, "only-new") for j, n in enumerate(news) if j not in used_new]
    return pairs


# --------------------------------------------------------------------------------------------
# Diff
# --------------------------------------------------------------------------------------------

CHANGES = ("added", "removed", "moved", "unchanged", "renamed-node", "resized")


@dataclass(frozen=True, slots=True)
class SymbolDelta:
    """One unstable/private symbol of a consumer, before and after."""

    name: str
    change: str
    """added | removed | moved | unchanged | renamed-node (unchanged, other version node)."""
    old_library: str | None = None
    new_library: str | None = None
    old_version: str | None = None
    new_version: str | None = None
    old_stability: Stability | None = None
    new_stability: Stability | None = None
    replacement: str | None = None
    """For ``moved``: the stable replacement (from the remedies knowledge base) the new
    version imports instead; None when the same symbol now comes from another library."""
    detail: str = ""
    old_size: int | None = None
    """For ``resized``: the size of the copied object in the library of the old side."""
    new_size: int | None = None
    """For ``resized``: its size in the library of the new side."""
    program_size: int | None = None
    """For ``resized``: the size the new side's program reserved for it (copy relocation)."""

    @property
    def family(self) -> str:
        return family(self.new_library or self.old_library)


@dataclass(frozen=True, slots=True)
class ConsumerDiff:
    consumer: str
    """The consumer's path (the new one when both exist)."""
    matched_by: str
    """path | suffix | basename | soname | only-old | only-new."""
    old_path: str | None = None
    new_path: str | None = None
    old_package: str | None = None
    new_package: str | None = None
    old_count: int = 0
    """Unstable/private symbols before."""
    new_count: int = 0
    added: tuple[SymbolDelta, ...] = ()
    removed: tuple[SymbolDelta, ...] = ()
    moved: tuple[SymbolDelta, ...] = ()
    unchanged: tuple[SymbolDelta, ...] = ()
    """Includes the ``renamed-node`` ones."""
    resized: tuple[SymbolDelta, ...] = ()
    """Copied data objects (copy relocations, any library) whose size changed between the
    libraries of the two sides, or differs from what the new side's program reserved: an ABI
    break (the size is fixed in the program at link time)."""

    @property
    def renamed(self) -> tuple[SymbolDelta, ...]:
        return tuple(d for d in self.unchanged if d.change == "renamed-node")

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.moved or self.resized)


@dataclass(frozen=True, slots=True)
class DiffResult:
    """abiguard diff: JSON ``kind: "diff"``."""

    old: str
    """Label of the old side (input or package version)."""
    new: str
    consumers: tuple[ConsumerDiff, ...] = ()
    old_inputs: tuple[str, ...] = ()
    new_inputs: tuple[str, ...] = ()
    errors: tuple[InputError, ...] = ()
    notes: tuple[str, ...] = ()
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "diff"

    @property
    def added(self) -> list[tuple[ConsumerDiff, SymbolDelta]]:
        return [(c, d) for c in self.consumers for d in c.added]

    @property
    def resized(self) -> list[tuple[ConsumerDiff, SymbolDelta]]:
        return [(c, d) for c in self.consumers for d in c.resized]

    def totals(self) -> dict[str, int]:
        return {
            "added": sum(len(c.added) for c in self.consumers),
            "removed": sum(len(c.removed) for c in self.consumers),
            "moved": sum(len(c.moved) for c in self.consumers),
            "unchanged": sum(len(c.unchanged) for c in self.consumers),
            "renamed-node": sum(len(c.renamed) for c in self.consumers),
            "resized": sum(len(c.resized) for c in self.consumers),
        }

    def render_text(self, con: Any, verbose: int = 0) -> None:
        from .commands.diff import render_diff_text

        render_diff_text(con, self, verbose)

    def render_markdown(self) -> str:
        from .commands.diff import render_diff_markdown

        return render_diff_markdown(self)


ReplacementLookup = Callable[[str, str | None], tuple[str, ...]]
"""(symbol, library soname) -> the stable replacement symbols a knowledge base names."""


def knowledge_replacements(remedies: Iterable[str] = ()) -> ReplacementLookup:
    """Replacement lookup from the remedies knowledge base (built-in + files)."""
    from .remedies import load_knowledge

    knowledge = load_knowledge(list(remedies))

    def lookup(symbol: str, library: str | None) -> tuple[str, ...]:
        r = knowledge.lookup(symbol, library)
        return tuple(x.symbol for x in r.replacements) if r else ()

    return lookup


def _no_replacements(_symbol: str, _library: str | None) -> tuple[str, ...]:
    return ()


def diff_consumers(old: Consumer | None, new: Consumer | None, matched_by: str,
                   replacements: ReplacementLookup = _no_replacements) -> ConsumerDiff:
    """Sort the unstable/private symbols of one consumer pair (either may be None)."""
    p_old = problem_bindings(old) if old else {}
    p_new = problem_bindings(new) if new else {}
    all_old = bound_bindings(old) if old else {}
    all_new = bound_bindings(new) if new else {}
    added, removed, moved, unchanged = [], [], [], []
    for name in sorted(set(p_old) | set(p_new)):
        o, n = p_old.get(name), p_new.get(name)
        if o is not None and n is not None:
            d = SymbolDelta(name, "unchanged", o.provider, n.provider, node_of(o), node_of(n),
                            o.stability, n.stability)
            if family(o.provider) != family(n.provider):
                moved.append(replace(d, change="moved",
                                     detail=f"now from {n.provider} ({n.stability.value})"))
                continue
            notes = []
            if node_of(o) != node_of(n) and node_of(o) and node_of(n):
                d = replace(d, change="renamed-node")
                notes.append(f"version node {node_of(o)} -> {node_of(n)}")
            if o.provider != n.provider:
                notes.append(f"library {o.provider} -> {n.provider}")
            if o.stability != n.stability:
                notes.append(f"{o.stability.value} -> {n.stability.value}")
            unchanged.append(replace(d, detail="; ".join(notes)))
        elif o is not None:
            other = all_new.get(name)
            if new is not None and other is not None:
                where = "another library" if family(other.provider) != family(o.provider) \
                    else "the same library"
                moved.append(SymbolDelta(
                    name, "moved", o.provider, other.provider, node_of(o), node_of(other),
                    o.stability, other.stability,
                    detail=f"now from {where}, {other.provider} ({other.stability.value})"))
                continue
            repl = [r for r in replacements(name, o.provider) if r in all_new]
            if new is not None and repl:
                b = all_new[repl[0]]
                moved.append(SymbolDelta(
                    name, "moved", o.provider, b.provider, node_of(o), node_of(b),
                    o.stability, b.stability, replacement=repl[0],
                    detail=f"replaced by {repl[0]} from {b.provider} ({b.stability.value})"))
                continue
            if name in _unresolved_names(new):
                # still imported: its library was not found on the new side (no verdict)
                unchanged.append(SymbolDelta(
                    name, "unchanged", o.provider, None, node_of(o), None, o.stability, None,
                    detail="still imported, unresolved in new (library not found)"))
                continue
            detail = "consumer gone" if new is None else "no longer imported"
            removed.append(SymbolDelta(name, "removed", o.provider, None, node_of(o), None,
                                       o.stability, None, detail=detail))
        else:
            assert n is not None
            if name in _unresolved_names(old):
                unchanged.append(SymbolDelta(
                    name, "unchanged", None, n.provider, None, node_of(n), None, n.stability,
                    detail="imported before too, unresolved in old (library not found)"))
                continue
            before = all_old.get(name)
            detail = "new consumer" if old is None else "newly imported"
            if before is not None:
                detail = f"was from {before.provider} ({before.stability.value})"
            added.append(SymbolDelta(
                name, "added", before.provider if before else None, n.provider,
                node_of(before) if before else None, node_of(n),
                before.stability if before else None, n.stability, detail=detail))
    return ConsumerDiff(
        consumer=(new or old).display_name,  # type: ignore[union-attr]
        matched_by=matched_by,
        old_path=old.display_name if old else None, new_path=new.display_name if new else None,
        old_package=old.package if old else None, new_package=new.package if new else None,
        old_count=len(p_old), new_count=len(p_new),
        added=tuple(added), removed=tuple(removed), moved=tuple(moved),
        unchanged=tuple(unchanged), resized=resized_copies(old, new))


def resized_copies(old: Consumer | None, new: Consumer | None) -> tuple[SymbolDelta, ...]:
    """The copied objects of the new side that break: the library's object changed size
    since the old side (a program linked against the old library reserved the old size), or
    it differs from what the new program reserved (ld.so warns and copies the smaller)."""
    if new is None:
        return ()
    before = copy_bindings(old) if old is not None else {}
    out = []
    for name, n in sorted(copy_bindings(new).items()):
        assert n.copy is not None
        o = before.get(name)
        old_size = o.copy.library_size if o is not None and o.copy is not None else None
        new_size, program = n.copy.library_size, n.copy.program_size
        changed = old_size is not None and new_size is not None and old_size != new_size
        mismatch = new_size is not None and new_size != program
        if not (changed or mismatch):
            continue
        notes = []
        if changed:
            where = (n.provider if o is None or o.provider == n.provider
                     else f"{o.provider} -> {n.provider}")
            notes.append(f"{where}: {old_size} -> {new_size} bytes")
        if mismatch:
            assert new_size is not None
            notes.append(f"the program reserved {program}: ld.so copies "
                         f"{min(program, new_size)} and warns (relink/rebuild the program)")
        else:
            notes.append(f"the program reserved {program} (rebuilt), a program linked "
                         f"against the old library reserved {old_size}")
        out.append(SymbolDelta(
            name, "resized", o.provider if o else None, n.provider,
            node_of(o) if o else None, node_of(n), o.stability if o else None,
            n.stability, detail="; ".join(notes),
            old_size=old_size, new_size=new_size, program_size=program))
    return tuple(out)


def audit_label(audit: Audit, fallback: str) -> str:
    """A short name for one side: the package version when all consumers share one."""
    versions = {c.package.split()[1] for c in audit.consumers
                if c.package and len(c.package.split()) >= 2}
    if len(versions) == 1:
        return versions.pop()
    return fallback


def diff_audits(old: Audit, new: Audit, *, old_label: str | None = None,
                new_label: str | None = None,
                replacements: ReplacementLookup = _no_replacements,
                only_problems: bool = True) -> DiffResult:
    """The diff of two audits. ``only_problems`` drops consumer pairs without any
    unstable/private symbol on either side (the many plain programs of a package)."""
    from . import __version__

    consumers = []
    for o, n, how in match_consumers(old.consumers, new.consumers):
        d = diff_consumers(o, n, how, replacements)
        if only_problems and not (d.old_count or d.new_count or d.resized):
            continue
        consumers.append(d)
    consumers.sort(key=lambda d: d.consumer)
    errors = tuple(InputError(f"old: {e.path}", e.message) for e in old.errors) + \
        tuple(InputError(f"new: {e.path}", e.message) for e in new.errors)
    from .missing import is_missing_line, missing_line

    missing = missing_line((*old.consumers, *new.consumers))
    notes = ((missing,) if missing else ()) + tuple(
        n for n in (*old.notes, *new.notes) if not is_missing_line(n))
    return DiffResult(
        old=old_label or audit_label(old, ", ".join(old.inputs) or "old"),
        new=new_label or audit_label(new, ", ".join(new.inputs) or "new"),
        consumers=tuple(consumers), old_inputs=old.inputs, new_inputs=new.inputs,
        errors=errors, notes=notes, tool_version=__version__)


# --------------------------------------------------------------------------------------------
# Trend
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrendRow:
    consumer: str
    counts: tuple[int | None, ...]
    """Unstable/private symbols per version (None: the consumer is not in that version)."""
    symbols: tuple[tuple[str, ...], ...] = ()
    """The symbol names per version."""


@dataclass(frozen=True, slots=True)
class TrendResult:
    """abiguard diff --trend: JSON ``kind: "trend"``."""

    labels: tuple[str, ...]
    rows: tuple[TrendRow, ...] = ()
    inputs: tuple[str, ...] = ()
    errors: tuple[InputError, ...] = ()
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "trend"

    def render_text(self, con: Any, verbose: int = 0) -> None:
        from .commands.diff import render_trend_text

        render_trend_text(con, self, verbose)

    def render_markdown(self) -> str:
        from .commands.diff import render_trend_markdown

        return render_trend_markdown(self)

    def svg(self) -> str:
        from .render.svg import bar_chart, line_chart

        series = {r.consumer: list(r.counts) for r in self.rows}
        title = "Unstable/private symbols per version"
        if len(series) == 1:
            title = f"{os.path.basename(self.rows[0].consumer)}: {title[0].lower()}{title[1:]}"
            return bar_chart(list(self.labels), series, title=title,
                             y_label="unstable/private symbols")
        return line_chart(list(self.labels), series, title=title,
                          y_label="unstable/private symbols")


def trend(audits: list[Audit], labels: list[str]) -> TrendResult:
    """Per consumer (matched version to version like diff), the count per version."""
    from . import __version__

    rows: list[list[Any]] = []  # [name, last consumer, counts, symbols]
    for k, a in enumerate(audits):
        previous = [r[1] for r in rows if r[1] is not None]
        pairs = match_consumers(previous, a.consumers)
        matched = {id(o): n for o, n, how in pairs if o is not None and n is not None}
        for r in rows:
            n = matched.get(id(r[1])) if r[1] is not None else None
            r[2].append(len(problem_bindings(n)) if n is not None else None)
            r[3].append(tuple(sorted(problem_bindings(n))) if n is not None else ())
            if n is not None:
                r[1] = n
        for o, n, how in pairs:
            if o is None and n is not None:
                p = problem_bindings(n)
                rows.append([n.display_name, n, [None] * k + [len(p)],
                             [()] * k + [tuple(sorted(p))]])
    errors = tuple(InputError(f"{labels[i]}: {e.path}", e.message)
                   for i, a in enumerate(audits) for e in a.errors)
    out = [TrendRow(r[0], tuple(r[2]), tuple(r[3])) for r in rows
           if any(x for x in r[2] if x)]
    return TrendResult(labels=tuple(labels), rows=tuple(out),
                       inputs=tuple(i for a in audits for i in a.inputs), errors=errors,
                       tool_version=__version__)


# --------------------------------------------------------------------------------------------
# Baseline
# --------------------------------------------------------------------------------------------

BASELINE_SCHEMA = 1
_BASELINE_HEADER = """\
# abiguard baseline: the ABI-unstable/private library symbols these programs may use.
# The gate fails when a program uses one that is not listed here (a ratchet: the list may
# only shrink). Keys: consumer (installed path of a package's file, path relative to this
# file's directory, or a name) -> library family (soname without its release) -> sorted
# symbols. Written by `abiguard gate --update-baseline`; see docs/gate.md.
"""


@dataclass(frozen=True, slots=True)
class Baseline:
    consumers: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    """consumer key -> library family -> sorted symbol names."""
    schema: int = BASELINE_SCHEMA

    def symbols(self, key: str) -> set[tuple[str, str]]:
        """(family, symbol) pairs of one consumer key."""
        return {(fam, s) for fam, syms in self.consumers.get(key, {}).items() for s in syms}

    @property
    def count(self) -> int:
        return sum(len(s) for libs in self.consumers.values() for s in libs.values())


def _toml_key(key: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    return _toml_str(key)


def _toml_str(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in out)
    return f'"{out}"'


def baseline_text(b: Baseline) -> str:
    """The TOML form: sorted, one symbol per line, no version nodes (an upgrade of the
    library does not change it)."""
    lines = [_BASELINE_HEADER, f"schema = {b.schema}", ""]
    for key in sorted(b.consumers):
        libs = b.consumers[key]
        lines.append(f"[consumers.{_toml_str(key)}]")
        for fam in sorted(libs):
            syms = sorted(set(libs[fam]))
            if not syms:
                continue
            lines.append(f"{_toml_key(fam)} = [")
            lines += [f"  {_toml_str(s)}," for s in syms]
            lines.append("]")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def parse_baseline(text: str, origin: str) -> Baseline:
    """Read a baseline; a DataFileError names the file and what is wrong."""
    data = toml_loads(text, origin, "invalid TOML")
    unknown = sorted(set(data) - {"schema", "consumers"})
    if unknown:
        raise DataFileError(origin, f"unknown key(s) {', '.join(unknown)} (expected schema, "
                                    "consumers)")
    if "schema" not in data:
        raise DataFileError(origin, "missing 'schema = 1'")
    schema = data["schema"]
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise DataFileError(origin, f"schema: expected an integer, got {_tname(schema)}")
    if schema != BASELINE_SCHEMA:
        raise DataFileError(origin, f"schema version {schema} is not supported (this abiguard "
                                    f"reads {BASELINE_SCHEMA})")
    consumers = data.get("consumers", {})
    if not isinstance(consumers, dict):
        raise DataFileError(origin, f"consumers: expected a table, got {_tname(consumers)}")
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for key, libs in consumers.items():
        where = f"consumers.{_toml_str(key)}"
        if not key:
            raise DataFileError(origin, f"{where}: empty consumer key")
        if not isinstance(libs, dict):
            raise DataFileError(origin, f"{where}: expected a table of library families, got "
                                        f"{_tname(libs)}")
        fams: dict[str, tuple[str, ...]] = {}
        for fam, syms in libs.items():
            w = f"{where}.{_toml_key(fam)}"
            if not isinstance(syms, list):
                raise DataFileError(origin, f"{w}: expected a list of symbol names, got "
                                            f"{_tname(syms)}")
            for i, s in enumerate(syms):
                if not isinstance(s, str) or not s:
                    raise DataFileError(origin, f"{w}[{i}]: expected a symbol name (string), "
                                                f"got {_tname(s)}")
                if "@" in s:
                    raise DataFileError(origin, f"{w}[{i}]: {s!r}: no version nodes in a "
                                                "baseline (write the bare symbol name)")
            fams[fam] = tuple(sorted(set(syms)))
        out[key] = fams
    return Baseline(out, schema)


def _tname(v: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
            list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


def load_baseline(path: str) -> Baseline:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise DataFileError(path, "no such baseline file (create it with --update-baseline)"
                            ) from None
    except OSError as exc:
        raise DataFileError(path, exc.strerror or str(exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(path, f"invalid TOML: not UTF-8 (byte {exc.start})") from None
    return parse_baseline(text, path)


def consumer_symbols(c: Consumer) -> dict[tuple[str, str], Binding]:
    """(family, symbol) -> binding of a consumer's unstable/private imports: the bound ones
    and those classified from the name of a library that was not found
    (``Binding.is_presumed_problem``; the gate refuses such consumers unless
    ``--allow-unresolved``)."""
    out: dict[tuple[str, str], Binding] = {}
    for b in (*c.findings, *c.presumed):
        out.setdefault((family(b.provider), b.symbol.name), b)
    return out


def consumer_key(c: Consumer, base_dir: str) -> str:
    """The baseline key a consumer is written under.

    A file of a package (.deb, apt name): its installed path (``/usr/libexec/…``). Any other
    file: its path relative to the baseline file's directory ``base_dir``, normalised
    (``./build/prog``, ``build//prog`` and ``/abs/repo/build/prog`` are all ``build/prog``
    for a baseline in ``/abs/repo``), or its absolute path when it lies outside that
    directory. Saved results name files relative to the directory they were scanned in:
    they are taken relative to the current directory. An archive member adds ``(member)``.
    """
    member = f"({c.member})" if c.member else ""
    if c.package:
        return c.path + member
    path = os.path.abspath(c.path)
    rel = os.path.relpath(path, os.path.abspath(base_dir))
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return path.replace(os.sep, "/") + member
    return rel.replace(os.sep, "/") + member


def _consumer_paths(c: Consumer, base_dir: str) -> set[str]:
    """Every path form a baseline key may name the consumer by."""
    member = f"({c.member})" if c.member else ""
    forms = {consumer_key(c, base_dir), c.display_name}
    if not c.package:
        forms.add(os.path.abspath(c.path) + member)
        try:  # (a saved result may name anything: a NUL byte is no path)
            forms.add(os.path.realpath(c.path) + member)
        except (ValueError, OSError):
            pass
    return {f.replace(os.sep, "/") for f in forms}


def _key_paths(key: str, base_dir: str) -> set[str]:
    """A baseline key as paths: itself, normalised, and (relative) joined to base_dir. A
    key written by an older abiguard as the path given on the command line
    (``./build/prog``) so still names the file."""
    forms = {key}
    member = ""
    m = re.fullmatch(r"(.+)(\([^()/]+\))", key)
    if m:
        key, member = m.group(1), m.group(2)
    if "/" in key:
        norm = posixpath.normpath(key)
        forms.add(norm + member)
        if not norm.startswith("/"):
            forms.add(posixpath.normpath(posixpath.join(
                os.path.abspath(base_dir).replace(os.sep, "/"), norm)) + member)
    return forms


def baseline_key_for(c: Consumer, keys: Iterable[str], base_dir: str = ".") -> str | None:
    """The baseline key naming a consumer: its path in any form (see :func:`consumer_key`),
    else its file name, else its soname."""
    keys = list(keys)
    paths = _consumer_paths(c, base_dir)
    for k in keys:
        if _key_paths(k, base_dir) & paths:
            return k
    base = os.path.basename(c.path) + (f"({c.member})" if c.member else "")
    for k in keys:
        if k == base:
            return k
    for k in keys:
        if c.soname and k == c.soname:
            return k
    return None


# --------------------------------------------------------------------------------------------
# Gate
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GateEntry:
    consumer: str
    """The consumer's path."""
    key: str
    """The baseline key it is listed (or would be listed) under."""
    symbol: str
    family: str
    library: str | None = None
    """The providing soname (None for a removed entry)."""
    version: str | None = None
    stability: Stability | None = None

    def message(self, baseline: str) -> str:
        what = self.stability.value if self.stability else "unstable"
        return (f"{self.consumer}: new {what} symbol {self.symbol} from {self.library} "
                f"(family {self.family}) is not in the baseline {baseline}")


@dataclass(frozen=True, slots=True)
class GateResult:
    """abiguard gate: JSON ``kind: "gate"``."""

    baseline: str
    passed: bool
    new: tuple[GateEntry, ...] = ()
    """Unstable/private symbols not in the baseline: they fail the gate."""
    removed: tuple[GateEntry, ...] = ()
    """Baseline entries no longer used: the baseline can shrink."""
    kept: int = 0
    consumers: tuple[str, ...] = ()
    """The consumers checked."""
    unchecked: tuple[str, ...] = ()
    """Baseline keys that matched no scanned consumer."""
    update: str | None = None
    """What --update-baseline did: created | shrunk | grown | unchanged (None: not asked)."""
    errors: tuple[InputError, ...] = ()
    notes: tuple[str, ...] = ()
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "gate"

    def render_text(self, con: Any, verbose: int = 0) -> None:
        from .commands.gate import render_gate_text

        render_gate_text(con, self, verbose)

    def render_markdown(self) -> str:
        from .commands.gate import render_gate_markdown

        return render_gate_markdown(self)


def gate(audit: Audit, baseline: Baseline, baseline_path: str,
         base_dir: str | None = None) -> GateResult:
    """Compare the audit's unstable/private imports with the baseline. Keys are matched
    with :func:`baseline_key_for` relative to ``base_dir`` (default: the baseline file's
    directory). A baseline symbol a consumer still imports, unresolved, is not gone."""
    from . import __version__

    if base_dir is None:
        base_dir = os.path.dirname(os.path.abspath(baseline_path))
    new: list[GateEntry] = []
    removed: list[GateEntry] = []
    kept = 0
    keys: dict[int, str | None] = {}
    for i, c in enumerate(audit.consumers):
        key = keys[i] = baseline_key_for(c, baseline.consumers, base_dir)
        allowed = baseline.symbols(key) if key else set()
        current = consumer_symbols(c)
        for (fam, sym), b in sorted(current.items()):
            if (fam, sym) in allowed:
                kept += 1
            else:
                new.append(GateEntry(c.display_name, key or consumer_key(c, base_dir), sym,
                                     fam, b.provider, node_of(b), b.stability))
    used_keys = {k for k in keys.values() if k is not None}
    for key in sorted(used_keys):
        consumers = [c for i, c in enumerate(audit.consumers) if keys[i] == key]
        present = set().union(*(consumer_symbols(c) for c in consumers))
        unresolved = {b.symbol.name for c in consumers for b in c.bindings
                      if b.status == "unresolved"}
        for fam, sym in sorted(baseline.symbols(key) - present):
            if sym not in unresolved:
                removed.append(GateEntry(consumers[0].display_name, key, sym, fam))
    unchecked = tuple(sorted(set(baseline.consumers) - used_keys))
    return GateResult(baseline=baseline_path, passed=not new, new=tuple(new),
                      removed=tuple(removed), kept=kept,
                      consumers=tuple(c.display_name for c in audit.consumers),
                      unchecked=unchecked, errors=audit.errors, notes=audit.notes,
                      tool_version=__version__)


def baseline_from_audit(audit: Audit, base_dir: str = ".") -> Baseline:
    """A new baseline of the audit's unstable/private imports, keyed by
    :func:`consumer_key` relative to ``base_dir`` (the baseline file's directory)."""
    out: dict[str, dict[str, set[str]]] = {}
    for c in audit.consumers:
        for fam, sym in consumer_symbols(c):
            out.setdefault(consumer_key(c, base_dir), {}).setdefault(fam, set()).add(sym)
    return Baseline({k: {f: tuple(sorted(s)) for f, s in v.items()} for k, v in out.items()})


def updated_baseline(baseline: Baseline, result: GateResult, allow_growth: bool) -> Baseline:
    """The baseline after --update-baseline: removed entries dropped; new ones added only
    with ``allow_growth``; keys of consumers that were not scanned kept as they are."""
    data: dict[str, dict[str, set[str]]] = {
        k: {f: set(s) for f, s in v.items()} for k, v in baseline.consumers.items()}
    for e in result.removed:
        data.get(e.key, {}).get(e.family, set()).discard(e.symbol)
    if allow_growth:
        for e in result.new:
            data.setdefault(e.key, {}).setdefault(e.family, set()).add(e.symbol)
    clean = {k: {f: tuple(sorted(s)) for f, s in v.items() if s} for k, v in data.items()}
    # A consumer key left without symbols stays (an empty table): it still says "none allowed".
    return Baseline(clean, baseline.schema)



# --------------------------------------------------------------------------------------------
# Library upgrade impact
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LibraryInfo:
    """One shared library of a library set (what ``impact`` needs of it)."""

    soname: str
    path: str
    """Installed path (inside the .deb or the directory)."""
    exports: dict[str, tuple[str | None, ...]] = field(default_factory=dict)
    """Symbol -> the version nodes defining it (None: unversioned)."""
    package: str | None = None
    sizes: dict[tuple[str, str | None], int] = field(default_factory=dict)
    """(symbol, version node) -> st_size of its data object definitions (OBJECT, TLS,
    COMMON): what a program holding a copy of it (copy relocation) must match."""

    @property
    def family(self) -> str:
        return family(self.soname)

    def size_of(self, name: str, version: str | None) -> int | None:
        """The size of the definition a reference ``name@version`` binds to (an unversioned
        one: the first definition of the name), None when it defines no such object."""
        if version is not None and (name, version) in self.sizes:
            return self.sizes[(name, version)]
        if (name, None) in self.sizes:
            return self.sizes[(name, None)]
        if version is None:
            return next((v for (n, _), v in self.sizes.items() if n == name), None)
        return None


@dataclass(frozen=True, slots=True)
class LibrarySet:
    label: str
    libraries: tuple[LibraryInfo, ...] = ()

    def by_soname(self, soname: str | None) -> LibraryInfo | None:
        return next((lib for lib in self.libraries if lib.soname == soname), None)

    def by_family(self, fam: str) -> list[LibraryInfo]:
        return [lib for lib in self.libraries if lib.family == fam]

    def exporting(self, symbol: str) -> list[LibraryInfo]:
        return [lib for lib in self.libraries if symbol in lib.exports]


@dataclass(frozen=True, slots=True)
class ImpactSymbol:
    name: str
    old_library: str | None
    old_version: str | None
    """The node the consumer is bound to."""
    status: str
    """same (same soname, node still defined: the old binary binds it) | rebuild (defined by
    the new release of the library, other soname or node) | moved (now only in another
    library of the new set) | gone (no library of the new set defines it) | resized (a data
    object the binary holds a copy of, copy relocation, whose size the new library changes:
    the old binary breaks, a rebuild picks up the new size)."""
    new_library: str | None = None
    new_version: str | None = None
    prototype: Any = None
    """abiguard.headers.ProtoChange (status same/compatible/changed/gone/unknown)."""
    copy_size: int | None = None
    """For a copied data object: the size the binary reserved for it."""
    new_size: int | None = None
    """For a copied data object: its size in the new library (None: not defined there)."""

    @property
    def needs_source_change(self) -> bool:
        proto = getattr(self.prototype, "status", "unknown")
        return self.status == "gone" or proto in ("changed", "gone")


@dataclass(frozen=True, slots=True)
class LibraryChange:
    family: str
    old_soname: str | None
    new_soname: str | None


VERDICTS = ("runs-as-is", "needs-rebuild", "needs-source-changes", "not-affected", "unknown")


@dataclass(frozen=True, slots=True)
class ConsumerImpact:
    consumer: str
    verdict: str
    """runs-as-is | needs-rebuild | needs-source-changes | not-affected | unknown (libraries
    were not found and some imports from them could not be classified: "not affected"
    cannot be claimed)."""
    reasons: tuple[str, ...] = ()
    package: str | None = None
    libraries: tuple[LibraryChange, ...] = ()
    symbols: tuple[ImpactSymbol, ...] = ()
    source_changes: tuple[str, ...] = ()
    """The symbols whose uses have to change (gone or prototype changed)."""


@dataclass(frozen=True, slots=True)
class ImpactResult:
    """abiguard impact: JSON ``kind: "impact"``."""

    old: str
    new: str
    consumers: tuple[ConsumerImpact, ...] = ()
    headers_checked: bool = False
    old_headers: str | None = None
    new_headers: str | None = None
    errors: tuple[InputError, ...] = ()
    notes: tuple[str, ...] = ()
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "impact"

    def render_text(self, con: Any, verbose: int = 0) -> None:
        from .commands.impact import render_impact_text

        render_impact_text(con, self, verbose)

    def render_markdown(self) -> str:
        from .commands.impact import render_impact_markdown

        return render_impact_markdown(self)


def _pick_new(old: LibraryInfo | None, fam: str, new_set: LibrarySet) -> LibraryInfo | None:
    cands = new_set.by_family(fam)
    if not cands:
        return None
    if old is not None:
        same = [c for c in cands if c.soname == old.soname]
        if same:
            return same[0]
    return max(cands, key=lambda c: c.soname)


def consumer_impact(c: Consumer, old_set: LibrarySet, new_set: LibrarySet,
                    old_headers: dict[str, Any] | None = None,
                    new_headers: dict[str, Any] | None = None) -> ConsumerImpact:
    """What upgrading the library set old -> new does to one consumer."""
    from .headers import ProtoChange, compare
    from .missing import unclassified

    old_families = {lib.family for lib in old_set.libraries}
    # (imports from a library that was not found count with the class of its name)
    affected = [b for b in (*c.findings, *c.presumed) if family(b.provider) in old_families]
    n_unclassified = unclassified(c)
    not_checked = ((f"libraries not found: {', '.join(c.missing_libraries)}; {n_unclassified} "
                   "import(s) from them could not be classified or checked"),)
    # Copied data objects (copy relocations) of any stability: their size is in the binary.
    new_sizes: dict[str, int | None] = {}
    for b in c.copies:
        if family(b.provider) not in old_families or b.copy is None:
            continue
        target = _pick_new(old_set.by_soname(b.provider), family(b.provider), new_set)
        size = target.size_of(b.symbol.name, b.symbol.version) if target else None
        new_sizes[b.symbol.name] = size
        if size != b.copy.program_size and all(a.symbol.name != b.symbol.name
                                               for a in affected):
            affected.append(b)
    if not affected:
        if n_unclassified:
            return ConsumerImpact(c.display_name, "unknown", not_checked, c.package)
        return ConsumerImpact(c.display_name, "not-affected",
                              (("imports no unstable/private symbol from the old library set "
                               "and copies no data object whose size it changes"),),
                              c.package)
    symbols = []
    libs: dict[str, LibraryChange] = {}
    for b in affected:
        fam = family(b.provider)
        old_lib = old_set.by_soname(b.provider)
        new_lib = _pick_new(old_lib, fam, new_set)
        libs.setdefault(fam, LibraryChange(fam, b.provider, new_lib.soname if new_lib else None))
        requested = b.symbol.version
        bound = node_of(b)
        if new_lib is not None and b.symbol.name in new_lib.exports:
            nodes = new_lib.exports[b.symbol.name]
            same_soname = new_lib.soname == b.provider
            binds = requested is None or requested in nodes
            status = "same" if same_soname and binds else "rebuild"
            new_node = requested if requested in nodes else next(
                (n for n in nodes if n), None)
            target: LibraryInfo | None = new_lib
        else:
            others = [lib for lib in new_set.exporting(b.symbol.name) if lib.family != fam]
            target = others[0] if others else None
            status = "moved" if target else "gone"
            new_node = next((n for n in target.exports[b.symbol.name] if n), None) \
                if target else None
        if old_headers is not None and new_headers is not None:
            proto = compare(old_headers.get(b.symbol.name), new_headers.get(b.symbol.name))
        else:
            proto = ProtoChange("unknown", ("headers not given",))
        copy_size = new_size = None
        if b.copy is not None and b.symbol.name in new_sizes:
            copy_size, new_size = b.copy.program_size, new_sizes[b.symbol.name]
            if new_size is not None and new_size != copy_size and status in ("same",
                                                                            "rebuild"):
                status = "resized"
        symbols.append(ImpactSymbol(b.symbol.name, b.provider, bound, status,
                                    target.soname if target else None, new_node, proto,
                                    copy_size, new_size))
    symbols.sort(key=lambda s: (s.old_library or "", s.name))
    source = tuple(s.name for s in symbols if s.needs_source_change)
    reasons: list[str] = []
    for ch in libs.values():
        if ch.new_soname is None:
            reasons.append(f"{ch.family}: no library of this family in the new set")
        elif ch.new_soname != ch.old_soname:
            reasons.append(f"soname changes {ch.old_soname} -> {ch.new_soname}: the binary "
                           "must be relinked")
    gone = [s.name for s in symbols if s.status == "gone"]
    moved = [s for s in symbols if s.status == "moved"]
    if gone:
        reasons.append(f"{len(gone)} symbol(s) gone: {', '.join(gone)}")
    for s in moved:
        reasons.append(f"{s.name} now only in {s.new_library}: link it")
    for s in symbols:
        if s.status == "resized":
            reasons.append(f"{s.name}: copied data object changes size {s.copy_size} -> "
                           f"{s.new_size} bytes; the binary reserved {s.copy_size} (copy "
                           f"relocation): ld.so would copy {min(s.copy_size or 0, s.new_size or 0)}"
                           " and warn; rebuild against the new library")
    nodes = [s for s in symbols if s.status == "rebuild" and s.new_library == s.old_library]
    if nodes:
        reasons.append(f"{len(nodes)} symbol(s) no longer defined under the node the binary "
                       f"requires ({nodes[0].old_version} -> {nodes[0].new_version})")
    changed = [s for s in symbols if getattr(s.prototype, "status", "") in ("changed", "gone")]
    for s in changed:
        what = "; ".join(s.prototype.changes)
        reasons.append(f"{s.name}: {what}")
    compatible = [s for s in symbols if getattr(s.prototype, "status", "") == "compatible"]
    for s in compatible:
        reasons.append(f"{s.name}: source compatible ({'; '.join(s.prototype.changes)})")
    if source:
        verdict = "needs-source-changes"
    elif all(s.status == "same" for s in symbols):
        verdict = "runs-as-is"
    else:
        verdict = "needs-rebuild"
    unknown = [s.name for s in symbols if getattr(s.prototype, "status", "unknown") == "unknown"]
    if unknown and old_headers is not None:
        reasons.append(f"{len(unknown)} symbol(s) not declared in the old headers "
                       f"(prototype not compared): {', '.join(unknown)}")
    elif unknown:
        reasons.append("prototypes not compared (give --headers-from and --headers-to)")
    if n_unclassified:
        reasons += not_checked
    return ConsumerImpact(c.display_name, verdict, tuple(reasons), c.package,
                          tuple(libs.values()), tuple(symbols), source)


def impact(audit: Audit, old_set: LibrarySet, new_set: LibrarySet,
           old_headers: dict[str, Any] | None = None, new_headers: dict[str, Any] | None = None,
           *, old_headers_label: str | None = None, new_headers_label: str | None = None,
           notes: Iterable[str] = ()) -> ImpactResult:
    from . import __version__

    consumers = tuple(consumer_impact(c, old_set, new_set, old_headers, new_headers)
                      for c in audit.consumers)
    return ImpactResult(old_set.label, new_set.label, consumers,
                        headers_checked=old_headers is not None and new_headers is not None,
                        old_headers=old_headers_label, new_headers=new_headers_label,
                        errors=audit.errors, notes=tuple(audit.notes) + tuple(notes),
                        tool_version=__version__)

__all__ = [
    "Baseline",
    "ConsumerDiff",
    "ConsumerImpact",
    "DiffResult",
    "GateEntry",
    "GateResult",
    "ImpactResult",
    "ImpactSymbol",
    "LibraryChange",
    "LibraryInfo",
    "LibrarySet",
    "SymbolDelta",
    "TrendResult",
    "TrendRow",
    "baseline_from_audit",
    "baseline_key_for",
    "baseline_text",
    "consumer_impact",
    "consumer_key",
    "diff_audits",
    "diff_consumers",
    "family",
    "gate",
    "impact",
    "knowledge_replacements",
    "load_baseline",
    "match_consumers",
    "parse_baseline",
    "trend",
    "updated_baseline",
]
