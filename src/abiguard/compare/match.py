"""What a comparison looks at: a consumer's unstable/private imports, and which consumer of
one result is which of the other.

:func:`match_consumers` pairs the consumers of two audits (installed path, then the longest
common path suffix, then soname); :func:`problem_bindings` are the imports every comparison
counts (bound unstable/private ones, and those classified from the name of a library that was
not found).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import Binding, Consumer


def problem_bindings(c: Consumer) -> dict[str, Binding]:
    """Unstable/private imports of a consumer by symbol name (first binding wins): bound,
    or unresolved from a library that was not found and is classified by its name."""
    out: dict[str, Binding] = {}
    for b in (*c.findings, *c.presumed):
        out.setdefault(b.symbol.name, b)
    return out


def unresolved_names(c: Consumer | None) -> set[str]:
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


__all__ = ["bound_bindings", "copy_bindings", "match_consumers", "node_of", "problem_bindings",
           "unresolved_names"]
