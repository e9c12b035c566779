"""abiguard census on tiny gcc-built .deb packages (no network): sources, engines, store,
resume after a crash/kill, failures, aggregates and exports."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from abiguard.census import aggregate as agg_mod
from abiguard.census.aggregate import CensusData, aggregate, co_use_groups, jaccard
from abiguard.census.engine import Config, LocalEngine, run_census, run_task
from abiguard.census.sources import AptIndex, deb_refs, find_debs, root_refs, set_index
from abiguard.census.store import FindingRow, Result, Store
from abiguard.cli import main
from abiguard.debian.control import Relation, parse_relations
from helpers.debbuild import TOY_EXPECTED, packages_file
from helpers.toycensus import ALL_TOY, census, expected_matrix, matrix, store_rows

# --------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------


def test_parse_relations():
    got = parse_relations("libc6 (>= 2.34), libfoo1:any | libbar2 [amd64], ")
    assert [[r.name for r in alts] for alts in got] == [["libc6"], ["libfoo1", "libbar2"]]
    assert got[0][0] == Relation("libc6", None, ">=", "2.34")
    assert got[1] == [Relation("libfoo1", "any"), Relation("libbar2", archs=("amd64",))]
    # architecture restrictions apply to the architecture asked about
    assert [[r.name for r in a] for a in parse_relations("liba [!amd64] | libb, libc [i386]",
                                                         "amd64")] == [["libb"]]
    assert parse_relations("libx:amd64 (<< 2:1.0~rc1) <!nocheck>")[0][0] == Relation(
        "libx", "amd64", "<<", "2:1.0~rc1")
    assert parse_relations("libold (< 2), libnew (> 1)")[0][0].op == "<="  # as dpkg reads
    assert parse_relations("bad name!!, , libok") == [[Relation("libok")]]
    assert Relation("libx", op=">=", version="1:2.0").satisfied_by("1:2.0+b1")
    assert not Relation("libx", op="<<", version="2.0~rc1").satisfied_by("2.0")


def test_packages_file_rdepends_and_closure(toy, tmp_path):
    index_file = packages_file(toy["debs"], toy["dir"], tmp_path / "Packages")
    index = AptIndex.load([str(index_file)], arch="amd64", archive=str(toy["dir"]))
    libs, rdeps = index.rdepends(["libtoy*"])
    assert libs == ["libtoy4.17"]
    assert {r.name for r in rdeps} == {"toy-emu", "toy-virt", "toy-utils", "toy-kexec",
                                       "toy-doc"}
    emu = index.with_closure(index.packages["toy-emu"])
    assert [d.name for d in emu.deps] == ["libtoy4.17", "libstab1"]  # libc6: not in the index
    assert emu.sha256 and emu.path and emu.path.endswith("toy-emu_2.0-1_amd64.deb")


def test_rdepends_census_from_a_packages_file(toy, tmp_path, reference):
    index_file = packages_file(toy["debs"], toy["dir"], tmp_path / "Packages")
    store = tmp_path / "r.sqlite"
    assert census("--rdepends", "libtoy*", "--packages-file", index_file, "--archive",
                  toy["dir"], "--store", store, "-j", "2") == 0
    got = matrix(store)
    assert got == {n: s for n, s in expected_matrix().items()
                   if n in {"toy-emu", "toy-virt", "toy-utils", "toy-kexec", "toy-doc"}}
    # same keys (the index's SHA-256 is the content hash) and same audits as the .deb-dir run
    ref = {r[:4]: r[4:] for r in store_rows(reference)}
    for row in store_rows(store):
        assert ref[row[:4]][0] == "ok"
        assert json.loads(_audit(ref[row[:4]][3]))["consumers"] == \
            json.loads(_audit(row[7]))["consumers"]


def _audit(blob: bytes) -> str:
    from abiguard.census.store import decompress_json

    return decompress_json(blob)


def test_stored_audits_are_zstd_and_older_zlib_ones_still_read():
    import zlib

    from abiguard.census.store import compress_json, decompress_json

    text = '{"schema": 1, "consumers": []}\n' * 100
    blob = compress_json(text)
    assert blob[:4] == b"\x28\xb5\x2f\xfd" and len(blob) < len(text) // 10
    assert decompress_json(blob) == text
    assert decompress_json(zlib.compress(text.encode(), 1)) == text  # a store of before
    assert decompress_json(None) is None


# --------------------------------------------------------------------------------------------
# the local engine, the store, failures
# --------------------------------------------------------------------------------------------


def test_deb_directory_census_finds_the_matrix(reference):
    assert matrix(reference) == expected_matrix()
    rows = store_rows(reference)
    assert len(rows) == len(ALL_TOY) == len({r[0] for r in rows})
    assert all(r[4] == "ok" for r in rows)
    with Store(str(reference), create=False) as st:
        emu = next(p for p in st.packages() if p.name == "toy-emu")
        audit = st.audit(emu.id)
    (c,) = audit.consumers
    assert c.path == "/usr/bin/toy-emu" and c.package == "toy-emu 2.0-1 amd64"
    assert {b.symbol.name: b.provided_version for b in c.findings} == {
        s: "TOY_4.17.0" for s in TOY_EXPECTED["toy-emu"]}
    assert any("libtoy4.17 4.17.1-1" in n for n in audit.notes)  # resolved against the set
    assert not [b for b in c.bindings if b.status != "bound" and not b.weak]


def test_rerun_skips_what_is_stored(toy, reference, tmp_path):
    store = tmp_path / "s.sqlite"
    store.write_bytes(reference.read_bytes())
    with Store(str(store)) as st:
        refs = deb_refs(find_debs(str(toy["pool"])))
        counts = run_census(refs, st, LocalEngine(1), Config(packages=set_index(refs),
                                                              fetch=False))
    assert counts["skipped"] == len(ALL_TOY) and counts["done"] == 0
    assert store_rows(store) == store_rows(reference)


def test_corrupt_deb_is_a_stored_failure(toy, tmp_path, capsys):
    store = tmp_path / "b.sqlite"
    assert census(toy["with_broken"], "--store", store, "-j", "2") == 2  # a package failed
    rows = {r[0]: r for r in store_rows(store)}
    assert set(rows) == ALL_TOY | {"toy-broken"}
    broken = rows["toy-broken"]
    assert broken[4:6] == ("failed", "error")
    assert "not a valid .deb package" in broken[6]
    assert broken[3] == __import__("hashlib").sha256(toy["broken"].read_bytes()).hexdigest()
    capsys.readouterr()
    # listed, never dropped; a re-run does not retry a failure that would repeat
    assert main(["census", "--store", str(store), "--failures"]) == 0
    out = capsys.readouterr().out
    assert "toy-broken 1.0-1 amd64: [error] not a valid .deb package" in out
    assert census(toy["with_broken"], "--store", store) == 0
    assert len(store_rows(store)) == len(ALL_TOY) + 1
    assert census(toy["with_broken"], "--store", store, "--retry-failed") == 2
    assert len(store_rows(store)) == len(ALL_TOY) + 1
    with Store(str(store), create=False) as st:
        assert [p.attempts for p in st.failures()] == [2]


def test_worker_crash_is_recorded_then_resumed(toy, reference, tmp_path, monkeypatch):
    """The task of toy-virt calls os._exit(1) the first time: the crash is stored as that
    package's failure, the other packages are done; the re-run retries it; at the end every
    package is stored exactly once, equal to a clean run."""
    store = tmp_path / "c.sqlite"
    marker = tmp_path / "crashed-once"
    monkeypatch.setenv("ABIGUARD_CENSUS_CRASH", f"toy-virt:{marker}")
    assert census(toy["pool"], "--store", store, "-j", "2") == 2
    assert marker.exists()
    rows = {r[0]: r for r in store_rows(store)}
    assert rows["toy-virt"][4:6] == ("failed", "crash")
    assert "worker process died (exit status 1)" in rows["toy-virt"][6]
    assert all(r[4] == "ok" for n, r in rows.items() if n != "toy-virt")
    assert census(toy["pool"], "--store", store, "-j", "2") == 0  # resumes: only toy-virt
    assert store_rows(store) == store_rows(reference)
    with Store(str(store), create=False) as st:
        virt = next(p for p in st.packages() if p.name == "toy-virt")
        assert virt.attempts == 2 and virt.status == "ok"
        assert [r["done"] for r in st.runs()] == [len(ALL_TOY), 1]


def test_timeout_is_a_failure_and_retried(toy, tmp_path, monkeypatch):
    refs = [r for r in deb_refs(find_debs(str(toy["pool"]))) if r.name in ("toy-emu",
                                                                            "libtoy4.17")]
    store = tmp_path / "t.sqlite"
    with Store(str(store)) as st:
        cfg = Config(packages=set_index(refs), fetch=False, timeout=0.5, sleep=5)
        t = time.monotonic()
        counts = run_census(refs, st, LocalEngine(2), cfg)
        assert time.monotonic() - t < 4
        assert counts["failed"] == 2
        assert {(p.name, p.error_kind) for p in st.failures()} == {("toy-emu", "timeout"),
                                                                   ("libtoy4.17", "timeout")}
        counts = run_census(refs, st, LocalEngine(2), Config(packages=set_index(refs),
                                                              fetch=False, timeout=30))
        assert counts["done"] == 2 and counts["failed"] == 0
        assert not st.failures() and len(st.packages()) == 2


def test_watchdog_timeout_inside_a_thread(toy):
    """The Dask path: the task enforces its own time limit (no process to kill)."""
    import threading

    (ref,) = [r for r in deb_refs(find_debs(str(toy["pool"]))) if r.name == "toy-kexec"]
    out = []
    cfg = Config(fetch=False, timeout=0.3, sleep=3, watchdog=True)
    th = threading.Thread(target=lambda: out.append(run_task(ref, cfg)))
    t = time.monotonic()
    th.start()
    th.join(10)
    assert time.monotonic() - t < 2.5
    assert out[0].status == "failed" and out[0].error_kind == "timeout"


def test_killed_run_resumes_without_loss_or_duplicates(toy, reference, tmp_path):
    """kill -9 of the coordinator in the middle of a run; the re-run completes the store."""
    store = tmp_path / "k.sqlite"
    env = {**os.environ, "ABIGUARD_CENSUS_SLEEP": "0.3"}
    proc = subprocess.Popen([sys.executable, "-m", "abiguard.cli", "census", "-q",
                             "--no-fetch", str(toy["pool"]), "--store", str(store), "-j", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    done = 0
    while time.monotonic() < deadline and done < 3:
        time.sleep(0.1)
        if store.exists():
            try:
                done = len(store_rows(store))
            except sqlite3.OperationalError:
                done = 0
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    partial = store_rows(store)
    assert 3 <= len(partial) < len(ALL_TOY)
    assert census(toy["pool"], "--store", store, "-j", "2") == 0
    assert store_rows(store) == store_rows(reference)


def test_interrupt_stops_cleanly_and_resumes(toy, reference, tmp_path):
    store = tmp_path / "i.sqlite"
    env = {**os.environ, "ABIGUARD_CENSUS_SLEEP": "0.3"}
    proc = subprocess.Popen([sys.executable, "-m", "abiguard.cli", "census", "-q",
                             "--no-fetch", str(toy["pool"]), "--store", str(store), "-j", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            if store.exists() and len(store_rows(store)) >= 2:
                break
        except sqlite3.OperationalError:
            pass
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 130
    partial = store_rows(store)
    assert 2 <= len(partial) < len(ALL_TOY)
    with Store(str(store), create=False) as st:
        assert st.runs()[0]["status"] == "interrupted"
    assert census(toy["pool"], "--store", store) == 0
    assert store_rows(store) == store_rows(reference)


def test_unpacked_roots(toy, tmp_path):
    roots = tmp_path / "roots"
    roots.mkdir()
    for name, deb in toy["debs"].items():
        subprocess.run(["dpkg-deb", "-R", str(deb), str(roots / name)], check=True)
    refs = root_refs(str(roots))
    assert {r.name for r in refs} == ALL_TOY
    store = tmp_path / "roots.sqlite"
    assert census("--roots", roots, "--store", store, "-j", "2") == 0
    assert matrix(store) == expected_matrix()
    rows = store_rows(store)
    assert all(r[3].startswith("tree:") for r in rows)
    assert census("--roots", roots, "--store", store) == 0  # unchanged trees are skipped
    with Store(str(store), create=False) as st:
        assert st.runs()[-1]["skipped"] == len(ALL_TOY)


# --------------------------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------------------------


def test_dask_local_cluster_equals_local_pool(toy, reference, tmp_path):
    import distributed

    store = tmp_path / "dask.sqlite"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  host="127.0.0.1", protocol="tcp", dashboard_address=None,
                                  silence_logs=40) as cluster:
        assert census(toy["pool"], "--store", store, "--scheduler",
                      cluster.scheduler_address) == 0
    assert store_rows(store) == store_rows(reference)


# --------------------------------------------------------------------------------------------
# store
# --------------------------------------------------------------------------------------------


def _result(name: str, status: str = "ok", **kw) -> Result:
    return Result(name, "1", "amd64", "ab" * 32, status, **kw)


def test_store_keeps_one_row_per_key_and_never_downgrades(tmp_path):
    with Store(str(tmp_path / "s.sqlite")) as st:
        st.add(_result("p", "failed", error_kind="crash", error="died"))
        assert not st.done(("p", "1", "amd64", "ab" * 32))  # a crash is retried
        st.add(_result("p", findings=(FindingRow("/usr/bin/p", "f", "V", "libx.so.1",
                                                 "unstable"),)))
        st.add(_result("p", "failed", error_kind="error", error="late"))  # ignored
        (p,) = st.packages()
        assert (p.status, p.findings, p.attempts) == ("ok", 1, 2)
        assert st.done(("p", "1", "amd64", "ab" * 32))
        st.add(_result("q", "failed", error_kind="error", error="bad"))
        assert st.done(("q", "1", "amd64", "ab" * 32))
        assert not st.done(("q", "1", "amd64", "ab" * 32), retry_failed=True)


def test_store_refuses_other_files(tmp_path):
    from abiguard.errors import UsageError

    bad = tmp_path / "x.sqlite"
    bad.write_text("hello")
    with pytest.raises(UsageError, match="not a census store"):
        Store(str(bad))
    db = sqlite3.connect(tmp_path / "other.sqlite")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(UsageError, match="not a census store"):
        Store(str(tmp_path / "other.sqlite"))
    assert main(["census", "--store", str(tmp_path / "missing.sqlite")]) == 2


# --------------------------------------------------------------------------------------------
# aggregates and exports
# --------------------------------------------------------------------------------------------


def test_jaccard_groups_components_and_average():
    s = {("L", "open"): frozenset("ABCD"), ("L", "close"): frozenset("ABCD"),
         ("L", "map"): frozenset("AB"), ("L", "unmap"): frozenset("AB"),
         ("L", "domctl"): frozenset("BC"), ("L", "sysctl"): frozenset("C"),
         ("M", "lonely"): frozenset("Z")}
    assert jaccard(s[("L", "open")], s[("L", "map")]) == 0.5
    comp = co_use_groups(s, 0.6, "components")
    assert [sorted(x[1] for x in g.symbols) for g in comp] == [["close", "open"],
                                                               ["map", "unmap"]]
    assert all(g.kind == "always" for g in comp)
    loose = co_use_groups(s, 0.5, "components")
    assert [len(g.symbols) for g in loose] == [6]  # single linkage chains them all
    avg = co_use_groups(s, 0.5, "average")
    assert [sorted(x[1] for x in g.symbols) for g in avg] == [
        ["close", "map", "open", "unmap"], ["domctl", "sysctl"]]
    assert avg[0].core == ["A", "B"] and avg[0].consumers == ["A", "B", "C", "D"]
    assert avg[0].kind == "often" and avg[0].min_jaccard == 0.5


def test_ranking_by_consumers_then_weight_then_co_use():
    from abiguard.census.aggregate import Cell, ConsumerInfo

    cells = [Cell(c, "L", s, "V", "unstable", w) for c, s, w in [
        ("A", "x", 1), ("B", "x", 1), ("C", "x", 1),
        ("A", "y", 5), ("B", "y", 1),
        ("A", "z", 1), ("B", "z", 1),
        ("C", "p", 1), ("D", "p", 1), ("C", "q", 1), ("D", "q", 1)]]
    data = CensusData([ConsumerInfo(n) for n in "ABCD"], cells)
    a = aggregate(data, threshold=0.9, method="components", remedies=False)
    assert [s.symbol for s in a.symbols] == ["x", "y", "p", "q", "z"]
    assert a.symbols[1].weight == 6
    assert a.symbols[2].group == a.symbols[3].group is not None  # p, q always together
    assert a.rows == ["A", "B", "C", "D"]


def test_exports(reference, tmp_path, capsys):
    csv_path, json_path = tmp_path / "m.csv", tmp_path / "a.json"
    assert main(["census", "-q", "--store", str(reference), "--export", str(csv_path),
                 "--export", str(json_path)]) == 0
    lines = csv_path.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:2] == ["consumer", "version"]
    assert set(header[2:]) == {f"{s}@libtoy.so.4.17" for s in
                               set().union(*TOY_EXPECTED.values())}
    rows = {ln.split(",")[0]: dict(zip(header, ln.split(","))) for ln in lines[1:]}
    assert set(rows) == {n for n, s in TOY_EXPECTED.items() if s}
    for name, used in TOY_EXPECTED.items():
        for sym in set().union(*TOY_EXPECTED.values()):
            if used:
                assert rows[name][f"{sym}@libtoy.so.4.17"] == ("1" if sym in used else "0")
    data = json.loads(json_path.read_text())
    assert data["kind"] == "census-aggregate" and data["summary"]["with_findings"] == 4
    assert data["symbols"][0]["symbol"] in ("toy_open", "toy_close")
    assert data["symbols"][0]["consumer_count"] == 4
    for table in ("findings", "symbols", "groups", "libraries", "failures"):
        out = tmp_path / f"{table}.csv"
        assert main(["census", "-q", "--store", str(reference), "--export", str(out),
                     "--table", table]) == 0
        assert out.read_text().count("\n") >= 1
    findings = (tmp_path / "findings.csv").read_text().splitlines()
    assert len(findings) - 1 == sum(len(s) for s in TOY_EXPECTED.values())
    capsys.readouterr()
    assert main(["census", "--store", str(reference), "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["symbols"] == 6
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert main(["census", "-q", "--store", str(reference), "--export",
                     str(tmp_path / "x.parquet")]) == 2
    else:  # pragma: no cover - pyarrow is not a dependency
        assert main(["census", "-q", "--store", str(reference), "--export",
                     str(tmp_path / "x.parquet")]) == 0


def test_summary_text(reference, capsys):
    assert main(["census", "--store", str(reference), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "Stabilise these first (3 of 6" in out
    assert "libtoy.so.4.17: 6 symbol(s) used by 4 package(s)" in out
    assert "toy-virt 2.0-1: 5 symbol(s) from libtoy.so.4.17" in out
    assert "Co-use groups (Jaccard ≥ 0.5, average): 2" in out


def test_aggregate_of_a_scan_result(toy, tmp_path):
    from abiguard.pipeline import ScanOptions, scan_paths

    audit = scan_paths([str(toy["debs"]["toy-emu"])],
                       ScanOptions(provider_debs=[str(toy["debs"]["libtoy4.17"]),
                                                  str(toy["debs"]["libstab1"])]))
    a = agg_mod.aggregate(CensusData.from_result(audit))
    assert a.rows == ["/usr/bin/toy-emu"]
    assert {s.symbol for s in a.symbols} == TOY_EXPECTED["toy-emu"]


def test_census_stores_the_schema_2_text_of_the_audit(toy):
    """A task stores jsonform.to_json(audit, indent=None) (schema 2): it reads back to the model
    of a scan of the same package, and writes back to the same text."""
    from abiguard.census.store import decompress_json
    from abiguard.jsonform import audit_from_json, to_json
    from abiguard.model import SCHEMA_VERSION

    refs = deb_refs(find_debs(str(toy["pool"])))
    (ref,) = [r for r in refs if r.name == "toy-utils"]
    got = run_task(ref, Config(fetch=False, packages={r.name: r.path for r in refs}))
    text = decompress_json(got.audit)
    assert text.startswith(f'{{"schema": {SCHEMA_VERSION}, "kind": "scan"')
    audit = audit_from_json(text)
    assert to_json(audit, indent=None) == text
    (c,) = audit.consumers
    assert {b.symbol.name for b in c.findings} == TOY_EXPECTED["toy-utils"]
    assert {(b.provider, b.provider_path) for b in c.findings} == {
        ("libtoy.so.4.17", "/usr/lib/x86_64-linux-gnu/libtoy.so.4.17")}


def _private_lib_package(tmp_path: Path, name: str = "lk-app") -> Path:
    """A package whose program binds to a library the package itself ships (RUNPATH through
    a directory symlink, an unrelated symlink in /usr/share/doc): its pool directory."""
    from helpers.cfixtures import gcc, write
    from helpers.debbuild import build_deb

    root = tmp_path / name
    priv = root / "usr" / "lib" / "x86_64-linux-gnu" / "lk-real"
    priv.mkdir(parents=True)
    gcc("-shared", "-fPIC", "-o", priv / "liblk.so.1",
        write(tmp_path / "lk.c", "int lk_fn(int x){return x;}\n"), "-Wl,-soname,liblk.so.1")
    (root / "usr" / "lib" / "lk").symlink_to("x86_64-linux-gnu/lk-real")
    (root / "usr" / "share" / "doc" / "lk-base").mkdir(parents=True)
    (root / "usr" / "share" / "doc" / name).symlink_to("lk-base")
    app = root / "usr" / "bin" / name
    app.parent.mkdir(parents=True)
    gcc("-o", app, write(tmp_path / "app.c", "int lk_fn(int);int main(void){return lk_fn(1);}\n"),
        priv / "liblk.so.1", "-Wl,--enable-new-dtags,-rpath,/usr/lib/lk")
    build_deb(root, tmp_path / "pool", name, "1.0-1")
    return tmp_path / "pool"


def test_finished_packages_take_their_scopes_along(toy, tmp_path):
    """What a worker's resolver cache keeps (files read, bindings made from each library)
    outlives a task only for files that outlive it: a finished package's own files (here: a
    program bound to its package's own library) are purged (no growth over a long census)."""
    from abiguard.census.worker import STATE

    refs = [r for r in deb_refs(find_debs(str(toy["pool"]))) if r.kind == "deb"]
    refs += deb_refs(find_debs(str(_private_lib_package(tmp_path))))
    cfg = Config(fetch=False)
    cache = STATE.resolver_cache
    cache.clear()
    for _ in range(2):
        for ref in refs:
            assert run_task(ref, cfg).status == "ok", ref.name
        made = [provider[0] for by in cache.made.values() for provider in by]
        assert made and all(os.path.exists(r) for r in made)
        assert cache.files and all(os.path.exists(r) for r in cache.files)
        assert all(os.path.exists(r) for libs in cache.defined.values() for r in
                   (lib.key for lib in libs))


def test_result_filters(reference, capsys):
    assert main(["census", "--store", str(reference), "--exclude", "toy-v*", "--library",
                 "libtoy.so*", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["matrix"]["rows"] == ["toy-emu", "toy-utils", "toy-kexec"]
    assert data["summary"]["consumers"] == len(ALL_TOY) - 1
    assert main(["census", "--store", str(reference), "--library", "libnothing*",
                 "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["symbols"] == []


def test_library_shipped_under_lib_is_found(tmp_path):
    """A library package that ships /lib/<triplet>/libmu.so.1 (not yet moved to /usr, as many
    bookworm packages) resolves on a merged-/usr sysroot, as once installed."""
    from helpers.cfixtures import gcc, write
    from helpers.debbuild import build_deb

    root = tmp_path / "libmu1"
    lib = root / "lib" / "x86_64-linux-gnu" / "libmu.so.1"
    lib.parent.mkdir(parents=True)
    gcc("-shared", "-fPIC", "-o", lib, write(tmp_path / "mu.c", "int mu_fn(int x){return x;}\n"),
        "-Wl,-soname,libmu.so.1")
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "libmu.so").symlink_to(lib)
    build_deb(root, tmp_path / "pool", "libmu1", "1.0-1")
    app = tmp_path / "mu-app" / "usr" / "bin" / "mu-app"
    app.parent.mkdir(parents=True)
    gcc("-o", app, write(tmp_path / "app.c", "int mu_fn(int);int main(void){return mu_fn(1);}\n"),
        f"-L{tmp_path / 'dev'}", "-lmu")
    build_deb(tmp_path / "mu-app", tmp_path / "pool", "mu-app", "1.0-1", depends="libmu1")
    store = tmp_path / "mu.sqlite"
    assert census(tmp_path / "pool", "--store", store) == 0
    with Store(str(store), create=False) as st:
        (pkg,) = [p for p in st.packages() if p.name == "mu-app"]
        (c,) = st.audit(pkg.id).consumers
    (b,) = [b for b in c.bindings if b.symbol.name == "mu_fn"]
    assert b.status == "bound" and b.provider == "libmu.so.1"


def test_package_index_with_directory_symlinks(tmp_path):
    """A package's file index serves every lookup except those under one of its directory
    symlinks, which the file system answers (a symlink in /usr/share/doc no longer turns
    the index off for the whole package)."""
    from abiguard.resolve import IndexedLayers, Layers, index_root

    root = tmp_path / "pkg"
    real = root / "usr" / "lib" / "x86_64-linux-gnu" / "priv"
    real.mkdir(parents=True)
    (real / "libp.so.1").write_bytes(b"x")
    (root / "usr" / "lib" / "app").symlink_to("x86_64-linux-gnu/priv")
    (root / "usr" / "share" / "doc" / "base").mkdir(parents=True)
    (root / "usr" / "share" / "doc" / "pkg").symlink_to("base")
    (tmp_path / "sys").mkdir()
    idx = index_root(str(root), Layers(str(tmp_path / "sys")).canonical)
    assert set(idx.linked) == {"/usr/lib/app/", "/usr/share/doc/pkg/"}
    layers = IndexedLayers(str(tmp_path / "sys"), [str(root)], indexes=[idx])
    via_link = "/usr/lib/app/libp.so.1"
    assert layers.locate(via_link) == (via_link, str(root) + via_link)
    (real / "libp.so.1").unlink()
    # outside the linked directories the index alone answers; under them, the file system
    assert layers.locate("/usr/lib/x86_64-linux-gnu/priv/libp.so.1") == (
        "/usr/lib/x86_64-linux-gnu/priv/libp.so.1", str(real / "libp.so.1"))
    assert layers.locate(via_link) is None


def test_library_found_through_a_directory_symlink_of_the_package(tmp_path):
    """A program whose RUNPATH names a directory its own package ships as a symlink (next to
    an unrelated symlink in /usr/share/doc) binds to the library behind it."""
    _private_lib_package(tmp_path)
    store = tmp_path / "lk.sqlite"
    assert census(tmp_path / "pool", "--store", store) == 0
    with Store(str(store), create=False) as st:
        (pkg,) = st.packages()
        audit = st.audit(pkg.id)
    (c,) = [c for c in audit.consumers if c.display_name.endswith("/usr/bin/lk-app")]
    (b,) = [b for b in c.bindings if b.symbol.name == "lk_fn"]
    assert b.status == "bound" and b.provider == "liblk.so.1"


def test_own_libraries_are_read_from_the_library_packages(toy, tmp_path):
    """The libraries built from a source package: its lib* packages (Debian Policy 8.1, not
    -dev/-doc/debug), each shared object's soname as readelf gives it."""
    from abiguard.census.ownlibs import library_packages, sonames_below
    from abiguard.debian.deb import unpack_deb

    assert library_packages(["libxen-dev", "libxenctrl4.17", "xen-utils-4.17", "libxen-doc",
                             "libxentoolcore1", "libxentoolcore1-dbgsym"]) == [
        "libxenctrl4.17", "libxentoolcore1"]
    for name, want in (("libtoy4.17", {"libtoy.so.4.17"}), ("libstab1", {"libstab.so.1"}),
                       ("toy-emu", set())):
        root = tmp_path / name
        unpack_deb(str(toy["debs"][name]), str(root))
        assert sonames_below(str(root)) == want
        for lib in root.rglob("*.so*"):
            if lib.is_file() and not lib.is_symlink():
                dyn = subprocess.run(["readelf", "-d", str(lib)], capture_output=True,
                                     text=True, check=True).stdout
                assert any(f"[{s}]" in dyn for s in want)
