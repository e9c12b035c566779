"""The pipeline every command runs: inputs -> ELF reader -> resolver -> policy -> Audit."""

from __future__ import annotations

import contextlib
import fnmatch
import gc
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

from . import __version__
from .errors import ElfError, InputFileError
from .fastnew import reducers
from .missing import is_missing_line, missing_line
from .model import (
    Audit,
    Binding,
    Consumer,
    CopyRelocation,
    Evidence,
    InputError,
    Library,
    SymbolRef,
)
from .notify import Notify, silent
from .parallel import ITEM_WEIGHT, run_shares_after
from .policy import Policy
from .resolve import Layers, Resolver
from .sources import Collected, Pending, Source, Target, collect_sources, suite_groups

if TYPE_CHECKING:  # (plan only: ``scan`` never imports the remedies' knowledge, nor the
    # plan's types)
    from .model.plan import CallSite, Plan
    from .remedies import LibraryExports, LibraryFinder


@dataclass
class ScanOptions:
    """What a scan is asked to do besides its inputs: where libraries are searched, the policy
    files, the suite of package names, the processes."""

    sysroot: str = "/"
    lib_paths: list[str] = field(default_factory=list)
    ld_library_path: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    with_deps: bool = False
    provider_debs: list[str] = field(default_factory=list)
    needed: list[str] = field(default_factory=list)
    """For relocatable objects/archives: libraries to resolve their undefined symbols against
    (they have no DT_NEEDED), like -l options on a link line."""
    suite: str | None = None
    """Debian suite for package names without one (``NAME/SUITE`` names one per input)."""
    jobs: int = 1
    """Processes that resolve the consumers (abiguard.parallel: forked when there are
    enough of them to pay for it; the answers are the same). 1 for callers in threads."""


def make_resolver(collected: Collected, options: ScanOptions,
                  policy: Policy | None = None) -> Resolver:
    policy = policy or Policy.load(options.policies)
    return Resolver(Layers(options.sysroot, list(collected.overlays)), policy=policy,
                    ld_library_path=options.ld_library_path, lib_paths=options.lib_paths,
                    extra_needed=options.needed)


@dataclass(frozen=True, slots=True)
class Unread:
    """A pending file that could not be read: its input error and where it goes."""

    error_at: int
    error: InputError


class Alongside(Protocol):
    """More work on each consumer, done by the process that resolved it while a second one
    helps (abiguard.parallel.run_shares_after), e.g. its JSON text (jsonform.Ahead): called
    there, and what it gave is then kept (:meth:`keep`) with the consumer the scan returns.
    It must not change the consumer; where it was not called, nothing is kept."""

    def __call__(self, consumer: Consumer, /) -> Any: ...

    def keep(self, consumer: Consumer, value: Any, /) -> None: ...


_RESULT_PICKLING = reducers((Consumer, Library, Binding, SymbolRef, Evidence, CopyRelocation,
                             InputError, Unread))
"""How a child of :func:`scan_targets` sends its consumers (abiguard.parallel)."""


def scan_targets(collected: Collected, options: ScanOptions, inputs: Iterable[str] = (),
                 resolver: Resolver | None = None,
                 progress: Callable[[int, int, str], None] | None = None,
                 notify: Notify = silent, alongside: Alongside | None = None) -> Audit:
    """The Audit of what was collected. Files collected as pending (``collected.defer``) are
    read where they are resolved (in either process of abiguard.parallel): the reading is
    shared too, and a file that cannot be read is the input error it would have been when
    collected, at the same place among the errors. ``alongside``: more work on each consumer
    where it is resolved (:class:`Alongside`)."""
    resolver = resolver or make_resolver(collected, options)
    policy = resolver.policy
    items = _in_order(collected.targets, collected.pending)
    total = len(items)
    if total:
        notify("resolve", f"resolving {total} consumer(s)")
    for t in collected.targets:  # each file read once: a consumer is a library of others
        resolver.remember(t.elf)
    for p in collected.pending:
        resolver.expect(p.path)

    def one(x: Target | Pending) -> Consumer | InputError | Unread:
        if isinstance(x, Pending):
            try:
                elf = resolver.read_consumer(x.path)
            except ElfError as exc:
                return Unread(x.error_at, x.error(exc.message))
            x = x.target(elf)
        try:
            return scan_one(resolver, x)
        except InputFileError as exc:  # e.g. a limit of the resolver (abiguard.limits)
            return InputError(exc.path, exc.message)

    def step(done: int, n: int, i: int) -> None:
        if progress:
            progress(done, n, items[i].installed if i < n else "")

    def more(r: Consumer | InputError | Unread) -> Any:
        return alongside(r) if alongside is not None and isinstance(r, Consumer) else None

    weights = [ITEM_WEIGHT + (len(x.elf.imports) if isinstance(x, Target) else PENDING_WEIGHT)
               for x in items]
    consumers = []
    errors = []
    unread = []
    results, aside = run_shares_after(one, more, items, weights, options.jobs,
                                      step if progress else None, _RESULT_PICKLING)
    for r, a in zip(results, aside):
        if isinstance(r, Consumer):
            consumers.append(r)
            if a is not None and alongside is not None:
                alongside.keep(r, a)
        elif isinstance(r, Unread):
            unread.append(r)
        else:
            errors.append(r)
    return Audit(consumers=tuple(consumers),
                 errors=(*_with_unread(collected.errors, unread), *errors),
                 inputs=tuple(inputs),
                 notes=with_missing_line((*collected.notes, *policy.notes), consumers),
                 policies=policy.origins,
                 tool_version=__version__)


X = TypeVar("X")
Y = TypeVar("Y")

PENDING_WEIGHT = 64
"""The weight of a file not read yet (abiguard.parallel): about a shared object's imports."""


def _in_order(targets: list[Target], pending: list[Pending]) -> list[Target | Pending]:
    """The targets and the pending files in the order they were found."""
    return _placed(targets, [(p.at, p) for p in pending])


def _with_unread(errors: list[InputError], unread: list[Unread]) -> list[InputError]:
    """The errors of collecting, with those of the pending files that could not be read
    where reading them when found would have put them."""
    return _placed(errors, [(u.error_at, u.error) for u in unread])


def _placed(items: list[X], inserts: list[tuple[int, Y]]) -> list[X | Y]:
    """``items`` with each insert put before the item at its place (a place past the end:
    at the end), the inserts in their order (their places never decrease)."""
    out: list[X | Y] = []
    i = 0
    for at, x in inserts:
        out.extend(items[i:at])
        i = max(i, at)
        out.append(x)
    out.extend(items[i:])
    return out


def with_missing_line(notes: Iterable[str], consumers: Iterable[Consumer]) -> tuple[str, ...]:
    """The notes with the one "libraries not found" line (abiguard.missing) of these
    consumers first, when any library was not found (an earlier one is replaced)."""
    rest = tuple(n for n in notes if not is_missing_line(n))
    line = missing_line(consumers)
    return (line, *rest) if line else rest


def scan_one(resolver: Resolver, t: Target) -> Consumer:
    libraries, bindings = resolver.resolve(t.elf, t.installed)
    e = t.elf
    return Consumer(path=t.installed, kind=e.kind, machine=e.machine, elf_class=e.elf_class,
                    soname=e.soname, origin=t.origin, package=t.package, needed=e.needed,
                    libraries=tuple(libraries), bindings=tuple(bindings), member=e.member)


def input_groups(inputs: list[str], options: ScanOptions
                 ) -> list[tuple[list[Source], ScanOptions, list[str]]]:
    """Split inputs into groups scanned apart: packages from another Debian suite
    (``NAME/SUITE`` or ``options.suite``) are fetched with that suite's library packages and
    must not resolve against this machine's (nor another suite's) libraries.

    Returns (sources, options, notes) per group (abiguard.sources: each input recognised by
    its kind), ``options.suite`` the group's suite; the inputs of this machine form one group."""
    return [(sources, replace(options, suite=suite), [])
            for suite, sources in suite_groups(inputs, options.suite)]


def collect_group(sources: list[Source], options: ScanOptions, notify: Notify = silent,
                  defer: bool = False) -> Collected:
    """The targets, overlays, notes and errors of one group (call ``cleanup()``);
    ``defer``: ELF files listed as pending, read by :func:`scan_targets`."""
    return collect_sources(sources, with_deps=options.with_deps,
                           provider_debs=options.provider_debs, suite=options.suite,
                           notify=notify, defer=defer)


def merge_audits(audits: list[Audit], inputs: Iterable[str] | None = None) -> Audit:
    """One Audit of several (scanned apart); the first's tool version."""
    if len(audits) == 1 and inputs is None:
        return audits[0]
    return Audit(
        consumers=tuple(c for a in audits for c in a.consumers),
        errors=tuple(e for a in audits for e in a.errors),
        inputs=tuple(inputs) if inputs is not None else
        tuple(i for a in audits for i in a.inputs),
        notes=with_missing_line((n for a in audits for n in a.notes),
                                (c for a in audits for c in a.consumers)),
        policies=tuple(dict.fromkeys(p for a in audits for p in a.policies)),
        tool_version=audits[0].tool_version if audits else __version__)


@contextlib.contextmanager
def gc_paused(freeze: bool = False) -> Iterator[None]:
    """The cyclic garbage collector off meanwhile: a scan makes hundreds of thousands of
    objects (symbols, bindings) that live until the end, and the collector would walk them
    again and again (12% of a directory scan's time); garbage is freed by reference counting
    as before. ``freeze``: what exists at the end is moved to the collector's permanent
    generation (gc.freeze), so that later collections do not walk it either -- for a scan,
    which makes no reference cycles (a test holds it to that)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was:
            gc.enable()


def scan_paths(inputs: list[str], options: ScanOptions | None = None,
               progress: Callable[[int, int, str], None] | None = None,
               notify: Notify = silent, alongside: Alongside | None = None) -> Audit:
    """Scan inputs (files, directories, .debs, apt package names, NAME/SUITE) into an Audit.
    ``notify`` hears the download, unpack and resolve phases (abiguard.notify);
    ``alongside``: more work on each consumer where it is resolved (:class:`Alongside`)."""
    options = options or ScanOptions()
    audits = []
    for sources, opts, notes in input_groups(inputs, options):
        with gc_paused(freeze=True), collect_group(sources, opts, notify,
                                                   defer=True) as collected:
            collected.notes[:0] = notes
            audits.append(scan_targets(collected, opts, [s.spec for s in sources],
                                       progress=progress, notify=notify,
                                       alongside=alongside))
    return merge_audits(audits, inputs)


def library_finder(resolver: Resolver, target: Target, consumer: Consumer) -> LibraryFinder:
    """Find a library by soname glob: first in the consumer's load order, then anywhere the
    resolver would search (so a stable library the consumer does not link yet is found)."""
    from .remedies import LibraryExports

    cache: dict[str, LibraryExports | None] = {}

    def find(pattern: str) -> LibraryExports | None:
        if pattern in cache:
            return cache[pattern]
        hit = None
        for lib in consumer.libraries:
            if lib.path and fnmatch.fnmatchcase(lib.soname or lib.name, pattern):
                real = resolver.layers.find(lib.path) or lib.path
                hit = (lib.path, real)
                break
        if hit is None:
            found = resolver.find_by_glob(pattern, target.elf, target.installed)
            hit = (found[0], found[1]) if found else None
        result = None
        if hit is not None:
            try:
                elf = resolver.read(hit[1])
            except ElfError:
                elf = None
            if elf is not None:
                symbols: dict[str, list[str | None]] = {}
                for sym in elf.exports:
                    symbols.setdefault(sym.name, []).append(sym.version)
                result = LibraryExports(elf.soname or os.path.basename(hit[0]), hit[0], symbols)
        cache[pattern] = result
        return result

    return find


# Gives the call sites of some symbols for one scanned target (source, objects, binary).
CallSiteProvider: TypeAlias = "Callable[[Target, set[str]], list[CallSite]]"


def _pairs(consumers: Iterable[Consumer], targets: Iterable[Target]
           ) -> Iterable[tuple[Consumer, Target]]:
    """Each consumer with its target (a target that failed to resolve has no consumer)."""
    it = iter(consumers)
    c = next(it, None)
    for t in targets:
        if c is not None and c.path == t.installed and c.member == t.elf.member:
            yield c, t
            c = next(it, None)


def plan_paths(inputs: list[str], options: ScanOptions | None = None,
               remedies: list[str] | tuple[str, ...] = (),
               call_sites: CallSiteProvider | None = None,
               progress: Callable[[int, int, str], None] | None = None,
               notify: Notify = silent) -> Plan:
    """Scan, then build the migration plan of every consumer (verified while the scanned
    libraries are still unpacked; call sites found while the binaries are still there)."""
    options = options or ScanOptions()
    from .model.plan import Plan
    from .remedies import load_knowledge, plan_consumer

    knowledge = load_knowledge(remedies)
    audits, plans = [], []
    for sources, opts, notes in input_groups(inputs, options):
        with gc_paused(), collect_group(sources, opts, notify) as collected:
            collected.notes[:0] = notes
            resolver = make_resolver(collected, opts)
            audit = scan_targets(collected, opts, [s.spec for s in sources], resolver,
                                 progress=progress, notify=notify)
            for c, t in _pairs(audit.consumers, collected.targets):
                sites: dict[str, list[CallSite]] = {}
                if call_sites is not None and c.findings:
                    for site in call_sites(t, {b.symbol.name for b in c.findings}):
                        sites.setdefault(site.symbol, []).append(site)
                plans.append(plan_consumer(c, knowledge, library_finder(resolver, t, c), sites))
            audits.append(audit)
    return Plan(audit=merge_audits(audits, inputs), plans=tuple(plans),
                knowledge=knowledge.origins)
