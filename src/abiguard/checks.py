"""The ``--fail-on unstable|private|unresolved`` rule of ``scan`` and ``plan``: which imports it
rejects, and when it cannot be checked (imports from libraries that were not found that
could not be classified)."""

from __future__ import annotations

from collections.abc import Iterable

from .missing import MissingLibraries, missing_libraries
from .model import Audit


def failing(audit: Audit, fail_on: Iterable[str]) -> list[str]:
    """One line per consumer/symbol that a --fail-on rule rejects. An unresolved import
    from a library that was not found counts with the class the policy gives that library's
    name (``Binding.is_presumed_problem``)."""
    fail_on = set(fail_on)
    lines: list[str] = []
    if not fail_on:  # (nothing to reject: no need to walk every binding)
        return lines
    for c in audit.consumers:
        for b in c.bindings:
            if b.status == "bound" and b.stability.value in fail_on:
                lines.append(f"{c.display_name}: {b.symbol} from {b.provider} is "
                             f"{b.stability.value}")
            elif b.is_presumed_problem and b.stability.value in fail_on:
                lines.append(f"{c.display_name}: {b.symbol} from {b.provider} (not found) is "
                             f"{b.stability.value} by the library's name")
            elif b.status == "unresolved" and not b.weak and "unresolved" in fail_on:
                lines.append(f"{c.display_name}: {b.symbol} is unresolved ({b.reason})")
    return lines


def unchecked(audit: Audit, fail_on: Iterable[str], rejected: list[str]
              ) -> MissingLibraries | None:
    """The libraries not found that keep ``--fail-on unstable|private`` from being checked:
    some of their imports could not be classified and nothing was rejected (None: it was
    checked)."""
    fail_on = set(fail_on)
    missing = missing_libraries(audit.consumers) if fail_on else None
    if missing is not None and not rejected and missing.unclassified and \
            fail_on & {"unstable", "private"}:
        return missing
    return None


__all__ = ["failing", "unchecked"]
