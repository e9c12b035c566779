"""Schema 2 (docs/schema.md, docs/schema-2.json): round trips, schema 1 files of the release
before it (tests/data/schema, written by main at f37d35a from gcc-built fixtures: see
generate.py there), JSON Schema validation of real outputs, the size against schema 1, old
census stores."""

from __future__ import annotations

import dataclasses
import enum
import itertools
import json
import re
import shutil
import sqlite3
import subprocess
import types
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from abiguard import jsonform
from abiguard.census.store import Store, compress_json, decompress_json
from abiguard.cli import main
from abiguard.jsonform import audit_from_json, from_dict, plan_from_json, to_json
from abiguard.model import (
    SCHEMA_VERSION,
    Audit,
    Binding,
    Consumer,
    CopyRelocation,
    Evidence,
    InputError,
    Library,
    Plan,
    SchemaError,
    Stability,
    SymbolRef,
    to_dict,
)
from helpers import paths
from helpers.cfixtures import program, shared_lib, write

DATA = paths.DATA / "schema"
SCHEMA = json.loads((paths.DOCS / "schema-2.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
AUDIT_TYPES = (Audit, Consumer, Library, Binding, Evidence, SymbolRef, InputError, CopyRelocation)


def schema1_text(obj: Any) -> str:
    """What the release of schema 1 wrote (its to_json: every field, declaration order)."""
    if isinstance(obj, Plan):
        obj = dataclasses.replace(obj, schema=1, audit=dataclasses.replace(obj.audit, schema=1))
    else:
        obj = dataclasses.replace(obj, schema=1)
    return json.dumps(to_dict(obj), indent=2) + "\n"


def holds(new: Any, old: Any, where: str = "$") -> None:
    """``new`` says all that ``old`` says (it may have fields added since)."""
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        for k, v in old.items():
            assert k in new, f"{where}.{k}"
            holds(new[k], v, f"{where}.{k}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), where
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            holds(a, b, f"{where}[{i}]")
    else:
        assert new == old, where


def validate(text: str) -> None:
    errors = sorted(VALIDATOR.iter_errors(json.loads(text)), key=lambda e: e.path)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


# --------------------------------------------------------------------------------------------
# Schema 1 files of today's release
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["scan", "plan", "where"])
def test_schema1_file_reads_to_the_model_of_the_schema2_file(kind):
    v1 = (DATA / f"{kind}-1.json").read_text()
    v2 = (DATA / f"{kind}-2.json").read_text()
    assert json.loads(v1)["schema"] == 1 and json.loads(v2)["schema"] == 2
    a1, a2 = audit_from_json(v1, "v1"), audit_from_json(v2, "v2")
    assert a1 == a2 and a1.schema == SCHEMA_VERSION
    assert a1.consumers and a1.errors and any(b.status == "unresolved" and b.provider
                                              for c in a1.consumers for b in c.bindings) \
        or kind == "where"
    if kind == "scan":
        assert to_json(a1) == v2  # what this release writes for that scan
        holds(json.loads(schema1_text(a1)), json.loads(v1))  # all that schema 1 said
        assert len(v2) < len(v1) / 2
    if kind == "plan":
        p1, p2 = plan_from_json(v1, "v1"), plan_from_json(v2, "v2")
        assert p1 == p2 and p1.plans and p1.audit == a1
        assert to_json(p1) == v2
        holds(json.loads(schema1_text(p1)), json.loads(v1))
        assert from_dict(Plan, json.loads(v1)) == from_dict(Plan, json.loads(v2)) == p1


def _cli(capsys, *args: str) -> tuple[int, str]:
    rc = main(list(args))
    return rc, capsys.readouterr().out


def test_diff_gate_report_answer_alike_on_schema_1_and_2(tmp_path, capsys):
    v1, v2 = str(DATA / "scan-1.json"), str(DATA / "scan-2.json")
    for fmt in ("text", "json"):
        outs = {_cli(capsys, "diff", "-f", fmt, "--label", "A", "--label", "B", a, b)
                for a, b in itertools.product((v1, v2), repeat=2)}
        assert len(outs) == 1
    # a result that differs: schema 2 of the plan's audit without its second consumer
    audit = audit_from_json((DATA / "scan-2.json").read_text())
    other = tmp_path / "other.json"
    other.write_text(to_json(dataclasses.replace(audit, consumers=audit.consumers[:1] + (
        dataclasses.replace(audit.consumers[1], bindings=audit.consumers[1].bindings[:-2]),))))
    got = {_cli(capsys, "diff", "-f", "json", "--label", "A", "--label", "B", v, str(other))
           for v in (v1, v2)}
    (_rc, out), = got
    assert json.loads(out)["consumers"]  # it did see the difference, alike
    # gate (on the files without their input error: the gate refuses results with one)
    for n in (1, 2):
        data = json.loads((DATA / f"scan-{n}.json").read_text())
        data["errors"] = []
        (tmp_path / f"scan-{n}.json").write_text(json.dumps(data))
    v1, v2 = str(tmp_path / "scan-1.json"), str(tmp_path / "scan-2.json")
    # baselines from either file are the same; each file passes the other's baseline
    for name, v in (("b1", v1), ("b2", v2)):
        assert _cli(capsys, "gate", "--allow-unresolved", "--baseline",
                    str(tmp_path / f"{name}.toml"), "--update-baseline", v)[0] == 0
    assert (tmp_path / "b1.toml").read_text() == (tmp_path / "b2.toml").read_text()
    gates = [_cli(capsys, "gate", "--allow-unresolved", "-f", "json", "--baseline",
                  str(tmp_path / b), v) for b in ("b1.toml", "b2.toml") for v in (v1, v2)]
    assert {rc for rc, _ in gates} == {0}
    answers = [json.loads(out) for _, out in gates]
    assert all(a.pop("baseline") for a in answers) and answers[0]["kept"]
    assert all(a == answers[0] for a in answers)
    # report (the aggregate of a scan and of a plan result)
    for kind in ("scan", "plan"):
        outs = [_cli(capsys, "report", "-f", "json", str(DATA / f"{kind}-{n}.json"))
                for n in (1, 2)]
        assert {rc for rc, _ in outs} == {0}
        reports = [json.loads(out) for _, out in outs]
        for r, n in zip(reports, (1, 2), strict=True):
            assert r["summary"].pop("source") == str(DATA / f"{kind}-{n}.json")
        assert reports[0] == reports[1] and reports[0]["symbols"]


def test_where_symbols_from_a_schema_1_result(capsys):
    """--symbols-from reads the findings of a scan result of either schema alike."""
    outs = {_cli(capsys, "where", "-f", "json", "--symbols-from", str(DATA / f"scan-{n}.json"),
                 str(DATA / "scan-2.json"))[0] for n in (1, 2)}
    assert len(outs) == 1


def test_jq_recipe_of_the_docs(tmp_path):
    """docs/schema.md's jq program resolves schema 2 bindings to what schema 1 said."""
    if shutil.which("jq") is None:
        raise AssertionError("jq missing: run scripts/setup-debian.sh")
    doc = (paths.DOCS / "schema.md").read_text()
    (recipe,) = re.findall(r"```jq\n(.*?)```", doc, re.DOTALL)
    (tmp_path / "b.jq").write_text(recipe)
    plain = (".consumers[] | .path as $path | .bindings[] | "
             "{path: $path, symbol: .symbol.name, provider, stability}")

    def jq(*args: str) -> str:
        return subprocess.run(["jq", "-c", *args], capture_output=True, text=True,
                              check=True).stdout

    want = jq(plain, str(DATA / "scan-1.json"))
    assert want.count("\n") > 10 and '"private"' in want and '"unstable"' in want
    assert jq("-f", str(tmp_path / "b.jq"), str(DATA / "scan-2.json")) == want


def test_old_census_store_reads(tmp_path, capsys):
    """A store written by the release of schema 1: every audit reads (its findings are the
    rows that release wrote to the finding table), and rewritten in schema 2 the store
    answers alike and is smaller."""
    old = tmp_path / "old.sqlite"
    shutil.copy(DATA / "census-1.sqlite", old)
    new = tmp_path / "new.sqlite"
    shutil.copy(old, new)
    with Store(str(old), create=False) as store:
        packages = store.packages()
        assert len(packages) >= 6
        rows = {(f.object, f.symbol, f.version, f.library, f.stability)
                for _, f in store.findings()}
        got = set()
        for p in packages:
            text = store.audit_json(p.id)
            assert json.loads(text)["schema"] == 1
            audit = store.audit(p.id)
            got |= {(c.display_name, b.symbol.name, b.provided_version or b.symbol.version,
                     b.provider, b.stability.value) for c, b in audit.findings}
            assert audit_from_json(to_json(audit, indent=None)) == audit
    assert got == rows and rows
    db = sqlite3.connect(new)
    before = after = 0
    for pid, blob in db.execute("SELECT id, audit FROM package").fetchall():
        text = decompress_json(blob)
        again = compress_json(to_json(audit_from_json(text), indent=None))
        before, after = before + len(blob), after + len(again)
        db.execute("UPDATE package SET audit=? WHERE id=?", (again, pid))
    db.commit()
    db.close()
    assert after < before
    outs = [_cli(capsys, "report", "-f", "json", str(s)) for s in (old, new)]
    assert {rc for rc, _ in outs} == {0}
    reports = [json.loads(out) for _, out in outs]
    for r, s in zip(reports, (old, new), strict=True):
        assert r["summary"].pop("source") == str(s)
    assert reports[0] == reports[1] and reports[0]["symbols"]
    with Store(str(new), create=False) as store, Store(str(old), create=False) as ref:
        for p in store.packages():
            assert store.audit(p.id) == ref.audit(p.id)


def test_zlib_stored_schema1_audit_reads():
    """Stores older still kept zlib-compressed audits."""
    import zlib

    text = (DATA / "scan-1.json").read_text()
    assert audit_from_json(decompress_json(zlib.compress(text.encode()))) == \
        audit_from_json((DATA / "scan-2.json").read_text())


# --------------------------------------------------------------------------------------------
# Round trips of every field
# --------------------------------------------------------------------------------------------


def _other(hint: Any, default: Any, tag: str, depth: int = 0) -> Any:
    """A value of type ``hint`` that is not ``default`` (for any field a dataclass has or
    gets: new optional fields are covered without changing this test)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _other(args[0], default, tag, depth)
    if origin is tuple:
        (item,) = [a for a in typing.get_args(hint) if a is not Ellipsis][:1]
        return (_other(item, None, tag + "0", depth), _other(item, None, tag + "1", depth))
    if origin is typing.Literal:  # a state field: another of its words
        return next(w for w in typing.get_args(hint) if w != default)
    if hint is str:
        return f"{tag}-\u00e9\udcff"  # non-ASCII and a surrogate escape (a file name)
    if hint is bool:
        return not default if isinstance(default, bool) else True
    if hint is int:
        return (default or 0) + 3
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(m for m in hint if m != default)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return full(hint, tag, depth + 1)
    raise AssertionError(f"no test value for {hint!r}")


def full(cls: type, tag: str = "x", depth: int = 0, **given: Any) -> Any:
    """An object of ``cls`` with every field set to a value other than its default."""
    hints = typing.get_type_hints(cls)
    kw = {}
    for f in dataclasses.fields(cls):
        if f.name in given:
            kw[f.name] = given[f.name]
        elif f.name != "schema":
            default = f.default if f.default is not dataclasses.MISSING else None
            kw[f.name] = _other(hints[f.name], default, f"{tag}.{f.name}", depth)
    return cls(**kw)


def roundtrip(audit: Audit) -> None:
    for indent in (2, None):
        text = to_json(audit, indent=indent)
        back = audit_from_json(text, "t")
        assert back == audit
        assert to_json(back, indent=indent) == text
        validate(text)
        assert audit_from_json(schema1_text(audit)) == audit


def test_every_field_set_round_trips():
    ev = (Evidence("soname", "long " * 20, Stability.STABLE, "p.toml"), full(Evidence, "e"))
    lib = full(Library, "lib", evidence=ev, path="/lib/libx.so.1", soname="libx.so.1")
    lib2 = full(Library, "lib2", path=None, soname=None, name="libgone.so.1")
    b = full(Binding, "b", provider="libx.so.1", stability=Stability.PRIVATE)
    assert lib.stability != b.stability and lib.evidence != b.evidence
    c = full(Consumer, "c", libraries=(lib, lib2), bindings=(b,))
    audit = full(Audit, "a", consumers=(c,), kind="scan")
    roundtrip(audit)
    # nothing of a consumer, a library or a binding is left at its default: all written
    data = json.loads(to_json(audit))
    assert set(data["consumers"][0]["bindings"][0]) == {f.name for f in
                                                         dataclasses.fields(Binding)}
    assert set(data["consumers"][0]) == {f.name for f in dataclasses.fields(Consumer)}


def _bindings(libs: tuple[Library, ...]) -> list[Binding]:
    own = Evidence("policy", "symbol rule", Stability.PRIVATE, "built-in:x.toml")
    note = Evidence("unresolved", "library not found")
    out = []
    keys = [lib.soname or lib.name for lib in libs] + ["libnowhere.so.3", None]
    for key, version, status in itertools.product(keys, (None, "V_1"), ("bound", "unresolved")):
        ref = next((x for x in libs if (x.soname or x.name) == key), None)
        base = Binding(SymbolRef("f", version), "FUNC", False, status, provider=key)
        lib_ev = ref.evidence if ref else ()
        lib_st = ref.stability if ref else Stability.UNKNOWN
        for path, pv, st, evidence in (
                (ref.path if ref else None, version, lib_st, lib_ev),  # all derived
                ("/elsewhere", "V_2", Stability.PRIVATE, (own,)),  # a symbol rule
                (None, None, lib_st, (note, *lib_ev)),  # spliced
                (ref.path if ref else None, version, lib_st, lib_ev[:1] + (own,) + lib_ev),
                (ref.path if ref else None, version, Stability.UNSTABLE, ()),
                (ref.path if ref else None, version, lib_st, lib_ev + lib_ev)):
            out.append(dataclasses.replace(base, provider_path=path, provided_version=pv,
                                           stability=st, evidence=evidence,
                                           reason="why" if status != "bound" else None))
    return out


def test_bindings_relative_to_their_library_round_trip():
    """Derived fields in every combination: a binding's path, class and evidence equal to
    its library's or not, spliced or not, with a library found, not found or absent, and
    libraries equal to or different from their library file's description."""
    ev1 = (Evidence("version-node", "nodes", Stability.STABLE),
           Evidence("soname", "plain major", Stability.STABLE))
    ev2 = (Evidence("policy", "rule", Stability.UNSTABLE, "built-in:xen.toml"),)
    a = Library("liba.so.1", "/lib/liba.so.1", "liba.so.1", "ld.so.conf", "app", 1,
                Stability.STABLE, ev1, ("A_1", "A_2"))
    b = Library("libb.so", "/lib/libb.so.4.17", "libb.so.4.17", "RUNPATH", "app", 1,
                Stability.UNSTABLE, ev2)
    gone = Library("libgone.so.1", None, None, "not found", "app", 1, Stability.STABLE, ev1)
    nosoname = Library("libns.so", "/lib/libns.so", None, "RUNPATH", "liba.so.1", 2)
    twin = dataclasses.replace(a, name="liba-alias.so", depth=2)  # same key, second
    variants = [  # the same file seen differently by another consumer
        dataclasses.replace(a, stability=Stability.PRIVATE),
        dataclasses.replace(a, soname="other.so.1"),
        dataclasses.replace(a, evidence=ev2, version_defs=()),
        dataclasses.replace(b, soname=None),
    ]
    libs = (a, b, gone, nosoname, twin)
    shared = _bindings(libs)
    consumers = [Consumer("/bin/app", "EXEC", "x86_64", libraries=libs, needed=("liba.so.1",),
                          bindings=tuple(shared))]
    for i, v in enumerate(variants):  # the same Binding objects under other libraries
        others = tuple(v if x is (a if i < 3 else b) else x for x in libs)
        consumers.append(Consumer(f"/bin/app{i}", "EXEC", "x86_64", libraries=others,
                                  needed=tuple(x.name for x in others if x.depth == 1),
                                  bindings=tuple(shared)))
    consumers.append(Consumer("/bin/none", "DYN", "x86_64", bindings=tuple(shared)))
    audit = Audit(tuple(consumers), inputs=("x",))
    roundtrip(audit)
    text = to_json(audit)
    assert '"library"]' in text and '"library_files"' in text


def test_no_library_files_and_empty_results():
    for audit in (Audit(), Audit(errors=(InputError("a", "b"),)),
                  Audit((Consumer("p", "EXEC", "x"),), tool_version="1")):
        roundtrip(audit)
        assert set(json.loads(to_json(audit))) == {f.name for f in dataclasses.fields(Audit)}


def test_schema_documents_every_field():
    """docs/schema-2.json names every field of the types an audit holds (a field added to
    the model must be documented there: this fails until it is)."""
    defs = SCHEMA["$defs"]
    for cls in AUDIT_TYPES + (Plan,):
        props = set(defs[cls.__name__]["properties"])
        missing = {f.name for f in dataclasses.fields(cls)} - props
        assert not missing, f"docs/schema-2.json: {cls.__name__} lacks {sorted(missing)}"
    assert set(defs["LibraryFile"]["properties"]) == set(jsonform.FILE_FIELDS)


# --------------------------------------------------------------------------------------------
# Real outputs against the JSON Schema
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("schema")
    lib = d / "lib"
    shared_lib(lib, "libunst.so.4.17", "int u_a(void){return 1;} int u_b(void){return 2;}\n",
               version_script="VERS_4.17.0 { global: u_*; local: *; };")
    shared_lib(lib, "libpriv.so.1", "int p_a(void){return 1;} int p_i(void){return 2;}\n",
               version_script="P_1 { global: p_a; local: *; }; P_PRIVATE { global: p_i; } P_1;")
    program(d / "bin", "app", "int u_a(void); int u_b(void); int p_a(void); int p_i(void);"
            "int main(void){return u_a()+u_b()+p_a()+p_i();}",
            link=(f"-L{lib}", "-lunst", "-lpriv", "-Wl,-rpath,$ORIGIN/../lib"))
    write(d / "remedies.toml", """
        schema = 1
        name = "t"
        library = "libunst.so*"
        [[remedy]]
        symbols = ["u_a"]
        kind = "retire"
        rationale = "old"
    """)
    return d


def test_outputs_validate(project, capsys):
    app = str(project / "bin" / "app")
    for args in (("scan", app), ("scan", app, "/bin/true", str(DATA / "generate.py")),
                 ("plan", "--remedies", str(project / "remedies.toml"), app),
                 ("where", "--symbol", "u_a", app),
                 ("where", "--symbol", "u_a", "--source", str(DATA))):
        rc = main([args[0], "-f", "json", *args[1:]])
        text = capsys.readouterr().out
        assert rc in (0, 1, 2), args
        validate(text)
        if args[0] != "where" or "--source" not in args:
            assert audit_from_json(text).consumers
    for name in ("scan-2.json", "plan-2.json", "where-2.json"):
        validate((DATA / name).read_text())


def test_validation_catches_a_wrong_document():
    data = json.loads((DATA / "scan-2.json").read_text())
    data["consumers"][0]["bindings"][0]["provider_path_"] = "x"
    assert list(VALIDATOR.iter_errors(data))


# --------------------------------------------------------------------------------------------
# Size
# --------------------------------------------------------------------------------------------


def test_schema2_is_at_most_a_fifth_of_schema1(tmp_path):
    """A directory of gcc-built programs binding many symbols to one library whose policy
    evidence is long (the shape of /usr/bin, where every binding repeated its library's)."""
    from abiguard.pipeline import ScanOptions, scan_paths

    lib = tmp_path / "lib"
    names = [f"big_function_number_{i}" for i in range(150)]
    shared_lib(lib, "libbig.so.4.17", "".join(f"int {n}(void){{return {i};}}\n"
                                               for i, n in enumerate(names)),
               version_script="BIG_4.17.0 { global: big_*; local: *; };")
    policy = write(tmp_path / "policy.toml", f"""
        schema = 1
        name = "size"
        [[library]]
        match = "libbig.so*"
        stability = "unstable"
        reason = "{'a release-named library whose ABI changes every release; ' * 8}"
    """)
    bins = tmp_path / "bin"
    for k in range(3):
        used = names[k::2]
        program(bins, f"p{k}", "".join(f"int {n}(void);" for n in used)
                + "int main(void){return " + "+".join(f"{n}()" for n in used) + ";}",
                link=(f"-L{lib}", "-lbig", "-Wl,-rpath," + str(lib)))
    for k in range(3, 24):
        shutil.copy(bins / f"p{k % 3}", bins / f"p{k}")
    audit = scan_paths([str(bins)], ScanOptions(policies=[str(policy)]))
    assert len(audit.consumers) == 24 and all(len(c.bindings) > 70 for c in audit.consumers)
    v1, v2 = schema1_text(audit), to_json(audit)
    assert audit_from_json(v1) == audit_from_json(v2) == audit
    assert len(v2) <= 0.2 * len(v1), (len(v2), len(v1))


# --------------------------------------------------------------------------------------------
# Bad schema 2 input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(schema=3), "schema version 3 is not supported (this abiguard reads 1"),
    (lambda d: d["consumers"][0]["bindings"][2].update(evidence=["library"]),
     "$.consumers[0].bindings[2].evidence: 'library' stands for"),
    (lambda d: d["consumers"][0]["bindings"][0].update(evidence=["libary"]),
     "$.consumers[0].bindings[0].evidence[0]: expected an object for Evidence"),
    (lambda d: d["library_files"]["/usr/lib/x86_64-linux-gnu/libc.so.6"].update(depth=1),
     '$.library_files["/usr/lib/x86_64-linux-gnu/libc.so.6"]: unknown field(s) depth'),
    (lambda d: d.update(library_files=[]), "$.library_files: expected an object, got list"),
    (lambda d: d["consumers"][1]["libraries"][0].update(depth=True),
     "$.consumers[1].libraries[0].depth: expected int, got bool"),
    (lambda d: d["consumers"][0].update(bindings={}),
     "$.consumers[0].bindings: expected a list, got dict"),
    (lambda d: d["consumers"][0]["bindings"][1].update(stability="shaky"),
     "$.consumers[0].bindings[1].stability: 'shaky' is not one of stable, unstable, private"),
    (lambda d: d["consumers"][0]["bindings"][1].update(status="bonud"),
     "$.consumers[0].bindings[1].status: 'bonud' is not one of bound, unresolved, declared"),
    (lambda d: d["consumers"][0]["bindings"][1].update(status=1),
     "$.consumers[0].bindings[1].status: 1 is not one of bound, unresolved, declared"),
])
def test_bad_schema2_documents_are_refused_with_the_place(edit, message):
    data = json.loads((DATA / "scan-2.json").read_text())
    edit(data)
    with pytest.raises(SchemaError) as exc:
        audit_from_json(json.dumps(data), "f.json")
    assert str(exc.value).startswith("f.json: ") and message in str(exc.value)


@dataclasses.dataclass(frozen=True, slots=True)
class Item:
    """A type no other test writes: its encoder and decoder are made by the threads."""

    name: str
    size: int = 0
    note: str | None = None
    tags: tuple[str, ...] = ()
    stability: Stability = Stability.UNKNOWN


@dataclasses.dataclass(frozen=True, slots=True)
class Box:
    items: tuple[Item, ...] = ()
    first: Item | None = None


def test_encoders_and_decoders_made_by_concurrent_threads():
    """A census worker's threads (Dask) may write and read the first objects of a type at
    the same time: every one of them gets the finished encoder and decoder."""
    import sys
    import threading

    box = Box(tuple(Item(f"i{k}", k, "n" if k % 2 else None, ("a",) * (k % 3),
                         Stability.UNSTABLE) for k in range(50)), Item("x", 1))
    want = json.dumps(to_dict(box))  # every field of every item (the full form)
    got: list[Any] = []
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        try:
            text = to_json(box, indent=None)
            got.append((json.dumps(json.loads(text)), from_dict(Box, json.loads(text))))
        except Exception as exc:  # noqa: BLE001 — reported below
            got.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert got == [(want, box)] * 8
