"""abiguard history: library families across Debian suites, offline from Packages/Contents
files and (integration) from the real archive through apt."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.errors import InputFileError
from abiguard.model import Stability
from abiguard.pipeline import ScanOptions, scan_paths
from abiguard.policy import archive, parse_policy
from helpers.cfixtures import shared_lib


def stanza(name: str, version: str, arch: str = "amd64", source: str | None = None) -> str:
    return (f"Package: {name}\nSource: {source or name}\nVersion: {version}\n"
            f"Architecture: {arch}\nDepends: libc6\nDescription: test\n "
            f"continuation line\nFilename: pool/{name}_{version}_{arch}.deb\nSize: 1\n\n")


SUITES = {
    "old": [("libdev1.02.1", "2:1.02.175-1"), ("libfoo4.14", "4.14.6-1"),
            ("libbz2-1.0", "1.0.8-4"), ("libav58", "7:4.3.9-0"), ("libone1", "1.0-1"),
            ("libssl1.1", "1.1.1w-0"), ("bash", "5.1-2"), ("libfoo-dev", "4.14.6-1"),
            ("libabsl20200923", "0~20200923.3-2")],
    "mid": [("libdev1.02.1", "2:1.02.185-2"), ("libfoo4.17", "4.17.7-1"),
            ("libbz2-1.0", "1.0.8-5"), ("libav59", "7:5.1.9-0"), ("libssl3", "3.0.17-1"),
            ("libabsl20220623", "20220623.1-1")],
    "new": [("libdev1.02.1", "2:1.02.205-2"), ("libfoo4.20", "4.20.4-1"),
            ("libbz2-1.0", "1.0.8-6"), ("libav61", "7:7.1.5-0"), ("libone2", "2.0-1"),
            ("libssl3t64", "3.5.9-1"), ("libabsl20240722", "20240722.0-4")],
}
# mid's Contents: libfoo4.17 ships Xen-like libraries whose names its package does not tell
CONTENTS_MID = """\
usr/lib/x86_64-linux-gnu/libctrl.so.4.17                    libs/libfoo4.17
usr/lib/x86_64-linux-gnu/libctrl.so.4.17.0                  libs/libfoo4.17
usr/lib/x86_64-linux-gnu/libguest.so.4.17                   libs/libfoo4.17
usr/lib/x86_64-linux-gnu/libdevmapper.so.1.02.1             libs/libdev1.02.1
usr/lib/x86_64-linux-gnu/libbz2.so.1.0                      libs/libbz2-1.0
usr/lib/x86_64-linux-gnu/libavcodec.so.59                   libs/libav59
usr/lib/x86_64-linux-gnu/libssl.so.3                        libs/libssl3
usr/lib/x86_64-linux-gnu/libcrypto.so.3                     libs/libssl3
usr/lib/x86_64-linux-gnu/libabsl_base.so.20220623           libs/libabsl20220623
usr/share/doc/libssl3/copyright                             doc/libssl3
"""


@pytest.fixture()
def lists(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for suite, pkgs in SUITES.items():
        text = "".join(stanza(n, v) for n, v in pkgs) + stanza("libdev1.02.1", "1:0.1-1")
        p = tmp_path / f"{suite}-Packages.gz"
        with gzip.open(p, "wt") as fh:
            fh.write(text)
        out[suite] = p
    out["contents"] = tmp_path / "mid-Contents.gz"
    with gzip.open(out["contents"], "wt") as fh:
        fh.write(CONTENTS_MID)
    return out


def args(lists: dict[str, Path], *extra: str) -> list[str]:
    return ["history", *[a for s in ("old", "mid", "new")
                         for a in ("--packages-file", f"{s}={lists[s]}")],
            "--contents-file", f"mid={lists['contents']}", *extra]


def test_names_and_versions():
    assert archive.family_of("libdevmapper1.02.1") == ("libdevmapper", "1.02.1")
    assert archive.family_of("libbz2-1.0") == ("libbz2", "1.0")
    assert archive.family_of("libssl3t64") == ("libssl", "3")
    assert archive.family_of("libgtk-3-0") == ("libgtk-3", "0")
    assert archive.family_of("libglib2.0-0t64") == ("libglib2.0", "0")
    assert archive.family_of("zlib1g") == ("zlib", "1")
    assert archive.family_of("libpam0g") == ("libpam", "0")
    assert archive.family_of("libharfbuzz0b") == ("libharfbuzz", "0")
    for name in ("bash", "libfoo-dev", "libc6-i386", "lib32z1", "libjs-jquery", "python3.11"):
        assert archive.family_of(name) is None, name
    assert archive.upstream_of("2:1.02.175-2.1") == "1.02.175"
    assert archive.upstream_of("1:1.3.dfsg+really1.3.1-1+deb13u1") == "1.3.1"
    assert archive.upstream_of("0~20200923.3-2") == "20200923.3"
    assert archive.upstream_of("4.17.7+13-g2445b30a44-0+deb12u1") == "4.17.7"
    assert archive.feature_move("1.02.175", "1.02.185", 3)      # within the soname's numbers
    assert archive.feature_move("3.0.17", "3.5.9", 1)          # a minor release
    assert not archive.feature_move("4.17.5", "4.17.7", 2)     # a patch release
    assert archive.tracks("4.17", "4.17.7") and archive.tracks("14", "14.0.6")
    assert not archive.tracks("1.02.1", "1.02.175") and not archive.tracks("30", "3.7.9")
    assert archive.sonames_of(["libz.so.1", "libz.so.1.2.13", "libc-2.31.so", "libc.so.6",
                               "libLLVM-14.so", "libLLVM-14.so.1", "libbz2.so.1.0"]) == \
        ("libLLVM-14.so", "libLLVM-14.so.1", "libbz2.so.1.0", "libc.so.6", "libz.so.1")


def test_history_offline_verdicts_and_toml(lists, tmp_path, capsys):
    out = tmp_path / "h.toml"
    assert main(args(lists, "-o", str(out))) == 0
    err = capsys.readouterr().err
    assert "history of 7 library families in old, mid, new: 3 stable, 3 release-locked, " \
           "1 undecided" in err
    assert "old: no --contents-file: its sonames are derived from package names" in err
    pf = parse_policy(out.read_text(), str(out))
    fam = {e.family: e for e in pf.history}
    assert fam["libdev"].verdict == "stable"
    assert fam["libdev"].reason == ("libdev1.02.1 unchanged across 3 releases while upstream "
                                    "moved 1.02.175 → 1.02.205")
    assert fam["libbz2"].verdict == "stable" and "unchanged in all 3 suites" in fam["libbz2"].reason
    assert fam["libssl"].verdict == "stable" and "3.0.17 → 3.5.9" in fam["libssl"].reason
    assert fam["libfoo"].verdict == "release-locked"
    assert "libfoo4.14 = 4.14.6, libfoo4.17 = 4.17.7, libfoo4.20 = 4.20.4" in fam["libfoo"].reason
    assert fam["libav"].verdict == "release-locked"
    assert fam["libabsl"].verdict == "release-locked"
    assert fam["libone"].verdict == "undecided" and fam["libone"].stability == Stability.UNKNOWN
    # sonames: mid's from its Contents index, the others derived from the package names
    rel = {r.suite: r for r in fam["libfoo"].releases}
    assert rel["mid"].sonames == ("libctrl.so.4.17", "libguest.so.4.17") and not rel["mid"].derived
    assert rel["old"].sonames == ("libfoo.so.4.14",) and rel["old"].derived
    assert "libctrl.so.[0-9]*" in fam["libfoo"].match
    assert {r.sonames for r in fam["libssl"].releases if r.suite == "mid"} == \
        {("libcrypto.so.3", "libssl.so.3")}


def test_history_policy_classifies_a_scan(lists, tmp_path, capsys):
    """The written TOML is a policy file: a library of a release-locked family that no
    other source knows (libctrl.so.4.21) is unstable through it."""
    out = tmp_path / "h.toml"
    assert main(args(lists, "-o", str(out))) == 0
    lib = tmp_path / "lib"
    shared_lib(lib, "libctrl.so.4.21", "int c(void){return 1;}")
    from helpers.cfixtures import program

    program(tmp_path, "app", "int c(void); int main(void){return c();}",
            link=(f"-L{lib}", "-lctrl", "-Wl,-rpath,$ORIGIN/lib"))
    a = scan_paths([str(tmp_path / "app")], ScanOptions(policies=[str(out)]))
    (c,) = [x for x in a.consumers[0].libraries if x.key == "libctrl.so.4.21"]
    assert c.stability == Stability.UNSTABLE and c.evidence[0].source == "history"
    assert c.evidence[0].origin == str(out)
    b = scan_paths([str(tmp_path / "app")])
    (c,) = [x for x in b.consumers[0].libraries if x.key == "libctrl.so.4.21"]
    assert c.stability == Stability.UNKNOWN  # the shape alone does not decide


def test_history_formats_filters_and_cache(lists, capsys, tmp_path, empty_cache):
    assert main(args(lists, "-f", "json", "--family", "libdev", "--family", "libf*")) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert [e["family"] for e in data["history"]] == ["libdev", "libfoo"]
    assert "(cached)" not in err and "writing 2" in err
    assert main(args(lists, "-f", "text", "--decided")) == 0
    out, err = capsys.readouterr()
    assert "(cached)" in err
    assert "libone" not in out and out.startswith("libabsl: release-locked")
    assert "    mid        libfoo4.17" in out


@pytest.mark.parametrize(("damage", "message"), [
    (lambda b: b[: len(b) // 2], "cannot read the index: truncated"),
    (lambda b: gzip.compress(gzip.decompress(b).replace(b"Depends: libc6\n", b"Depends libc6\n",
                                                        1)),
     "line 5: not a 'Field: value' line of a Packages index: 'Depends libc6'"),
    (lambda b: gzip.compress(gzip.decompress(b).rsplit(b"Filename:", 1)[0]),
     "has no Filename: a broken or truncated Packages index"),
])
def test_a_broken_packages_file_is_one_line(lists, capsys, damage, message):
    p = lists["new"]
    p.write_bytes(damage(p.read_bytes()))
    assert main(args(lists, "-f", "json")) == 2
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.startswith("abiguard: error:")]
    assert len(lines) == 1 and lines[0].startswith(f"abiguard: error: suite new: {p}: ")
    assert message in lines[0]
    # the other two suites are still compared and written
    data = json.loads(out)
    assert data["suites"] == ["old", "mid"] and data["history"]


def test_usage_errors(lists, capsys, tmp_path):
    assert main(["history", "--packages-file", str(lists["old"])]) == 2
    assert "cannot tell its suite from the file name" in capsys.readouterr().err
    assert main(["history", "--packages-file", f"old={lists['old']}"]) == 2
    assert "at least two suites" in capsys.readouterr().err
    assert main(["history", "--packages-file", f"old={tmp_path / 'nope'}",
                 "--packages-file", f"new={lists['new']}"]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(InputFileError, match="line 1: not a 'Field: value' line"):
        archive.parse_packages("garbage\n", "x", "amd64")


@pytest.mark.integration
def test_unreachable_suite_is_one_line(capsys):
    assert main(["history", "--suites", "nosuchsuite,bookworm", "--no-contents"]) == 2
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if ln.startswith("abiguard: error:")]
    assert errors[0].startswith("abiguard: error: suite nosuchsuite: apt-get update")
    assert errors[-1] == ("abiguard: error: history needs at least two readable suites "
                          "(read: bookworm)")
    assert len(errors) == 2


@pytest.mark.integration
def test_debian_history_of_the_current_suites(capsys):
    """The archive's own history over bullseye, bookworm and trixie (apt, cached lists)."""
    assert main(["history", "--suites", "bullseye,bookworm,trixie", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    fam = {e["family"]: e for e in data["history"]}
    for f in ("libxenmisc", "libllvm", "libboost-regex", "libboost-program-options",
              "libabsl", "libpython", "libperl", "libicu"):
        assert fam[f]["verdict"] == "release-locked", (f, fam[f]["reason"])
    for f in ("libdevmapper", "libbz2", "libssl", "libnss", "libc", "zlib"):
        assert fam[f]["verdict"] == "stable", (f, fam[f]["reason"])
    assert fam["libdevmapper"]["reason"].startswith(
        "libdevmapper1.02.1 unchanged across 3 releases while upstream moved 1.02.175 →")
    (xenmisc,) = [e for e in parse_policy(json.dumps(data), "h.json").history
                  if e.family == "libxenmisc"]
    xen = {r.suite: r for r in xenmisc.releases}  # one-line releases in JSON
    assert xen["bookworm"].package == "libxenmisc4.17"
    assert "libxenctrl.so.4.17" in xen["bookworm"].sonames
    assert xen["bullseye"].package == "libxenmisc4.14"
    assert xen["trixie"].package == "libxenmisc4.20"


def test_history_index_first_entry_wins_whatever_the_kind_of_match():
    """Exact names, PREFIX[0-9]*SUFFIX globs (indexed by prefix) and other globs: the first
    entry of the files in force that speaks for a name wins; an exact name before any glob."""
    from abiguard.policy import HistoryIndex

    def entry(family: str, *match: str) -> dict:
        return {"family": family, "stability": "unstable", "reason": family, "match": list(match)}

    one = parse_policy(json.dumps({"schema": 1, "history": [
        entry("a", "liba.so.1", "libx.so.[0-9]*"), entry("b", "libx.so.?*", "liba.so.1"),
        entry("c", "libc.so.*")]}), "one.json")
    two = parse_policy(json.dumps({"schema": 1, "history": [
        entry("d", "libd.so.[0-9]*", "libc.so.[0-9]*", "libx.so.9")]}), "two.json")
    index = HistoryIndex([one, two])
    assert len(index) == 4
    family = {n: (e.family if (e := index.lookup((n,))) else None)
              for n in ("liba.so.1", "libx.so.9", "libx.so.x", "libc.so.3", "libd.so.2",
                        "libd.so.x", "libz.so.1")}
    assert family == {"liba.so.1": "a", "libx.so.9": "d", "libx.so.x": "b", "libc.so.3": "c",
                      "libd.so.2": "d", "libd.so.x": None, "libz.so.1": None}
    assert index.lookup(("libz.so.1", "libx.so.7")).family == "a"  # (no exact: globs)
    assert list(index.exact) == ["liba.so.1", "libx.so.9"]


def test_json_history_is_ascii():
    """The JSON a history writes (and the built-in file) is ASCII: other characters escaped
    (read and parsed faster), the same data."""
    data = {"schema": 1, "name": "h", "description": "d →", "suites": ["a", "b"],
            "history": [{"family": "libw", "stability": "stable", "verdict": "stable",
                         "reason": "moved 1.2 → 1.5", "match": ["libw.so.1"],
                         "releases": ["a libw1 1.2-1 1.2 libw.so.1"]}]}
    text = archive.to_json(data)
    assert text.isascii() and json.loads(text) == data and "\\u2192" in text
    assert len(text.splitlines()) == 3  # one family per line
    builtin = Path(archive.__file__).parent.parent / "data" / "policies" / "debian-history.json"
    assert builtin.read_bytes().isascii()


def test_built_in_history_is_read_lazily_with_the_same_entries():
    """The built-in history's entries are made from their lines when looked up
    (GeneratedHistory), the same as the file parsed whole gives; a file of another layout is
    parsed whole; text in a string that looks like the layout's keys changes nothing."""
    from abiguard.policy import HistoryIndex, policy_from_data
    from abiguard.policy.files import BUILTIN_DIR, GeneratedHistory

    origin = "built-in:debian-history.json"
    text = (Path(BUILTIN_DIR) / "debian-history.json").read_text(encoding="utf-8")
    data = json.loads(text)
    lazy, whole = parse_policy(text, origin), policy_from_data(data, origin)
    assert isinstance(lazy.history, GeneratedHistory) and isinstance(whole.history, tuple)
    assert len(lazy.history) == len(whole.history) > 4000
    assert lazy.history[-1] == whole.history[-1] and lazy.history[1:3] == whole.history[1:3]
    assert list(lazy.history) == list(whole.history)
    assert (lazy.name, lazy.description, lazy.suites, lazy.libraries, lazy.symbols) == \
        (whole.name, whole.description, whole.suites, whole.libraries, whole.symbols)
    a, b = HistoryIndex([lazy]), HistoryIndex([whole])
    assert len(a) == len(b) and dict(a.exact) == dict(b.exact)
    names = [m.replace("[0-9]*", "17").replace("*", "x").replace("?", "y")
             for e in whole.history for m in e.match]
    assert [a.lookup((n,)) for n in names] == [b.lookup((n,)) for n in names]

    first = dict(data["history"][0], reason='r ,"match":["libevil.so.1"],"releases":[ "family":')
    tricky = archive.to_json({**data, "history": [first, *data["history"][1:]]})
    pf = parse_policy(tricky, origin)
    assert isinstance(pf.history, GeneratedHistory)
    assert pf.history[0].reason == first["reason"] and pf.history[0].match == tuple(first["match"])
    assert "libevil.so.1" not in HistoryIndex([pf]).exact
    for other in (json.dumps(data),  # one line
                  text.replace(',"match":[', ',"match": [', 1),  # a line of another form
                  text.replace('],"releases":[', '],"references":[],"releases":[', 1)):
        pf = parse_policy(other, origin)
        assert isinstance(pf.history, tuple) and list(pf.history) == list(whole.history)
