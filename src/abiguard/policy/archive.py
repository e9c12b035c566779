"""The Debian archive's history of its shared libraries, read from the package lists of
several suites (``abiguard history``; docs/policy.md).

Debian names each shared library package after its soname (Debian Policy 8.1: ``libssl.so.3``
is in ``libssl3``, ``libbz2.so.1.0`` in ``libbz2-1.0``). Strip that number from the name and a
package's *family* remains (``libssl``, ``libbz2``), whose suites show whether the soname moved
with every upstream release or stayed while upstream moved:

* **stable**: a soname kept while upstream made a feature release (its version moved in its
  first two numbers, or within as many numbers as the soname has: ``libdevmapper1.02.1`` for
  device-mapper 1.02.175 -> 1.02.205, ``libssl3`` for OpenSSL 3.0 -> 3.5); or one soname in
  every suite compared, at least three (``libbz2-1.0``: bzip2 1.0.8 throughout);
* **release-locked** (unstable): at least two sonames, none kept over a feature release, and
  either each soname is the start of its upstream version (``libllvm14`` = LLVM 14.0.6,
  ``libxenmisc4.17`` = Xen 4.17.x, ``libabsl20220623``, ``libpython3.11``) or the soname moved
  at every feature release between the suites, at least twice (``libavcodec58`` -> 59 -> 61);
* **undecided**: anything else (one suite only, one soname that moved once, ...).

Which sonames a family speaks for comes from the suite's Contents index (the shared objects
its packages ship in the public library directories) when the archive gives one; otherwise
they are derived from the package name by Policy 8.1 (``libfoo3`` -> ``libfoo.so.3``), which is
right for about half of them (``libxenmisc4.17`` holds ``libxenctrl.so.4.17`` and five more) -
such releases say ``derived = true``. Release-locked families also speak, through globs
(``libxenctrl.so.*``), for their sonames in releases not compared.
"""

from __future__ import annotations

import json
import lzma
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal, Required, TypedDict

from ..debian.apt import read_index_file
from ..debian.control import version_key
from ..errors import InputFileError
from ..model import Stability
from .releases import Release, release_line

Verdict = Literal["stable", "release-locked", "undecided"]
"""What a family's history says (the module's docstring)."""


class ReleaseData(TypedDict, total=False):
    """One release of a family in a policy file's ``[[history]]`` entry."""

    suite: Required[str]
    package: Required[str]
    version: Required[str]
    upstream: str
    sonames: list[str]
    derived: bool


class HistoryData(TypedDict):
    """A ``[[history]]`` entry of a policy file (:func:`policy_data`)."""

    family: str
    stability: str
    verdict: Verdict
    reason: str
    match: list[str]
    releases: list[ReleaseData]


class PolicyData(TypedDict, total=False):
    """The policy file of a history (:func:`policy_data`; empty when no history was made)."""

    schema: int
    name: str
    description: str
    suites: list[str]
    history: list[HistoryData]

# ---- package names and versions --------------------------------------------------------------

_SUFFIX = re.compile(r"(t64|v5|c2a|c2|c102|ldbl|gf|(?<=\d)[a-z])$")
_LIBPKG = re.compile(r"^(?P<stem>lib[a-z0-9+.-]*?[a-z+])(?P<v1>\d[\d.]*)$"
                     r"|^(?P<stem2>lib[a-z0-9+.-]*?\d[a-z0-9+.]*?)-(?P<v2>\d[\d.]*)$")
_SKIP = re.compile(r"^lib(32|x32|64|n32)|-(i386|amd64|x32|ia32|dev|dbg|doc|udeb)$")
_UPSTREAM = re.compile(r"^\d+(?:\.\d+)*")


def family_of(package: str) -> tuple[str, str] | None:
    """``'libdevmapper1.02.1'`` -> ('libdevmapper', '1.02.1'); ``'libbz2-1.0'`` ->
    ('libbz2', '1.0'); ``'libssl3t64'`` -> ('libssl', '3'); ``'zlib1g'`` -> ('zlib', '1');
    a package not named after a soname -> None."""
    if _SKIP.search(package):
        return None
    if package == "zlib1g":  # Debian's oldest library package name (libz.so.1)
        return "zlib", "1"
    # (a letter after the number marks an ABI variant of the same soname: libpam0g,
    # libharfbuzz0b, libvorbis0a, libstemmer0d)
    base = _SUFFIX.sub("", package)
    m = _LIBPKG.match(base)
    if not m:
        return None
    if m.group("stem"):
        return m.group("stem"), m.group("v1").rstrip(".")
    return m.group("stem2"), m.group("v2").rstrip(".")


def upstream_of(version: str) -> str:
    """The upstream part of a Debian version, as numbers: ``'2:1.02.175-2.1'`` ->
    '1.02.175'; ``'1:1.3.dfsg+really1.3.1-1'`` -> '1.3.1'; ``'0~20200923.3-2'`` ->
    '20200923.3'; ``'4.17.7+13-g2445b30a44-0+deb12u1'`` -> '4.17.7'."""
    v = version.split(":", 1)[-1]
    if "-" in v:
        v = v.rsplit("-", 1)[0]
    if "really" in v:
        v = v.rsplit("really", 1)[1]
    v = v.removeprefix("0~")
    m = _UPSTREAM.match(v)
    return m.group() if m else v


def _nums(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(".") if x.isdigit())


def derived_soname(family: str, number: str) -> str:
    """The soname Policy 8.1 names a package after: ('libfoo', '3') -> 'libfoo.so.3';
    ('libbz2', '1.0') -> 'libbz2.so.1.0'."""
    if family == "zlib":
        return "libz.so.1"
    return f"{family}.so.{number}"


def feature_move(old: str, new: str, depth: int) -> bool:
    """Upstream made a feature release from ``old`` to ``new``: a change in its first two
    numbers, or within the first ``depth`` (the soname's own count of numbers)."""
    a, b = _nums(old), _nums(new)
    if not a or not b or a == b:
        return False
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                 min(len(a), len(b)))
    return first < max(2, depth)


def tracks(number: str, upstream: str) -> bool:
    """The soname number is the start of the upstream version (14 of 14.0.6, 4.17 of
    4.17.7, 1.74.0 of 1.74.0, 20220623 of 20220623.1)."""
    n, u = _nums(number), _nums(upstream)
    return bool(n) and u[:len(n)] == n


# ---- reading the archive's indexes -----------------------------------------------------------

_WANT = ("Package", "Version", "Architecture", "Source")
_FIELD = re.compile(r"^(Package|Version|Architecture|Source|Filename):[ \t]*(.*?)[ \t]*$",
                    re.MULTILINE)
_BAD_LINE = re.compile(r"^(?![A-Za-z0-9][!-9;-~]*:|[ \t]|#|$).*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Package:
    """One binary package of a suite (the newest version of its lists)."""

    name: str
    version: str
    source: str


def read_index(path: str) -> str:
    """The text of an index file (Packages, Contents) in any compression apt uses; a damaged
    or truncated compressed stream is an InputFileError naming the file."""
    try:
        return read_index_file(path)
    except (EOFError, lzma.LZMAError, zlib.error, OSError) as exc:
        reason = "truncated" if isinstance(exc, EOFError) else str(exc) or type(exc).__name__
        raise InputFileError(path, f"cannot read the index: {reason}") from None


def parse_packages(text: str, path: str, arch: str) -> dict[str, Package]:
    """The packages of a Packages index for ``arch`` (newest version of each name), checked:
    a line that is not ``Field: value`` or a continuation, or a stanza without Package,
    Version and Architecture (or without Filename when the index has them: a truncated
    file), is an InputFileError naming the file and the line."""
    bad = _BAD_LINE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise InputFileError(path, f"line {line}: not a 'Field: value' line of a Packages "
                                   f"index: {bad.group()[:60]!r}")
    if text and not text.endswith("\n"):
        raise InputFileError(path, "truncated: the last line does not end")
    out: dict[str, Package] = {}
    with_filename: bool | None = None
    pos = 0
    for block in text.split("\n\n"):
        start, pos = pos, pos + len(block) + 2
        if not block.strip():
            continue
        fields: dict[str, str] = dict(_FIELD.findall(block))
        has = "Filename" in fields
        if with_filename is None:
            with_filename = has
        missing = [f for f in _WANT[:3] if not fields.get(f)]
        if with_filename and not has:
            missing.append("Filename")
        if missing:
            line = text.count("\n", 0, start) + 1 + (block[0] == "\n")
            raise InputFileError(path, f"stanza at line {line} has no {', '.join(missing)}: "
                                       "a broken or truncated Packages index")
        if fields["Architecture"] != arch:
            continue
        name = fields["Package"]
        old = out.get(name)
        if old is not None and (old.version == fields["Version"] or
                                version_key(old.version) >= version_key(fields["Version"])):
            continue
        src = fields.get("Source", name).split(" ", 1)[0] or name
        out[name] = Package(name, fields["Version"], src)
    return out


_LIBDIR = re.compile(r"^(?:usr/)?lib/(?:[a-z0-9_]+-linux-[a-z0-9_]+/)?"
                     r"(lib[^/\s]*\.so(?:\.[0-9][^/\s]*)?)\s+(\S+)$", re.MULTILINE)


def parse_contents(text: str, path: str) -> dict[str, set[str]]:
    """package -> the shared objects it ships directly in the public library directories
    (``usr/lib/<triplet>``, ``lib/<triplet>``, ``usr/lib``, ``lib``), from a Contents index."""
    out: dict[str, set[str]] = defaultdict(set)
    n = 0
    for m in _LIBDIR.finditer(text):
        n += 1
        for loc in m.group(2).split(","):
            out[loc.rsplit("/", 1)[-1]].add(m.group(1))
    if not n and text.strip():
        raise InputFileError(path, "no shared library in this Contents index (not a Contents "
                                   "index, or a damaged one)")
    return dict(out)


@dataclass
class SuiteIndex:
    """What one suite says: its packages, and the shared objects of each (None: the suite's
    Contents index was not available, sonames are derived from package names)."""

    name: str
    packages: dict[str, Package]
    contents: dict[str, set[str]] | None = None
    covered: set[str] = field(default_factory=set)
    """Packages whose Contents index was read: not listed there means no shared object."""


def _index_prefix(path: str) -> str:
    """The part of an apt list file name that a Packages and a Contents index of one
    component share (``…_dists_bookworm_main``)."""
    base = path.rsplit("/", 1)[-1]
    return re.split(r"_binary-|_Contents-", base, maxsplit=1)[0]


def read_suite(name: str, packages: list[str], contents: list[str] | None,
               arch: str) -> SuiteIndex:
    """One suite from its Packages indexes (main, -updates, -security: the newest version of
    each package) and its Contents indexes (None: not available). A package of a Packages
    index that has its Contents index (same apt list name, or the only pair given) and ships
    no shared object there is not a library package."""
    with_contents = set()
    if contents is not None:
        prefixes = {_index_prefix(c) for c in contents}
        with_contents = {p for p in packages if _index_prefix(p) in prefixes}
        if len(packages) == 1 and len(contents) == 1:
            with_contents = set(packages)
    pkgs: dict[str, Package] = {}
    covered: set[str] = set()
    for path in packages:
        for pname, pkg in parse_packages(read_index(path), path, arch).items():
            old = pkgs.get(pname)
            if old is None or (old.version != pkg.version and
                               version_key(pkg.version) > version_key(old.version)):
                pkgs[pname] = pkg
                if path in with_contents:
                    covered.add(pname)
                else:
                    covered.discard(pname)
    files: dict[str, set[str]] | None = None
    if contents is not None:
        files = {}
        for path in contents:
            for pname, sonames in parse_contents(read_index(path), path).items():
                files.setdefault(pname, set()).update(sonames)
    return SuiteIndex(name, pkgs, files, covered)


def sonames_of(files: Iterable[str]) -> tuple[str, ...]:
    """The names of a package's shared objects that can be sonames: without the real file
    behind a soname link (``libz.so.1.2.13`` next to ``libz.so.1``) or glibc's old file names
    (``libc-2.31.so`` next to ``libc.so.6``). (A name without a number, ``libtcl8.6.so``, may
    be the soname itself: it stays.)"""
    names = set(files)
    stems = {n.split(".so.", 1)[0] for n in names if ".so." in n}
    out = []
    for n in names:
        r = _RELEASE_FILE.match(n)
        if r and r.group(1) in stems:
            continue
        head, _, ver = n.partition(".so.")
        if ver.count(".") >= 2 and any(n.startswith(m + ".") for m in names if m != n and
                                       m.startswith(head + ".so.")):
            continue
        out.append(n)
    return tuple(sorted(out))


_RELEASE_FILE = re.compile(r"^(lib.+?)-\d[\d.]*\.so$")


# ---- the history of each family --------------------------------------------------------------


@dataclass
class FamilyRelease:
    suite: str
    package: str
    version: str
    upstream: str
    number: str
    sonames: tuple[str, ...]
    derived: bool


@dataclass
class Family:
    name: str
    releases: list[FamilyRelease] = field(default_factory=list)
    verdict: Verdict = "undecided"
    reason: str = ""
    match: tuple[str, ...] = ()

    @property
    def stability(self) -> Stability:
        return {"stable": Stability.STABLE,
                "release-locked": Stability.UNSTABLE}.get(self.verdict, Stability.UNKNOWN)


def _arrow(items: Iterable[str]) -> str:
    return " → ".join(dict.fromkeys(items))


def _judge(fam: Family, suites: list[str]) -> None:
    by_number: dict[str, list[FamilyRelease]] = defaultdict(list)
    for r in fam.releases:
        by_number[r.number].append(r)
    order = {s: i for i, s in enumerate(suites)}
    # 1. kept: one soname over a feature release of upstream
    for number, rs in by_number.items():
        rs.sort(key=lambda r: order[r.suite])
        depth = len(_nums(number))
        for a, b in pairwise(rs):
            if feature_move(a.upstream, b.upstream, depth):
                pkgs = _arrow(r.package for r in rs)
                fam.verdict = "stable"
                fam.reason = (f"{pkgs} unchanged across {len(rs)} releases while upstream "
                              f"moved {rs[0].upstream} → {rs[-1].upstream}")
                return
    numbers = list(by_number)
    newest: dict[str, FamilyRelease] = {}  # suite -> its newest release of the family
    for r in fam.releases:
        cur = newest.get(r.suite)
        if cur is None or _nums(r.upstream) > _nums(cur.upstream):
            newest[r.suite] = r
    line = [newest[s] for s in suites if s in newest]
    story = _arrow(f"{r.package} ({r.upstream}, {r.suite})" for r in line)
    # 2. release-locked
    if len(numbers) >= 2:
        telling = len(numbers) >= 3 or any(len(_nums(n)) >= 2 for n in numbers)
        if telling and all(tracks(r.number, r.upstream) for r in fam.releases):
            firsts: dict[str, FamilyRelease] = {}
            for r in sorted(fam.releases, key=lambda r: _nums(r.upstream)):
                firsts.setdefault(r.number, r)
            seq = [f"{r.package} = {r.upstream}" for r in firsts.values()]
            if len(seq) > 4:
                seq = [*seq[:2], "…", seq[-1]]
            fam.verdict = "release-locked"
            fam.reason = (f"each soname is its upstream release: {', '.join(seq)} "
                          f"({len(numbers)} sonames in {', '.join(suites)})")
            return
        moves = [(a, b) for a, b in pairwise(line)
                 if feature_move(a.upstream, b.upstream, 2)]
        if len(moves) >= 2 and all(a.number != b.number for a, b in moves):
            fam.verdict = "release-locked"
            fam.reason = f"the soname moved with every upstream release: {story}"
            return
    # 3. one soname in every suite (at least three)
    if len(numbers) == 1 and len(suites) >= 3 and {r.suite for r in fam.releases} >= set(suites):
        rs = by_number[numbers[0]]
        fam.verdict = "stable"
        fam.reason = (f"{_arrow(r.package for r in rs)} unchanged in all {len(suites)} suites "
                      f"(upstream {_arrow(r.upstream for r in rs)})")
        return
    fam.verdict = "undecided"
    fam.reason = f"not enough history to judge: {story}"


def _glob(soname: str, number: str) -> str | None:
    """A glob for the family's other releases: ``libxenctrl.so.4.17`` with 4.17 ->
    ``libxenctrl.so.[0-9]*``; ``libLLVM-14.so.1`` with 14 -> ``libLLVM-[0-9]*.so.1``;
    None when the number is not the soname's release (``libperl.so.5.36.0``: a file name)."""
    i = soname.rfind(number)
    if i <= 0:
        return None
    after = soname[i + len(number):]
    if re.match(r"\.?\d", after) or soname[i - 1].isdigit():
        return None
    return soname[:i] + "[0-9]*" + after


def _own_name(family: str, soname: str) -> bool:
    parts = soname.split(".so", 1)[0].lower().replace("_", "-")
    return parts == family or parts.rstrip("0123456789.-") == family


def _one_family_per_soname(fams: dict[str, Family]) -> None:
    """A soname two families ship (libelogind0 also ships libsystemd.so.0) stays with the
    family named after it (libsystemd), or the first by name."""
    claims: dict[str, list[Family]] = defaultdict(list)
    for fam in sorted(fams.values(), key=lambda f: f.name):
        for so in {so for r in fam.releases for so in r.sonames}:
            claims[so].append(fam)
    for so, owners in claims.items():
        if len(owners) < 2:
            continue
        keep = next((f for f in owners if _own_name(f.name, so)), owners[0])
        for fam in owners:
            if fam is not keep:
                for r in fam.releases:
                    r.sonames = tuple(x for x in r.sonames if x != so)


def analyse(suites: list[SuiteIndex]) -> list[Family]:
    """Every library family of the suites (oldest suite first), with its verdict."""
    names = [s.name for s in suites]
    fams: dict[str, Family] = {}
    for s in suites:
        for pkg in s.packages.values():
            fn = family_of(pkg.name)
            if fn is None:
                continue
            family, number = fn
            listed = None if s.contents is None else s.contents.get(pkg.name)
            if listed:
                sonames, derived = sonames_of(listed), False
            elif pkg.name in s.covered:
                continue  # in the Contents index, with no shared object: not a library
            else:  # no Contents index (or an -updates/-security package it does not list)
                sonames, derived = (derived_soname(family, number),), True
            fam = fams.setdefault(family, Family(family))
            fam.releases.append(FamilyRelease(s.name, pkg.name, pkg.version,
                                              upstream_of(pkg.version), number, sonames,
                                              derived))
    _one_family_per_soname(fams)
    out = []
    order = {n: i for i, n in enumerate(names)}
    for fam in sorted(fams.values(), key=lambda f: f.name):
        fam.releases.sort(key=lambda r: (order[r.suite], _nums(r.upstream), r.package))
        _judge(fam, names)
        match = dict.fromkeys(so for r in fam.releases for so in r.sonames)
        if fam.verdict == "release-locked":
            for r in fam.releases:
                for so in r.sonames:
                    g = _glob(so, r.number)
                    if g:
                        match[g] = None
        fam.match = tuple(match)
        out.append(fam)
    return out


# ---- writing ---------------------------------------------------------------------------------


def _release_data(r: FamilyRelease) -> ReleaseData:
    out: ReleaseData = {"suite": r.suite, "package": r.package, "version": r.version,
                        "upstream": r.upstream, "sonames": list(r.sonames)}
    if r.derived:
        out["derived"] = True
    return out


def _entry(f: Family) -> HistoryData:
    return {"family": f.name, "stability": f.stability.value, "verdict": f.verdict,
            "reason": f.reason, "match": list(f.match),
            "releases": [_release_data(r) for r in f.releases]}


def policy_data(families: list[Family], suites: list[str], description: str,
                decided_only: bool = False) -> PolicyData:
    """The policy file (schema 1) of a history: one ``[[history]]`` entry per family."""
    return {"schema": 1, "name": "debian-history", "description": description,
            "suites": list(suites),
            "history": [_entry(f) for f in families
                        if f.match and (f.verdict != "undecided" or not decided_only)]}


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, int):
        return str(v)
    raise TypeError(type(v))


def to_toml(data: PolicyData) -> str:
    """The policy data as TOML (what ``--policy`` reads)."""
    lines = ["# Generated by abiguard history: the Debian archive's history of its libraries.",
             "# Read by --policy FILE (docs/policy.md).",
             f"schema = {data['schema']}", f"name = {_toml_str(data['name'])}",
             f"description = {_toml_str(data['description'])}",
             f"suites = {_toml_value(data['suites'])}"]
    for e in data["history"]:
        lines += ["", "[[history]]"]
        for k, v in (("family", e["family"]), ("stability", e["stability"]),
                     ("verdict", e["verdict"]), ("reason", e["reason"]), ("match", e["match"])):
            lines.append(f"{k} = {_toml_value(v)}")
        lines.append("releases = [")
        lines += [f"  {_toml_value(r)}," for r in e["releases"]]
        lines.append("]")
    return "\n".join(lines) + "\n"


def to_json(data: PolicyData) -> str:
    """The policy data as JSON, one family per line (diffs stay readable), each release in
    its one-line form (:func:`abiguard.policy.releases.release_line`: a string parses faster than
    a table, and a scan loads the built-in file every time), in ASCII (other characters as
    ``\\u`` escapes: ASCII text decodes ten times faster, and the JSON parser reads it faster
    too)."""

    def compact(e: HistoryData) -> dict[str, object]:
        rel = [r if isinstance(r, str) else release_line(Release(
            r["suite"], r["package"], r["version"], r.get("upstream", ""),
            tuple(r.get("sonames", ())), r.get("derived", False))) for r in e["releases"]]
        return {**e, "releases": rel}

    head = {k: v for k, v in data.items() if k != "history"}
    text = json.dumps(head, separators=(",", ":"))[:-1]
    entries = ",\n".join(json.dumps(compact(e), separators=(",", ":"))
                          for e in data["history"])
    return f'{text},"history":[\n{entries}\n]}}\n'



def counts(families: list[Family]) -> dict[Verdict, int]:
    """Families per verdict."""
    out: dict[Verdict, int] = defaultdict(int)
    for f in families:
        out[f.verdict] += 1
    return dict(out)
