"""Stability of libraries and symbols, always with the evidence that decided it.

One small module per evidence source, each with a strength (strongest first):

==============  ==========================================================  ===============
source          module                                                      strength
==============  ==========================================================  ===============
declarations    :mod:`.declared` (``[[library]]`` rules of policy files)    ``DECLARED``
archive history :mod:`.history` (``[[history]]`` entries; built-in Debian)  ``HISTORY``
location        :mod:`.location` (RUNPATH/RPATH into a private directory)   ``LOCATION``
naming          :mod:`.naming` (-release, snapshot dates, internal/private)  ``NAMING``
version nodes   :mod:`.nodes`                                               ``NODES``
soname shape    :mod:`.soname` (weak: never decides alone)                  ``WEAK``
==============  ==========================================================  ===============

The decision rule is :func:`.decide.decide`; :class:`Policy` wires them together and is what
the resolver calls. :mod:`.archive` reads the Debian archive's package lists and computes the
history (``abiguard history``). Policy files: :mod:`.files`, docs/policy.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..soname import split_soname
from .builtin import builtin_policies
from .core import Classification, Policy
from .decide import decide
from .files import (
    HistoryEntry,
    PolicyFile,
    Rule,
    load_policy_file,
    parse_policy,
    policy_from_data,
)
from .history import HistoryIndex
from .signals import (
    DECLARED,
    HISTORY,
    LOCATION,
    NAMING,
    NODES,
    WEAK,
    LibraryFacts,
    Location,
    Signal,
)

if TYPE_CHECKING:
    from .releases import Release


def __getattr__(name: str) -> Any:
    """:class:`Release` (:mod:`.releases`), loaded when first asked for: a scan never reads
    a history's releases."""
    if name == "Release":
        from . import releases

        value = releases.Release
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DECLARED", "HISTORY", "LOCATION", "NAMING", "NODES", "WEAK", "Classification",
    "HistoryEntry", "HistoryIndex", "LibraryFacts", "Location", "Policy", "PolicyFile",
    "Release", "Rule", "Signal", "builtin_policies", "decide", "load_policy_file",
    "parse_policy", "policy_from_data", "split_soname",
]
