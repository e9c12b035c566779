"""Collecting: the sources of a scan turned into targets, overlays, notes and errors.

``collect(specs, ...)`` recognises each spec (the registry) and collects them;
:func:`suite_groups` splits sources that must be scanned apart (packages of another Debian
suite resolve against that suite's libraries only). Within a group, each phase is collected
in turn (local inputs in the order named, then package names, downloaded together), each
kind's :meth:`~abiguard.sources.base.Source.prepare` once for its batch; then the providers
(``--provider``) and, with ``with_deps``, the library packages of what was collected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..notify import Notify, silent
from .apt import fetch_library_packages
from .base import Collected, Context, Source
from .deb import DebSource
from .registry import REGISTRY, Registry

if TYPE_CHECKING:
    from .faces import LibraryTree


def collect(specs: list[str], *, with_deps: bool = False, provider_debs: Sequence[str] = (),
            suite: str | None = None, notify: Notify = silent,
            registry: Registry = REGISTRY) -> Collected:
    """Turn inputs into targets, overlays and errors. Call ``cleanup()`` (or use ``with``).

    Positional inputs are consumers; ``provider_debs`` and, with ``with_deps``, the library
    packages the consumer packages depend on are unpacked as overlays only. Package names
    are apt's: its candidate (``NAME``) or exactly a version (``NAME=VERSION``), under this
    machine's apt configuration or, with ``suite``, that suite's (abiguard.debian.suites).
    The temporary directories are removed by ``cleanup()``, and right away when collecting
    fails. ``notify`` hears the download and unpack phases (abiguard.notify)."""
    sources = [registry.recognise(s, suite) for s in specs]
    return collect_sources(sources, with_deps=with_deps, provider_debs=provider_debs,
                           suite=suite, notify=notify, registry=registry)


def collect_sources(sources: Sequence[Source], *, with_deps: bool = False,
                    provider_debs: Sequence[str] = (), suite: str | None = None,
                    notify: Notify = silent, registry: Registry = REGISTRY,
                    defer: bool = False) -> Collected:
    """:func:`collect` of recognised sources (of one suite group: ``suite``); ``defer``: the
    ELF files are listed as pending, not read (:attr:`Collected.defer`)."""
    out = Collected(defer=defer)
    try:
        ctx = Context(out, registry, suite=suite, notify=notify)
        providers = [DebSource(p, named=False, consumers=False) for p in provider_debs]
        collect_into(ctx, [*sources, *providers])
        if with_deps:
            related = [r for s in sources for r in s.related()]
            if related:
                fetch_library_packages(related, ctx)
    except BaseException:
        out.cleanup()
        raise
    return out


def collect_into(ctx: Context, sources: Sequence[Source]) -> None:
    """Collect sources phase by phase (each kind's batch prepared first)."""
    for phase in sorted({s.phase for s in sources}):
        now = [s for s in sources if s.phase == phase]
        prepare(now, ctx)
        for s in now:
            s.collect(ctx)


def prepare(sources: Iterable[Source], ctx: Context) -> None:
    """Each kind's :meth:`~abiguard.sources.base.Source.prepare` once for its batch."""
    batches: dict[str, list[Source]] = {}
    for s in sources:
        batches.setdefault(s.batch_name, []).append(s)
    for batch in batches.values():
        type(batch[0]).prepare(batch, ctx)


def suite_groups(specs: Iterable[str], suite: str | None = None,
                 registry: Registry = REGISTRY) -> list[tuple[str | None, list[Source]]]:
    """The sources of specs, grouped by the suite they are resolved in (first seen first);
    ``suite``: the suite of package names given without one."""
    groups: dict[str | None, list[Source]] = {}
    for spec in specs:
        src = registry.recognise(spec, suite)
        groups.setdefault(src.suite, []).append(src)
    return list(groups.items())


def prepared(specs: Iterable[str], ctx: Context,
             registry: Registry = REGISTRY) -> list[Source]:
    """The sources of specs, in order (names without a suite: the context's), each suite's
    batches prepared (their packages downloaded): for the library-set and headers faces."""
    sources = [registry.recognise(spec, ctx.suite) for spec in specs]
    groups: dict[str | None, list[Source]] = {}
    for s in sources:
        groups.setdefault(s.suite, []).append(s)
    for suite, group in groups.items():
        prepare(group, ctx if suite == ctx.suite else
                Context(ctx.out, registry, suite=suite, notify=ctx.notify))
    return sources


def library_trees(specs: Iterable[str], ctx: Context,
                  registry: Registry = REGISTRY) -> list[tuple[str, LibraryTree]]:
    """(spec, where its shared libraries are) of library-set specs (``impact``)."""
    return [(s.spec, s.library_tree(ctx)) for s in prepared(specs, ctx, registry)]


def header_paths(specs: Iterable[str], ctx: Context,
                 registry: Registry = REGISTRY) -> list[tuple[str, str]]:
    """(header file or include directory, label) of headers specs (``impact``, ``propose``)."""
    return [s.header_path(ctx) for s in prepared(specs, ctx, registry)]


__all__ = ["collect", "collect_into", "collect_sources", "header_paths", "library_trees",
           "prepare", "prepared", "suite_groups"]
