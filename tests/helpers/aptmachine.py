"""A private apt configuration for "a bookworm machine whose sources also list trixie, pinned
at 100" (as people do to test the next release), and apt's own answers under it.

The machine's apt configuration is only read, never changed: the entries are the machine's
own (its main entry, the one listing its release, lists the next release too), with a
preferences file pinning that release to 100, private lists and caches, and the machine's
dpkg status (what is installed is the machine's). Tests point abiguard at it with
``APT_CONFIG``, as a user would. The lists are fetched with ``apt-get update`` into the
private directory (kept in abiguard's cache for a day: they are a download, like the .debs).

The oracle functions ask apt itself (``apt-cache policy``, ``madison``, ``rdepends``,
``showsrc``) and dpkg (``--compare-versions``): nobody here wrote them.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from functools import cmp_to_key
from pathlib import Path

from abiguard.cachedir import cache_dir
from abiguard.debian.sourceslist import machine_codename, machine_entries, stanza_suites

NEXT = {"bookworm": "trixie", "trixie": "forky"}
"""The release after the machine's: the one the private configuration lists pinned at 100."""


def two_suite_config() -> tuple[Path, str, str]:
    """(the APT_CONFIG file, the machine's release, the other release), lists fetched."""
    release = machine_codename()
    assert release in NEXT, f"a Debian release with a successor expected, not {release}"
    other = NEXT[release]
    root = cache_dir() / "test-apt" / f"{release}+{other}-pinned-100"
    for sub in ("lists/partial", "cache/archives/partial", "sources.list.d", "preferences.d"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    stanzas = []
    for stanza in machine_entries("deb"):
        if release in stanza_suites(stanza):
            stanza = re.sub(r"(?im)^(suites:.*)$", rf"\1 {other}", stanza, count=1)
        stanzas.append(stanza)
    assert any(other in stanza_suites(s) for s in stanzas), "no entry of the machine's release"
    files = {
        "sources.sources": "\n\n".join(stanzas) + "\n",
        "preferences": f"Package: *\nPin: release n={other}\nPin-Priority: 100\n",
        "apt.conf": "\n".join([
            f'Dir::Etc::sourcelist "{root / "sources.sources"}";',
            f'Dir::Etc::sourceparts "{root / "sources.list.d"}";',
            f'Dir::Etc::preferences "{root / "preferences"}";',
            f'Dir::Etc::preferencesparts "{root / "preferences.d"}";',
            f'Dir::State::Lists "{root / "lists"}";',
            f'Dir::Cache "{root / "cache"}";',
            'Dir::Cache::pkgcache "pkgcache.bin";',
            'Dir::Cache::srcpkgcache "srcpkgcache.bin";',
            'Acquire::Languages "none";',
            'APT::Sandbox::User "root";' if os.geteuid() == 0 else 'Debug::NoLocking "true";',
            ""]),
    }
    changed = False
    for name, text in files.items():
        p = root / name
        if not p.is_file() or p.read_text() != text:
            p.write_text(text)
            changed = True
    stamp = root / "updated"
    if changed or not stamp.is_file() or time.time() - stamp.stat().st_mtime > 86400:
        subprocess.run(["apt-get", "-q", "update"], check=True, capture_output=True,
                       env=apt_env(root / "apt.conf"))
        stamp.write_text("ok\n")
    return root / "apt.conf", release, other


def apt_env(conf: Path | str | None) -> dict[str, str]:
    env = {**os.environ, "LC_ALL": "C"}
    env.pop("APT_CONFIG", None)
    if conf:
        env["APT_CONFIG"] = str(conf)
    return env


def apt_cache(args: list[str], conf: Path | str | None = None,
              extra: list[str] = ()) -> str:
    return subprocess.run(["apt-cache", *extra, *args], capture_output=True, text=True,
                          check=False, env=apt_env(conf)).stdout


def candidates(names: list[str], conf: Path | str | None = None) -> dict[str, str | None]:
    """``Candidate:`` of each name, one ``apt-cache policy NAME…`` (None: no candidate)."""
    out: dict[str, str | None] = dict.fromkeys(names)
    cur = None
    for line in apt_cache(["policy", *names], conf).splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            cur = line[:-1]
        elif cur in out and line.strip().startswith("Candidate:"):
            value = line.split(":", 1)[1].strip()
            out[cur] = None if value == "(none)" else value
    return out


def candidate(name: str, conf: Path | str | None = None) -> str | None:
    return candidates([name], conf)[name]


def version_table(name: str, conf: Path | str | None = None) -> dict[str, list[str]]:
    """version -> the lines naming where it comes from, of ``apt-cache policy NAME``."""
    out: dict[str, list[str]] = {}
    cur = None
    for line in apt_cache(["policy", name], conf).splitlines():
        m = re.match(r"^ (?:\*\*\*| {3}) (\S+) (-?\d+)$", line)
        if m:
            cur = m.group(1)
            out[cur] = []
        elif cur is not None and line.startswith("        "):
            out[cur].append(line.strip())
    return out


def versions(name: str, conf: Path | str | None = None, extra: list[str] = ()) -> list[str]:
    """Every version of ``apt-cache madison NAME``."""
    return list(dict.fromkeys(p.split("|")[1].strip() for p in apt_cache(
        ["madison", name], conf, extra).splitlines() if p.count("|") >= 2))


def newest(vs: list[str]) -> str:
    def cmp(a: str, b: str) -> int:
        if a == b:
            return 0
        lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False)
        return -1 if lt.returncode == 0 else 1

    return max(vs, key=cmp_to_key(cmp))


USE_FIELDS = ("Pre-Depends", "Depends", "Recommends", "Suggests", "Enhances")


def rdepends(names: list[str], conf: Path | str | None = None) -> set[str]:
    """The packages ``apt-cache rdepends NAME…`` lists as using them (Conflicts, Breaks and
    Replaces left out: they are not use). For a purely virtual name, which rdepends does not
    list, the ``Reverse Depends`` of ``apt-cache showpkg`` whose candidate names it in one
    of USE_FIELDS."""
    text = apt_cache(["rdepends", "--no-conflicts", "--no-breaks", "--no-replaces", *names],
                     conf)
    out: set[str] = set()
    real: set[str] = set()
    for line in text.splitlines():
        if line and not line.startswith(" "):
            real.add(line.strip())
        elif line.startswith("  "):
            out.add(line.strip().lstrip("|"))
    virtuals = sorted(set(names) - real)
    if not virtuals:
        return out
    users: dict[str, set[str]] = {}  # user -> the virtual names it is listed for
    for block in apt_cache(["showpkg", *virtuals], conf).split("\nPackage: ")[0:]:
        name = block.removeprefix("Package: ").split("\n", 1)[0].strip()
        if "Reverse Depends:" not in block:
            continue
        rev = block.split("Reverse Depends:", 1)[1].split("Dependencies:", 1)[0]
        for ln in rev.splitlines():
            if ln.strip():
                users.setdefault(ln.strip().split(",")[0], set()).add(name)
    for user, f in shown(sorted(users), conf).items():
        for virtual in users.get(user, ()):
            if any(re.search(rf"(^|[,|]\s*){re.escape(virtual)}([\s:(,|]|$)", f.get(k, ""))
                   for k in USE_FIELDS):
                out.add(user)
    return out


def shown(names: list[str], conf: Path | str | None = None) -> dict[str, dict[str, str]]:
    """The candidate's fields of each name (``apt-cache show --no-all-versions NAME…``)."""
    out: dict[str, dict[str, str]] = {}
    text = apt_cache(["show", "--no-all-versions", *names], conf)
    for para in text.replace("\n ", " ").split("\n\n"):
        fields = dict(ln.split(": ", 1) for ln in para.splitlines() if ": " in ln)
        if fields.get("Package"):
            out.setdefault(fields["Package"], fields)
    return out


def binaries_of(source: str, conf: Path | str | None = None) -> tuple[set[str], set[str]]:
    """(the binary packages whose candidate is built from ``source``, the virtual names they
    provide): ``apt-cache showsrc`` under abiguard's deb-src configuration derived from the
    machine's entries (every version), then ``apt-cache show`` under ``conf``."""
    from abiguard.debian import suites

    text = apt_cache(["showsrc", source], extra=suites.sources().config.args())
    names = set()
    for line in text.replace("\n ", " ").splitlines():
        if line.startswith("Binary:"):
            names |= {b.strip() for b in line.split(":", 1)[1].split(",")}
    assert names, text[:300]
    built, provided = set(), set()
    for name, f in shown(sorted(names), conf).items():
        if f.get("Source", name).split()[0] == source:
            built.add(name)
            provided |= {p.split()[0].split(":")[0] for p in f.get("Provides", "").split(",")
                         if p.strip()}
    return built, provided
