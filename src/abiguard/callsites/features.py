"""Which target symbols stay referenced when some sources are not built.

``abiguard where --without 'hw/xen/xen_pt*.c'`` (or a named feature group from a TOML file,
``--features FILE --without-feature pci-passthrough``) splits the target symbols into those
still referenced by a source that is built and those that disappear.

Feature file::

    [features]
    pci-passthrough = ["hw/xen/xen_pt*.c"]
    xen-detect = ["scripts/xen-detect.c"]

Patterns are matched against paths relative to the source root (``/`` separated), with
:func:`fnmatch.fnmatchcase` semantics (``*`` also crosses ``/``); a pattern without ``/``
matches the file name in any directory; ``dir/`` (or a pattern matching a directory) matches
everything below it.

Sites that the given ``-D``/``--config-header`` values put in a branch that is not compiled
(``compiled=False``) never keep a symbol. Only *root* sites count (see :func:`abiguard.callsites.source.root_sites`): a reference inside
a wrapper macro or static inline header function is counted where the wrapper is used.
Sites found in object files count by their file name; sites in linked binaries cannot be
removed by leaving sources out and always remain.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import DataFileError, UsageError
from ..model import CallSite


@dataclass(frozen=True, slots=True)
class SymbolImpact:
    """One target symbol's sites with and without the excluded sources."""

    symbol: str
    sites: int
    """Root sites in total."""
    remaining_sites: int
    """Root sites not excluded (and not known to be compiled out)."""
    remaining_files: tuple[str, ...] = ()
    removed_files: tuple[str, ...] = ()

    @property
    def remains(self) -> bool:
        return self.remaining_sites > 0


@dataclass(frozen=True, slots=True)
class FeatureImpact:
    """The answer to "which target symbols remain referenced without these sources"."""

    without: tuple[str, ...]
    """The path patterns left out (from --without and the features)."""
    features: tuple[str, ...] = ()
    """Named feature groups left out (--without-feature)."""
    symbols: tuple[SymbolImpact, ...] = ()
    remaining: tuple[str, ...] = ()
    """Symbols still referenced by a site that is built."""
    disappearing: tuple[str, ...] = ()
    """Symbols referenced only by left-out sources."""
    unreferenced: tuple[str, ...] = ()
    """Target symbols with no root site at all (before leaving anything out)."""
    not_compiled: tuple[str, ...] = ()
    """Symbols whose every root site is in a branch the given -D/--config-header values
    do not compile (before leaving anything out)."""
    matched_files: tuple[str, ...] = ()
    """Files with sites that the patterns left out."""


def load_features(path: str) -> dict[str, tuple[str, ...]]:
    """Read a feature file: ``[features]`` name = [path patterns]. DataFileError if wrong."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise DataFileError(path, f"cannot read feature file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(path, f"not valid TOML: {exc}") from None
    unknown = set(data) - {"features"}
    if unknown:
        raise DataFileError(path, f"unknown top-level key(s) {', '.join(sorted(unknown))} "
                                  "(expected a [features] table)")
    table = data.get("features")
    if not isinstance(table, dict) or not table:
        raise DataFileError(path, "no [features] table with name = [\"glob\", ...] entries")
    out: dict[str, tuple[str, ...]] = {}
    for name, globs in table.items():
        if isinstance(globs, str):
            globs = [globs]
        if not isinstance(globs, list) or not globs or \
                not all(isinstance(g, str) and g.strip() for g in globs):
            raise DataFileError(path, f"features.{name}: expected a non-empty list of path "
                                      "patterns (strings)")
        out[name] = tuple(g.strip() for g in globs)
    return out


def resolve_feature_globs(names: Iterable[str], features: dict[str, tuple[str, ...]],
                          origin: str | None) -> list[str]:
    globs: list[str] = []
    for name in names:
        if name not in features:
            where = f" in {origin}" if origin else " (no --features FILE given)"
            known = f"; known: {', '.join(sorted(features))}" if features else ""
            raise UsageError(f"--without-feature {name!r}: no such feature{where}{known}")
        globs.extend(features[name])
    return globs


def path_matches(path: str, pattern: str) -> bool:
    """Whether a root-relative posix path is matched by a --without pattern."""
    pattern = pattern.strip()
    pattern = pattern.removeprefix("./")
    if pattern.endswith("/"):
        return path.startswith(pattern) or fnmatch.fnmatchcase(path, pattern + "*")
    if "/" not in pattern:
        name = path.rsplit("/", 1)[-1]
        return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(path, pattern)
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern + "/*")


def feature_impact(
    sites: Iterable[CallSite],
    targets: Iterable[str],
    without: Iterable[str] = (),
    features: Iterable[str] = (),
) -> FeatureImpact:
    """Split targets into remaining and disappearing without the given path patterns.

    ``sites`` are root sites (wrapper-internal sites already removed by the caller).
    """
    without = tuple(dict.fromkeys(without))
    per: dict[str, list[CallSite]] = {}
    for s in sites:
        per.setdefault(s.symbol, []).append(s)
    impacts = []
    remaining: list[str] = []
    disappearing: list[str] = []
    unreferenced: list[str] = []
    not_compiled: list[str] = []
    matched: set[str] = set()
    for sym in sorted(set(targets) | set(per)):
        ss = per.get(sym, [])
        if not ss:
            unreferenced.append(sym)
            continue
        kept, removed = [], []
        for s in ss:
            removable = s.method in ("source", "object")
            if removable and any(path_matches(s.file, p) for p in without):
                removed.append(s)
                matched.add(s.file)
            elif s.compiled is not False:
                kept.append(s)
        if all(s.compiled is False for s in ss):
            not_compiled.append(sym)
        impacts.append(SymbolImpact(
            symbol=sym, sites=len(ss), remaining_sites=len(kept),
            remaining_files=tuple(sorted({s.file for s in kept})),
            removed_files=tuple(sorted({s.file for s in removed}))))
        if sym not in not_compiled:
            (remaining if kept else disappearing).append(sym)
    return FeatureImpact(without=without, features=tuple(features), symbols=tuple(impacts),
                         remaining=tuple(remaining), disappearing=tuple(disappearing),
                         unreferenced=tuple(unreferenced), not_compiled=tuple(not_compiled),
                         matched_files=tuple(sorted(matched)))


__all__ = [
    "FeatureImpact",
    "SymbolImpact",
    "feature_impact",
    "load_features",
    "path_matches",
    "resolve_feature_globs",
]
