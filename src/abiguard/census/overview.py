"""What ``abiguard census`` shows of a store (its aggregate, the internal packages of a
``--source-package`` apart, the store's and the run's counts) and exports; what
``abiguard report`` renders.

Built here, rendered by :mod:`abiguard.render` (text: the summary; JSON: every aggregate).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..model import Audit, Plan
from ..results import read_result
from .aggregate import Aggregate, CensusData, aggregate
from .store import Store, is_store

EXPORTS = (".csv", ".json", ".parquet")


@dataclass(frozen=True)
class OwnLibraries:
    """The shared libraries shipped by the packages built from a census's
    ``--source-package``: by default the ranking is about them alone (the question is who
    uses *these* libraries' unstable symbols, not what else the consumers import)."""

    sources: tuple[str, ...]
    """The source package(s)."""
    sonames: tuple[str, ...]


def own_libraries(store: Store) -> OwnLibraries | None:
    """The sonames of the shared libraries built from the store's source package(s): those
    recorded by the census (:mod:`.ownlibs`) and those its internal packages ship (None: the
    store has no internal packages, or no library is known)."""
    internal = store.internal()
    if not internal:
        return None
    recorded = store.own_libraries()
    sources = sorted(set(internal.values()))
    sonames = {s for src in sources for s in recorded.get(src, ())}
    for p in store.latest():
        if p.status == "ok" and p.name in internal:
            audit = store.audit(p.id)
            if audit is not None:
                sonames |= {c.soname for c in audit.consumers if c.soname}
    if not sonames:
        return None
    return OwnLibraries(tuple(sources), tuple(sorted(sonames)))


def _scope(store: Store, libraries: Iterable[str], all_libraries: bool
           ) -> tuple[list[str], OwnLibraries | None]:
    """(the library globs the data is filtered with, the own libraries when they are the
    default scope)."""
    given = list(libraries)
    if given or all_libraries:
        return given, None
    own = own_libraries(store)
    if own is None:
        return [], None
    return [glob.escape(s) for s in own.sonames], own


@dataclass(frozen=True)
class CensusOverview:
    """The summary of a store (JSON: ``Aggregate.to_dict`` with ``internal``,
    ``own_libraries`` and ``run``)."""

    aggregate: Aggregate
    """The consumers' aggregate (without the internal packages unless asked)."""
    store: str
    """The store's path."""
    store_counts: dict[str, int]
    """Stored package results: packages, ok, failed, with_findings, bytes."""
    run: dict[str, Any] | None = None
    """This run's counts (planned, done, skipped, failed, seconds, bytes, engine), or None
    when nothing was scanned."""
    internal: Aggregate | None = None
    """The packages built from a ``--source-package``, listed apart (None: none, or ranked
    with the consumers)."""
    own_libraries: OwnLibraries | None = None
    """The libraries the ranking is limited to (None: every library)."""


@dataclass(frozen=True)
class CensusFailures:
    """The failed packages of a store, with their errors (``census --failures``)."""

    aggregate: Aggregate


def overview(store: Store, *, run: dict[str, Any] | None = None, exclude: Iterable[str] = (),
             libraries: Iterable[str] = (), include_internal: bool = False,
             all_libraries: bool = False, threshold: float = 0.5,
             method: str = "average") -> CensusOverview:
    """The overview of a store (``exclude``: consumer globs; ``libraries``: only the symbols
    of libraries matching these globs; by default, for a store of a ``--source-package``
    census, the libraries built from it unless ``all_libraries``)."""
    data = CensusData.from_store(store)
    counts = store.counts()
    libs, own = _scope(store, libraries, all_libraries)
    data, inside = _split(data.filtered(exclude, libs), include_internal, threshold, method)
    agg = aggregate(data, threshold=threshold, method=method)
    return CensusOverview(agg, store.path, counts, run, inside, own)


@dataclass(frozen=True)
class Report:
    """What ``abiguard report`` renders: the aggregate of a census store or of a saved
    scan/plan result (``result``: that result, for its per-consumer plans)."""

    aggregate: Aggregate
    result: Audit | Plan | None = None
    internal: Aggregate | None = None
    """The packages built from the census's ``--source-package``, shown apart and not
    ranked (None: none, or ranked with the consumers: ``--include-internal``)."""
    own_libraries: OwnLibraries | None = None
    """The libraries the ranking is limited to (None: every library)."""


def _split(data: CensusData, include_internal: bool, threshold: float, method: str
           ) -> tuple[CensusData, Aggregate | None]:
    """(the consumers' data, the internal packages' aggregate or None)."""
    if include_internal:
        return data, None
    data, internal = data.split_internal()
    if not internal.consumers:
        return data, None
    return data, aggregate(internal, threshold=threshold, method=method, remedies=False)


def report(path: str, *, exclude: Iterable[str] = (), libraries: Iterable[str] = (),
           threshold: float = 0.5, method: str = "average",
           include_internal: bool = False, all_libraries: bool = False) -> Report:
    """The report of a census store or a saved scan/plan JSON result (a store's internal
    packages apart, as ``census`` shows them, unless ``include_internal``)."""
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    result = None
    libs, own = list(libraries), None
    if is_store(path):
        with Store(path, create=False) as store:
            data = CensusData.from_store(store)
            libs, own = _scope(store, libraries, all_libraries)
    else:
        result = read_result(path)
        data = CensusData.from_result(result, path)
    data, inside = _split(data.filtered(exclude, libs), include_internal, threshold, method)
    return Report(aggregate(data, threshold=threshold, method=method), result, inside, own)


def check_export(path: str) -> None:
    """A usage error, before any work, for an export that cannot be written."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXPORTS:
        raise UsageError(f"--export {path}: unknown format (use .csv, .json or .parquet)")
    if ext == ".parquet":
        try:
            import pyarrow  # noqa: F401  (only to know it is there)
        except ImportError:
            raise UsageError(f"--export {path}: Parquet needs pyarrow, which is not "
                             "installed (use .csv or .json)") from None


def export(agg: Aggregate, path: str, table: str = "matrix") -> None:
    """Write an aggregate: .csv (``table``), .json (everything), .parquet (findings)."""
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".parquet":
            agg.write_parquet(path)
        else:
            text = agg.to_json() if ext == ".json" else agg.to_csv(table)
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write --export {path}: {exc.strerror}") from None


__all__ = ["EXPORTS", "CensusFailures", "CensusOverview", "OwnLibraries", "Report",
           "check_export", "export", "overview", "own_libraries", "report"]
