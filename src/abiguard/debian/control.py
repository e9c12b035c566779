"""Debian control data: deb822 paragraphs, relation fields, versions, the Source field.

One reader for every place abiguard meets control data: a .deb's control file, apt's
``Packages`` records (``apt-cache show``/``dumpavail``, a ``--packages-file``), ``Sources``
records (``apt-cache showsrc``) and an unpacked root's ``DEBIAN/control``.

Field names are case-insensitive in deb822; the reader gives them in lower case.
Continuation lines are joined with a single space (enough for every field abiguard reads:
relations, Binary, Source; not for Description).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from debian.debian_support import Version

RELATION_FIELDS = ("pre-depends", "depends", "recommends", "suggests", "enhances")
"""The fields by which a package declares that it uses another (the census' consumers).
Conflicts, Breaks and Replaces declare the opposite and are never read as use."""

def iter_paragraphs(text: str, fields: Iterable[str] | None = None
                    ) -> Iterator[dict[str, str]]:
    """The paragraphs of a deb822 text as {lower-case field: value}; with ``fields`` (lower
    case), only those. Comment lines (``#``) are skipped; a continuation line without a
    field before it is ignored."""
    keep = None if fields is None else frozenset(fields)
    for block in re.split(r"\n[ \t]*\n", text):
        out: dict[str, str] = {}
        last: str | None = None
        for line in block.splitlines():
            if not line or line[0] == "#":
                continue
            if line[0] in " \t":
                if last is not None and line.strip():
                    out[last] += " " + line.strip()
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                last = None
                continue
            key = name.strip().lower()
            if (keep is not None and key not in keep) or key in out:
                last = None  # not wanted, or repeated (the first one counts, as in dpkg)
                continue
            out[key] = value.strip()
            last = key
        if out:
            yield out


def raw_paragraphs(text: str) -> list[list[str]]:
    """The paragraphs of a deb822 text as their lines, comment lines dropped (for files
    that are rewritten rather than read, such as apt's ``.sources``: a multi-line field such
    as an embedded ``Signed-By`` key keeps its lines)."""
    out: list[list[str]] = []
    cur: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
                cur = []
        elif not line.startswith("#"):
            cur.append(line)
    if cur:
        out.append(cur)
    return out


def first_paragraph(text: str, fields: Iterable[str] | None = None) -> dict[str, str]:
    """The first paragraph of a deb822 text ({} when there is none)."""
    return next(iter_paragraphs(text, fields), {})


# --------------------------------------------------------------------------------------------
# Relations: Depends, Pre-Depends, Recommends, Suggests, Enhances, Provides, Build-Depends
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Relation:
    """One alternative of a relation field: ``name[:qualifier] [(op version)] [[archs]]``."""

    name: str
    qualifier: str | None = None
    """The architecture qualifier after ':' (``any``, ``native``, ``amd64``), if any."""
    op: str | None = None
    """``<<``, ``<=``, ``=``, ``>=`` or ``>>`` (the obsolete ``<`` and ``>`` are read as
    ``<=`` and ``>=``, as dpkg does)."""
    version: str | None = None
    archs: tuple[str, ...] = ()
    """The architecture restriction list (``[amd64 !i386]``), as written."""

    def applies_to(self, arch: str | None) -> bool:
        """Whether the relation holds on ``arch`` (always, without a restriction list or
        without an architecture to check)."""
        if not self.archs or arch is None:
            return True
        negated = [a[1:] for a in self.archs if a.startswith("!")]
        if negated:
            return arch not in negated
        return arch in self.archs

    def satisfied_by(self, version: str) -> bool:
        """Whether a package of this name at ``version`` satisfies the relation."""
        if self.op is None or self.version is None:
            return True
        c = compare_versions(version, self.version)
        return {"<<": c < 0, "<=": c <= 0, "=": c == 0, ">=": c >= 0, ">>": c > 0}[self.op]


_RELATION = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9+.\-]*)(?::(?P<qual>[A-Za-z0-9\-]+))?\s*"
    r"(?:\(\s*(?P<op><<|<=|>=|>>|=|<|>)\s*(?P<ver>[^)\s]+)\s*\))?\s*"
    r"(?:\[(?P<archs>[^\]]*)\])?\s*(?:<[^>]*>\s*)*$")
_OPS = {"<": "<=", ">": ">="}


@cache
def _relation(text: str) -> Relation | None:
    m = _RELATION.match(text)
    if m is None:
        return None
    op = m.group("op")
    return Relation(m.group("name"), m.group("qual"), _OPS.get(op, op), m.group("ver"),
                    tuple(m.group("archs").split()) if m.group("archs") else ())


def parse_relations(text: str, arch: str | None = None) -> list[list[Relation]]:
    """A relation field as a list of groups, each a list of alternatives (``a | b``).

    With ``arch``, alternatives restricted to other architectures are left out (and groups
    left empty by that). Malformed alternatives are skipped: a field is never an error."""
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        alts = []
        for alt in part.split("|"):
            rel = _relation(alt)
            if rel is not None and rel.applies_to(arch):
                alts.append(rel)
        if alts:
            out.append(alts)
    return out


def relation_names(text: str, arch: str | None = None) -> set[str]:
    """Every package name a relation field mentions (any alternative)."""
    return {r.name for alts in parse_relations(text, arch) for r in alts}


# --------------------------------------------------------------------------------------------
# Versions and the Source field
# --------------------------------------------------------------------------------------------


def version_key(version: str) -> Version:
    """A sort key comparing Debian versions as dpkg does (python-debian's Version; imported
    here, when a version is first compared: it costs a scan's start-up 20 ms)."""
    from debian.debian_support import Version

    return Version(version)


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as dpkg --compare-versions orders a and b."""
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


def newest(versions: Iterable[str]) -> str | None:
    """The highest of some Debian versions (None for none)."""
    best = None
    for v in versions:
        if best is None or compare_versions(v, best) > 0:
            best = v
    return best


_SOURCE = re.compile(r"^\s*(\S+)(?:\s*\(\s*([^)\s]+)\s*\))?\s*$")


def source_of(fields: dict[str, str]) -> tuple[str, str]:
    """(source package name, source version) of a binary package's fields: the Source field
    (``xen`` or ``qemu (1:7.2+dfsg-7+deb12u18)`` for a binNMU), else the package itself."""
    package, version = fields.get("package", ""), fields.get("version", "")
    m = _SOURCE.match(fields.get("source", ""))
    if m is None:
        return package, version
    return m.group(1), m.group(2) or version


__all__ = ["RELATION_FIELDS", "Relation", "compare_versions", "first_paragraph",
           "iter_paragraphs", "newest", "parse_relations", "raw_paragraphs", "relation_names", "source_of",
           "version_key"]
