"""The decision rule, in one place.

1. Every source speaks (or not); a signal votes for a class or states a fact (no vote).
2. The strongest voting signal decides, unless it is weak: a weak signal (the soname's shape,
   a number in the name, a lone version node) never decides alone. Of equal strength, the one
   listed first wins (declarations: user files first; naming: private before unstable).
3. With no deciding signal the verdict is ``unknown``, and the evidence says what the weak
   signals suggested or that nothing spoke.
4. The first piece of evidence is the headline: the winner's sentence, then ``also:`` the
   signals that agree (``private`` and ``unstable`` agree: both are a problem for a consumer),
   then ``overrides:`` those it overrode. The other signals follow, overridden ones first,
   each with its own vote; a library that was not found says so right after the headline.
"""

from __future__ import annotations

from ..model import Evidence, Stability
from .signals import WEAK, LibraryFacts, Signal


def _agree(a: Stability, b: Stability) -> bool:
    return a == b or (a.is_problem and b.is_problem)


def _briefs(signals: list[Signal]) -> str:
    return ", ".join(f"{s.source}: {s.brief or s.detail}" for s in signals)


def decide(signals: list[Signal], facts: LibraryFacts) -> tuple[Stability, tuple[Evidence, ...]]:
    votes = [s for s in signals if s.votes]
    facts_only = [s for s in signals if not s.votes]
    deciders = [s for s in votes if s.strength > WEAK]
    missing = () if facts.found else (Evidence(
        "not-found", f"library not found: {facts.key} is judged by its name alone "
                     "(declarations, the archive's history, naming)"),)
    if not deciders:
        if votes:
            detail = (f"only weak signals ({_briefs(votes)}): they do not decide alone")
        elif facts_only:
            detail = f"nothing decides ({_briefs(facts_only)})"
        else:
            detail = ("no declaration, archive history, location, name or version node speaks "
                      "for it")
        headline = Evidence("default", detail, Stability.UNKNOWN)
        return Stability.UNKNOWN, (headline, *missing, *(s.evidence() for s in signals))
    winner = max(deciders, key=lambda s: s.strength)
    agree = [s for s in votes if s is not winner and _agree(s.stability, winner.stability)]
    against = [s for s in votes if not _agree(s.stability, winner.stability)]
    detail = winner.detail
    if agree:
        detail += f"; also: {_briefs(agree)}"
    if against:
        detail += f"; overrides: {_briefs(against)}"
    headline = Evidence(winner.source, detail, winner.stability, winner.origin)
    rest = (*against, *agree, *facts_only)
    return winner.stability, (headline, *missing, *(s.evidence() for s in rest))

