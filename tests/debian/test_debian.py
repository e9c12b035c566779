"""abiguard.debian without the network: control paragraphs, the one closure, the download
cache (the version first, then the cache; content checked against SHA-256), derived
configurations. apt itself is replaced by a small apt-get serving a pool of gcc-built .debs
(tests/helpers/debbuild.py); what real apt answers is tests/integration/test_apt_real.py's."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from abiguard.debian.apt import Apt, AptConfig, AptError, Record, library_closure
from abiguard.debian.control import first_paragraph, iter_paragraphs, source_of
from abiguard.debian.deb import read_deb_control
from helpers.debbuild import build_deb

FAKE_APT_GET = """#!/bin/sh
# apt-get download NAME=VERSION: copies pool/NAME_VERSION_*.deb (the version as given)
[ "$1" = -c ] && shift 2
[ "$1" = download ] || exit 100
shift
[ "$1" = -q ] && shift
echo "$*" >> {log}
for spec in "$@"; do
  name=${{spec%%=*}}; version=${{spec#*=}}
  f=$(ls {pool}/"${{name}}_${{version}}"_*.deb 2>/dev/null | head -1)
  [ -n "$f" ] || {{ echo "E: Version '$version' for '$name' was not found" >&2; exit 100; }}
  cp "$f" .
done
"""


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def pool(tmp_path, monkeypatch, empty_cache) -> dict:
    """Two versions of one package in a pool, a fake apt-get on PATH, an empty cache."""
    pool = tmp_path / "pool"
    debs = {}
    for version in ("1.0-1", "2.0-1"):
        root = tmp_path / "build" / version
        (root / "usr/share/doc/demo").mkdir(parents=True)
        (root / "usr/share/doc/demo/v").write_text(version)
        debs[version] = build_deb(root, pool, "demo", version)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    fake = bin_dir / "apt-get"
    fake.write_text(FAKE_APT_GET.format(log=log, pool=pool))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return {"debs": debs, "log": log, "cache": empty_cache}


def rec(version: str, digest: str) -> Record:
    return Record("demo", version, "amd64", digest)


def test_download_keeps_debs_by_sha256_and_checks_them_before_use(pool):
    apt = Apt(AptConfig())
    old, new = pool["debs"]["1.0-1"], pool["debs"]["2.0-1"]
    got = apt.fetch([rec("2.0-1", sha(new))])["demo"]
    assert got == pool["cache"] / "debs" / sha(new) / "demo_2.0-1_amd64.deb"
    assert got.read_bytes() == new.read_bytes()
    # the version is chosen first: 1.0-1 is not the 2.0-1 the cache holds
    got_old = apt.fetch([rec("1.0-1", sha(old))])["demo"]
    assert read_deb_control(str(got_old)).version == "1.0-1"
    assert pool["log"].read_text().splitlines() == ["demo=2.0-1", "demo=1.0-1"]
    # a cached file is used only while its content is what the record says
    assert apt.fetch([rec("2.0-1", sha(new))])["demo"] == got
    assert len(pool["log"].read_text().splitlines()) == 2
    got.write_bytes(b"damaged")
    again = apt.fetch([rec("2.0-1", sha(new))])["demo"]
    assert again == got and sha(again) == sha(new)
    assert pool["log"].read_text().splitlines()[-1] == "demo=2.0-1"  # downloaded again


def test_download_refuses_content_that_does_not_match_the_record(pool):
    apt = Apt(AptConfig())
    wrong = rec("2.0-1", "0" * 64)
    got = apt.download([wrong])["demo"]
    assert isinstance(got, AptError)
    assert str(got) == "apt-get download demo=2.0-1: SHA-256 does not match the index"
    assert not list((pool["cache"] / "debs").rglob("*.deb"))  # nothing kept
    missing = apt.download([rec("3.0-1", "1" * 64)])["demo"]
    assert isinstance(missing, AptError) and "Version '3.0-1' for 'demo' was not found" in str(
        missing)
    off = apt.download([rec("2.0-1", sha(pool["debs"]["2.0-1"]))], fetch=False)["demo"]
    assert isinstance(off, AptError) and "downloads are off" in str(off)
    installed_only = apt.download([Record("demo", "2.0-1", "amd64")])["demo"]
    assert isinstance(installed_only, AptError) and "no archive record" in str(installed_only)


def test_derived_configuration_reads_last_and_names_the_suite(tmp_path, monkeypatch):
    monkeypatch.setenv("APT_CONFIG", "/etc/my-apt.conf")
    machine = AptConfig.machine()
    assert machine.args() == [] and machine.env()["APT_CONFIG"] == "/etc/my-apt.conf"
    derived = AptConfig(machine.conf, str(tmp_path / "apt.conf"), "trixie", derived=True)
    assert derived.args() == ["-c", str(tmp_path / "apt.conf")]
    assert derived.describe() == "suite trixie"
    monkeypatch.delenv("APT_CONFIG")
    assert "APT_CONFIG" not in AptConfig.machine().env()
    with pytest.raises(AptError, match="never updates this machine's lists"):
        Apt(AptConfig()).update()


def test_one_closure_alternatives_virtual_arch_and_libraries_only():
    def r(name: str, depends: str = "", pre: str = "") -> Record:
        return Record(name, "1", "amd64", depends=depends, pre_depends=pre)

    index = {p.name: p for p in [
        r("libb1", "libc6 (>= 2.34)"), r("libc6"), r("libd2", "libb1, helper"), r("helper"),
        r("libgl-real1"), r("libi386only1"), r("libnew1")]}
    virtual = {"libgl1": "libgl-real1"}

    def lookup(names: list[str]) -> dict[str, Record | None]:
        return {n: index.get(n) or index.get(virtual.get(n, "")) for n in names}

    app = r("app", "libmissing0 | libd2, libgl1, libi386only1 [i386], libb1:any (>= 1)",
            pre="libc6")
    got = library_closure([app], lookup, exclude=["app"], arch="amd64")
    # breadth first: Pre-Depends, then Depends; the first alternative apt knows; a virtual
    # name gives its provider; not 'helper' (not a library) nor what another arch needs
    assert [p.name for p in got] == ["libc6", "libd2", "libgl-real1", "libb1"]


def test_control_paragraphs_fields_and_source():
    text = ("Package: qemu-system-xen\nSource: qemu (1:7.2+dfsg-7+deb12u18)\n"
            "Version: 1:7.2+dfsg-7+deb12u18+b3\nDepends: libc6 (>= 2.34),\n libxenmisc4.17\n"
            "# a comment\nDescription: x\n more\n\n\n"
            "package: xen-utils-4.17\nVERSION: 4.17.7\nDepends: a\nDepends: b\n")
    first, second = list(iter_paragraphs(text))
    assert first["depends"] == "libc6 (>= 2.34), libxenmisc4.17"
    assert source_of(first) == ("qemu", "1:7.2+dfsg-7+deb12u18")  # a binNMU's source
    assert source_of(second) == ("xen-utils-4.17", "4.17.7")      # its own source
    assert second["depends"] == "a"  # a repeated field: the first counts
    assert list(iter_paragraphs(text, ("package",))) == [{"package": "qemu-system-xen"},
                                                         {"package": "xen-utils-4.17"}]
    assert first_paragraph("\n\n") == {}
    assert Record.from_fields({"package": "x", "version": "1", "size": "many"}).size == 0


def test_file_magic_reads_regular_files_only(tmp_path):
    """The head of a regular file (all of a shorter one); b"" for a directory, a fifo
    (never waited on), a missing path -- and a .deb is told by it."""
    from abiguard.debian.deb import file_magic, is_deb

    long = tmp_path / "long"
    long.write_bytes(b"\x7fELF" + bytes(range(100)))
    short = tmp_path / "short"
    short.write_bytes(b"ab")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert file_magic(str(long)) == b"\x7fELF" + bytes(range(4))
    assert file_magic(str(long), 72) == (b"\x7fELF" + bytes(range(100)))[:72]
    assert file_magic(str(short), 72) == b"ab"
    assert file_magic(str(tmp_path)) == b""
    assert file_magic(str(fifo)) == b""
    assert file_magic(str(tmp_path / "missing")) == b""
    deb = build_deb(tmp_path / "root", tmp_path / "pool", "libx1")
    assert is_deb(str(deb)) and not is_deb(str(long)) and not is_deb(str(fifo))
