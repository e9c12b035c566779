"""The machine's apt sources, read where its apt configuration says they are.

apt is asked where its source lists are (``apt-config shell`` honours ``APT_CONFIG``, as
apt-get does), so a machine with its own configuration is read as apt reads it. Entries in
both formats come out as deb822 stanzas (text), comments dropped and disabled ones
(``Enabled: no``) skipped; one-line entries are rewritten. No mirror is ever named in
abiguard: derived configurations (:mod:`abiguard.debian.suites`) reuse these entries'
URIs, components and keyrings.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .control import first_paragraph, raw_paragraphs


def entries_from_deb822(text: str, types: str = "deb-src") -> list[str]:
    """Each enabled stanza whose ``Types`` include ``deb`` or ``deb-src``, copied with
    ``Types: <types>`` (comments dropped)."""
    out: list[str] = []
    for lines in raw_paragraphs(text):
        fields = first_paragraph("\n".join(lines))
        kinds = fields.get("types", "").split()
        if "deb" not in kinds and "deb-src" not in kinds:
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        out.append("\n".join(f"Types: {types}" if re.match(r"(?i)types\s*:", ln) else ln
                             for ln in lines))
    return out


def entries_from_one_line(text: str, types: str = "deb-src") -> list[str]:
    """``deb [opts] URI SUITE COMPONENT…`` lines rewritten as deb822 stanzas of ``types``."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        m = re.match(r"(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)", line)
        if not m:
            continue
        _typ, opts, uri, suite, comps = m.groups()
        lines = [f"Types: {types}", f"URIs: {uri}", f"Suites: {suite}"]
        if comps.strip():
            lines.append(f"Components: {comps.strip()}")
        for opt in (opts or "").split():
            k, _, v = opt.partition("=")
            if k == "signed-by":
                lines.append(f"Signed-By: {v}")
            elif k == "trusted":
                lines.append(f"Trusted: {v}")
        out.append("\n".join(lines))
    return out


def apt_source_paths() -> tuple[Path, Path]:
    """(the sources.list file, the sources.list.d directory) of this machine's apt
    configuration (``APT_CONFIG`` honoured); apt's defaults without ``apt-config``."""
    default = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
    if shutil.which("apt-config") is None:
        return default
    proc = subprocess.run(["apt-config", "shell", "SL", "Dir::Etc::sourcelist/f",
                           "SP", "Dir::Etc::sourceparts/d"], capture_output=True, text=True,
                          check=False, env={**os.environ, "LC_ALL": "C"})
    got = dict(re.findall(r"^(SL|SP)='(.*)'$", proc.stdout, re.MULTILINE))
    if proc.returncode != 0 or "SL" not in got:
        return default
    return Path(got["SL"]), Path(got.get("SP") or default[1])


def machine_entries(types: str = "deb", sources_list: Path | None = None,
                    sources_dir: Path | None = None) -> list[str]:
    """The machine's apt entries (deb and deb-src) as deb822 stanzas of ``types``, in apt's
    reading order, duplicates dropped."""
    if sources_list is None or sources_dir is None:
        default_list, default_dir = apt_source_paths()
        sources_list = sources_list or default_list
        sources_dir = sources_dir or default_dir
    stanzas: list[str] = []

    def read(p: Path) -> None:
        text = p.read_text(errors="replace")
        if p.suffix == ".sources":
            stanzas.extend(entries_from_deb822(text, types))
        else:
            stanzas.extend(entries_from_one_line(text, types))

    if sources_list.is_file():
        read(sources_list)
    if sources_dir.is_dir():
        for p in sorted(sources_dir.iterdir()):
            if p.suffix in (".sources", ".list") and p.is_file():
                read(p)
    return list(dict.fromkeys(stanzas))


def stanza_suites(stanza: str) -> list[str]:
    return first_paragraph(stanza).get("suites", "").split()


def release_of(suite: str) -> str:
    """``trixie-security`` -> ``trixie``."""
    return suite.partition("-")[0]


def retarget_suites(suites: str, suite: str) -> str:
    """Replace the release part of each suite name: ``bookworm bookworm-updates`` ->
    ``trixie trixie-updates``; ``stable-security`` -> ``trixie-security``."""
    return " ".join(dict.fromkeys(
        suite + (s[len(release_of(s)):]) for s in suites.split()))


def distribution_entries(stanzas: list[str], releases: set[str] | None) -> list[str]:
    """The stanzas of the machine's distribution: those naming a suite of one of
    ``releases`` (e.g. the machine's codename; None keeps all). Third-party entries
    (``nodistro``, ``cloud-sdk-bookworm``) have no counterpart in another release."""
    if releases is None:
        return stanzas
    return [s for s in stanzas if any(release_of(x) in releases for x in stanza_suites(s))]


def retarget(stanza: str, suite: str) -> str:
    """A stanza with its Suites moved to another release (its -updates, -security kept)."""
    out = []
    for ln in stanza.splitlines():
        key, sep, value = ln.partition(":")
        if sep and key.strip().lower() == "suites":
            out.append(f"Suites: {retarget_suites(value, suite)}")
        else:
            out.append(ln)
    return "\n".join(out)


def machine_codename(os_release: Path = Path("/etc/os-release")) -> str | None:
    try:
        text = os_release.read_text()
    except OSError:
        return None
    m = re.search(r"^VERSION_CODENAME=\"?([a-z]+)\"?$", text, re.MULTILINE)
    return m.group(1) if m else None


__all__ = ["apt_source_paths", "distribution_entries", "entries_from_deb822",
           "entries_from_one_line", "machine_codename", "machine_entries", "release_of",
           "retarget", "retarget_suites", "stanza_suites"]
