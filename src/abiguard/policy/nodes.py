"""Evidence source 5: the library's symbol version nodes (``.gnu.version_d``).

* one interface node naming the release that is also in the library's name (``LLVM_14`` in
  ``libLLVM-14.so.1``, ``VERS_4.17.0`` in ``libxenctrl.so.4.17``): a catch-all node made
  for one release -> unstable;
* two or more interface-numbered nodes (``NSS_3.2`` .. ``NSS_3.110``, ``GLIBC_2.2.5`` ..
  ``GLIBC_2.36``): old interfaces are kept as new ones are added -> stable;
* interface-numbered nodes next to a ``*PRIVATE*`` node (``LIBDBUS_1_3`` and
  ``LIBDBUS_PRIVATE_1.14.10``): the public ABI is kept apart from the internals -> stable;
* a single interface-numbered node whose major is the soname's (``VERS_1.0`` in
  ``libxencall.so.1``): versioned from the start, nothing accumulated yet -> weak, stable;
* nodes without interface numbers (``SD_SHARED``) or none at all: a fact, no vote.

``*PRIVATE*`` nodes (``GLIBC_PRIVATE``) make the symbols bound to them private; that is decided
per symbol (:meth:`abiguard.policy.Policy.classify_symbol`), here they are only left out.
"""

from __future__ import annotations

import functools
import re

from ..model import Stability
from ..soname import numbers, split_soname
from .naming import release_in_name
from .signals import NODES, WEAK, LibraryFacts, Signal

_NODE_NUMBER = re.compile(r"(\d+(?:[._]\d+)*)$")


@functools.lru_cache(maxsize=8192)  # (libraries share node names: GLIBC_2.2.5, GCC_3.0, ...)
def node_number(node: str) -> tuple[int, ...]:
    """``'VERS_4.17.0'`` -> (4, 17, 0); ``'LLVM_14'`` -> (14,); ``'SD_SHARED'`` -> ()."""
    m = _NODE_NUMBER.search(node)
    return numbers(m.group(1)) if m else ()


def _release_candidates(name: str) -> list[tuple[tuple[int, ...], bool]]:
    """Releases the name may carry, and whether a node naming one must say more than it:
    a soname's numbers (``4.17`` of ``libxenctrl.so.4.17``) are a release when the node
    names a fuller one (``VERS_4.17.0``); the same numbers alone (``APTPKG_6.0`` in
    ``libapt-pkg.so.6.0``) are just the ABI version. A release in the name itself (``14`` of
    ``libLLVM-14.so.1``) counts when the node names it (``LLVM_14``)."""
    out = []
    parts = split_soname(name)
    if parts and len(parts[1]) >= 2:
        out.append((numbers(".".join(parts[1])), True))
    rel = release_in_name(name)
    if rel:
        out.append((rel, False))
    return [c for c in out if c[0]]


def _span(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} .. {names[-1]}"


def signals(facts: LibraryFacts) -> list[Signal]:
    elf = facts.elf
    if elf is None:
        return []
    name = facts.name
    nodes = [d.name for d in elf.version_defs if not d.is_base]
    if not nodes:
        return [Signal("version-node", NODES, Stability.UNKNOWN,
                       f"{name} defines no symbol versions", brief="no symbol versions")]
    private = [n for n in nodes if "PRIVATE" in n.upper()]
    iface = [n for n in nodes if n not in private]
    numbered = [(n, num) for n in iface if (num := node_number(n))]
    for cand, fuller in _release_candidates(name):
        for node, num in numbered:
            if (len(num) > len(cand) if fuller else len(num) >= len(cand)) and \
                    num[:len(cand)] == cand and (len(cand) >= 2 or num == cand):
                rel = ".".join(map(str, cand))
                return [Signal("version-node", NODES, Stability.UNSTABLE,
                               f"version node {node} names the release {rel} that is also in "
                               f"the name {name}: a node made for one release, the ABI is "
                               "tied to it", brief=f"node {node} names release {rel}")]
    if private and numbered:
        names = [n for n, _ in numbered]
        return [Signal("version-node", NODES, Stability.STABLE,
                       f"interface version node {_span(names)} next to the private node "
                       f"{private[0]}: the library keeps its public ABI apart from its internal "
                       "interfaces", brief=f"public node {names[0]} apart from {private[0]}")]
    if len({num for _, num in numbered}) >= 2:
        names = [n for n, _ in numbered]
        return [Signal("version-node", NODES, Stability.STABLE,
                       f"{len(names)} interface-numbered version nodes ({_span(names)}) "
                       "accumulate old interfaces as new ones are added: the ABI is kept "
                       "across releases", brief=f"{len(names)} accumulating nodes")]
    parts = split_soname(name)
    major = numbers(parts[1][0]) if parts and parts[1] else ()
    if len(numbered) == 1 and major and numbered[0][1][:1] == major:
        node = numbered[0][0]
        return [Signal("version-node", WEAK, Stability.STABLE,
                       f"one interface-numbered version node ({node}) with the soname's major "
                       f"{major[0]}: versioned from the start, nothing accumulated yet",
                       brief=f"one node {node}")]
    plain = [n for n in iface if not node_number(n)] + [n for n, _ in numbered]
    if not plain:
        return [Signal("version-node", NODES, Stability.UNKNOWN,
                       f"{name} defines only private version nodes ({_span(private)})",
                       brief="only private nodes")]
    what = "version node" if len(plain) == 1 else "version nodes"
    return [Signal("version-node", NODES, Stability.UNKNOWN,
                   f"{name} defines the {what} {_span(plain)}"
                   + (" (no interface numbers)" if not numbered else ""),
                   brief=f"{what} {_span(plain)}")]
