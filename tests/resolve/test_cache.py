"""The resolver's public seam: one ResolverCache shared by consumers and resolvers, its
purge and its size bound, and the searches it remembers -- held against ld.so's own trace.

Consumers resolved by one resolver share searches, files and Bindings; a search through an
RPATH chain ($ORIGIN of each program) must still find each program's own libraries, and a
RUNPATH (not inherited by the libraries it loads) must not leak into another program's
search. ld.so (trace mode) says which file each needed name is, for each program alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from abiguard.elf import read_elf
from abiguard.errors import ElfError
from abiguard.pipeline import scan_paths
from abiguard.policy import Policy
from abiguard.resolve import Layers, Resolver, ResolverCache
from helpers.cfixtures import program, shared_lib
from helpers.ldso_oracle import LDSO, compare_file
from helpers.paths import SRC

LD = LDSO[("x86_64", 64)]


@pytest.fixture(scope="module")
def apps(tmp_path_factory) -> dict[str, Path]:
    """Programs a, b (DT_RPATH $ORIGIN/lib, old dtags) and c (DT_RUNPATH $ORIGIN/lib), each
    with its own libmid.so.1 (no RPATH/RUNPATH of its own) needing its own libleaf.so.1:
    found through the program's RPATH chain for a and b, not at all for c (a RUNPATH is not
    searched for the libraries it loads)."""
    d = tmp_path_factory.mktemp("apps")
    out = {}
    for name, dtags in (("a", "--disable-new-dtags"), ("b", "--disable-new-dtags"),
                        ("c", "--enable-new-dtags")):
        lib = d / name / "lib"
        leaf = shared_lib(lib, "libleaf.so.1", f"int leaf_{name}(void) {{ return 1; }}\n"
                                               "int leaf_fn(void) { return 2; }\n")
        shared_lib(lib, "libmid.so.1", "int leaf_fn(void);\n"
                                       "int mid_fn(void) { return leaf_fn(); }\n",
                   libs=(str(leaf),))
        out[name] = program(d / name, name, "int mid_fn(void);\n"
                                            "int main(void) { return mid_fn(); }\n",
                            link=(str(lib / "libmid.so.1"), f"-Wl,-rpath-link,{lib}",
                                  f"-Wl,{dtags}",
                                  "-Wl,-rpath,$ORIGIN/lib"))
    return out


def _ldso_paths(path: Path) -> dict[str, str | None]:
    """needed name -> real path (None: not found), from ld.so's trace of the program."""
    env = {"LD_TRACE_LOADED_OBJECTS": "1", "PATH": os.environ.get("PATH", "")}
    text = subprocess.run([LD, str(path)], env=env, capture_output=True, text=True,
                          check=False).stdout
    out: dict[str, str | None] = {}
    for line in text.splitlines():
        m = re.match(r"\s*(\S+) => (not found|(\S+) \(0x)", line)
        if m:
            out[m[1]] = None if m[2] == "not found" else os.path.realpath(m[3])
    return out


def test_one_resolver_keeps_each_programs_search_apart(apps):
    audit = scan_paths([str(p) for p in apps.values()])
    by_path = {c.path: c for c in audit.consumers}
    for name, path in apps.items():
        c = by_path[str(path)]
        mine = {lib.name: os.path.realpath(lib.path) if lib.path else None
                for lib in c.libraries if lib.name in ("libmid.so.1", "libleaf.so.1")}
        oracle = {k: v for k, v in _ldso_paths(path).items()
                  if k in ("libmid.so.1", "libleaf.so.1")}
        assert mine == oracle, name
        assert oracle["libmid.so.1"] == str(path.parent / "lib" / "libmid.so.1")
    assert _ldso_paths(apps["a"])["libleaf.so.1"] == str(apps["a"].parent / "lib/libleaf.so.1")
    assert _ldso_paths(apps["c"])["libleaf.so.1"] is None
    # one resolver for all three (the order counts: c after a and b), against ld.so
    resolver = Resolver()
    for path in (*apps.values(), *reversed(apps.values())):
        cmp = compare_file(str(path), resolver)
        assert cmp.error is None and not cmp.missed and not cmp.extra, cmp


def test_cache_shared_purged_and_bounded(apps, tmp_path):
    """Resolvers over other layers share one cache; purge drops what was read under a
    directory (and only that); a cache over its bound starts over: every answer the same."""
    policy = Policy.load()
    alone = {n: Resolver(policy=policy).resolve(read_elf(str(p)), str(p))
             for n, p in apps.items()}
    cache = ResolverCache()
    for _ in range(2):
        for n, p in apps.items():
            r = Resolver(Layers("/"), policy, cache=cache)
            assert r.resolve(read_elf(str(p)), str(p)) == alone[n]
    a_dir = os.path.realpath(apps["a"].parent) + os.sep
    assert any(k.startswith(a_dir) for k in cache.files)
    cache.purge(a_dir)
    assert not any(k.startswith(a_dir) for k in cache.files)
    assert not any(lib.key.startswith(a_dir) for libs in cache.defined.values()
                   for lib in libs)
    assert not any(p[0].startswith(a_dir) for made in cache.made.values() for p in made)
    assert not any(v.startswith(a_dir) for v in cache.realpaths.values())
    assert any(k.startswith(os.path.realpath(apps["b"].parent)) for k in cache.files)
    for n, p in apps.items():
        assert Resolver(policy=policy, cache=cache).resolve(read_elf(str(p)), str(p)) == \
            alone[n]
    small = ResolverCache(max_files=2)
    r = Resolver(policy=policy, cache=small)
    for n, p in [*apps.items(), *apps.items()]:
        assert r.resolve(read_elf(str(p)), str(p)) == alone[n]
        assert len(small) <= 2 + 8  # started over before each consumer past the bound
    assert small.generation > 0


def test_a_scan_makes_no_reference_cycles(apps):
    """What lets a scan pause the cyclic collector and freeze its objects (pipeline's
    gc_paused): nothing it makes is cyclic garbage. In a process of its own: threads that
    earlier tests left in this one (a Dask cluster's) make garbage of their own meanwhile."""
    libz = "/usr/lib/x86_64-linux-gnu/libz.so.1"
    code = (
        "import gc, sys\n"
        "from abiguard.pipeline import scan_paths\n"
        "gc.freeze = lambda: None\n"
        "gc.collect()\n"
        "scan_paths(sys.argv[1:])\n"
        "print(gc.collect())\n")
    proc = subprocess.run([sys.executable, "-c", code, *map(str, apps.values()),
                           "/usr/bin/true", libz], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(SRC)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0"]


def test_an_expected_file_is_read_whole_once_or_else_as_a_library(apps):
    """ResolverCache.expect: asked for as a library, an expected file is read whole (and its
    scan takes that reading); when reading it whole fails, it is read as a library as if it
    had not been expected, and its scan reads it (and reports the failure) itself."""
    lib = str(apps["a"].parent / "lib" / "libmid.so.1")
    calls: list[str] = []

    def whole(path: str):  # type: ignore[no-untyped-def]
        calls.append("whole")
        return read_elf(path)

    def light(path: str):  # type: ignore[no-untyped-def]
        calls.append("light")
        return read_elf(path, relocations=False)

    cache = ResolverCache()
    cache.expect(lib, whole)
    got = cache.library(lib, light)
    assert calls == ["whole"] and got.elf.relocations is None
    elf = cache.take_expected(lib)
    assert elf is not None and elf.relocations is not None and elf.path == lib
    assert cache.take_expected(lib) is None

    def failing(path: str):  # type: ignore[no-untyped-def]
        raise ElfError(path, "broken relocations")

    calls.clear()
    cache = ResolverCache()
    cache.expect(lib, failing)
    assert cache.library(lib, light).elf.soname == "libmid.so.1"
    assert calls == ["light"] and cache.take_expected(lib) is None
    cache.expect(lib, whole)
    cache.clear()
    assert not cache.expected and not cache.early


def test_realpath_is_os_realpath(tmp_path, monkeypatch):
    """The cache's real path (a file's directory resolved once for all its files) is
    os.path.realpath's, for files, links, links to directories, missing paths, relative
    paths and '..'; purge forgets the directories under the prefix too."""
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (real / "f").write_text("x")
    (real / "sub" / "g").write_text("x")
    (tmp_path / "dirlink").symlink_to(real)
    (real / "flink").symlink_to("sub/g")
    (real / "loop").symlink_to("loop")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    (real / "a2").symlink_to("f")  # links to names of their own directory, chained
    (real / "a1").symlink_to("a2")
    (real / "c1").symlink_to("c2")  # a cycle
    (real / "c2").symlink_to("c1")
    (real / "gone").symlink_to("missing")
    (real / "up").symlink_to("..")
    (real / "long0").write_text("x")
    for i in range(1, 12):  # a chain longer than the links followed
        (real / f"long{i}").symlink_to(f"long{i - 1}")
    monkeypatch.chdir(real)
    paths = [str(real / "f"), str(tmp_path / "dirlink" / "f"), str(tmp_path / "dirlink/sub/g"),
             str(real / "flink"), str(tmp_path / "dirlink" / "flink"), str(real / "loop"),
             str(real / "missing"), str(tmp_path / "nowhere" / "x"), str(tmp_path / "dangling"),
             str(real / "sub" / ".." / "f"), str(tmp_path / "dirlink" / "sub" / ".." / "f"),
             str(real / "sub" / "."), str(real / "sub" / ".."), str(real) + "/", "f", "sub/g",
             "./f", "../real/f", "", ".", "..", "//" + str(real / "f").lstrip("/"),
             str(real / "nowhere" / ".." / "f"), str(real / "a1"), str(real / "a2"),
             str(tmp_path / "dirlink" / "a1"), str(real / "c1"), str(real / "gone"),
             str(real / "up"), "a1", "c2", str(real / "long11"), str(real / "long5")]
    cache = ResolverCache()
    for _ in range(2):  # (the second time from what was remembered)
        assert [cache.realpath(p) for p in paths] == [os.path.realpath(p) for p in paths]
    assert cache.realdirs  # the directories were resolved once
    cache.purge(str(tmp_path) + os.sep)
    assert not cache.realdirs and not cache.realpaths
