"""The trend: the unstable/private symbols of each consumer over several versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..model import SCHEMA_VERSION, Audit, InputError
from .match import match_consumers, problem_bindings


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


def trend(audits: list[Audit], labels: list[str]) -> TrendResult:
    """Per consumer (matched version to version like diff), the count per version."""
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


__all__ = ["TrendResult", "TrendRow", "trend"]
