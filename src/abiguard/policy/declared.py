"""Evidence source 1, the strongest: declarations, the ``[[library]]`` rules of policy files.

User files (``--policy FILE``) come before the built-in ones (Xen's own statements, and the
families in ``data/policies/upstream.toml``, each citing upstream's own words); within a file
the first matching rule wins. A rule's glob is matched against the soname, the needed name and
the file name.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable

from .files import PolicyFile, Rule
from .signals import DECLARED, LibraryFacts, Signal


def find_rule(files: list[PolicyFile], names: tuple[str, ...]) -> Rule | None:
    for f in files:
        for rule in f.libraries:
            matches = _glob(rule.match)
            for n in names:
                if matches(n):
                    return rule
    return None


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str) -> Callable[[str], object]:
    """``fnmatch.fnmatchcase(name, pattern)`` as a compiled regex's match method (every
    library of a scan is held against every rule: no pattern cache looked up each time)."""
    return re.compile(fnmatch.translate(pattern)).match


def signal(facts: LibraryFacts, files: list[PolicyFile]) -> Signal | None:
    rule = find_rule(files, facts.names)
    if rule is None:
        return None
    ev = rule.evidence(f"library {facts.key}")
    return Signal("policy", DECLARED, rule.stability, ev.detail,
                  brief=f"declared {rule.stability.value} by {rule.origin}", origin=rule.origin)
