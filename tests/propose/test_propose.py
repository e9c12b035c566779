"""abiguard propose on a gcc-built toy: an unstable libunst.so.4.17, a stable libstab.so.1
(nodes STAB_1.0, STAB_1.1), a program and its sources. Oracles: readelf for the library's
nodes and the new node, gcc/ld for the generated files, a program calling the forwarding
shim (the argument mapping), GNU patch for the patches, abiguard where after applying them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.errors import DataFileError
from abiguard.remedies import parse_remedies
from helpers.cfixtures import gcc, program, shared_lib, write

UNST_H = """
#ifndef UNST_H
#define UNST_H
#include <stdint.h>
typedef struct u_iface u_iface;
u_iface *u_open(void *logger, unsigned int flags);
/**
 * Map a line to a handle.
 *
 * @parm index the line to map
 * @return 0 on success, -1 on failure.
 */
int u_map(u_iface *uh, uint32_t domid, int index, int *out);
int u_bind(u_iface *uh, uint32_t domid, uint32_t vec, int pirq, uint64_t table);
int u_shutdown(u_iface *uh, uint32_t domid, int reason);
int u_getparam(u_iface *uh, uint32_t domid, int param, unsigned long *value);
#endif
"""
UNST_C = """
#include <stdlib.h>
#include "unst.h"
struct u_iface { int x; };
u_iface *u_open(void *logger, unsigned int flags) { (void)logger; (void)flags;
    return calloc(1, sizeof(u_iface)); }
int u_map(u_iface *uh, uint32_t domid, int index, int *out) {
    if (!uh) return -1; *out = (int)domid * 1000 + index; return 0; }
int u_bind(u_iface *uh, uint32_t domid, uint32_t vec, int pirq, uint64_t table) {
    if (!uh) return -1; return (int)(domid * 100000 + vec * 100 + pirq + table); }
int u_shutdown(u_iface *uh, uint32_t domid, int reason) { return uh ? (int)domid + reason : -1; }
int u_getparam(u_iface *uh, uint32_t domid, int param, unsigned long *value) {
    (void)uh; *value = domid + param; return 0; }
"""
STAB_H = """
#ifndef STAB_H
#define STAB_H
#include <stdint.h>
typedef uint16_t sdomid_t;
typedef struct stab_handle stab_handle;
stab_handle *stab_open(unsigned int flags);
int stab_close(stab_handle *sh);
/**
 * Shut the domain down.
 *
 * @parm sh a handle to an open stab interface.
 * @parm domid the domain to act on
 * @return 0 on success, -1 on failure.
 */
int stab_shutdown(stab_handle *sh, sdomid_t domid, unsigned int reason);
/**
 * @parm sh a handle to an open stab interface.
 * @parm domid the domain to act on
 */
int stab_ping(stab_handle *sh, sdomid_t domid);
int stab_level(stab_handle *sh, sdomid_t domid, int level);
#endif
"""
STAB_C = """
#include <stdlib.h>
#include "stab.h"
struct stab_handle { int x; };
stab_handle *stab_open(unsigned int flags) { (void)flags; return calloc(1, 4); }
int stab_close(stab_handle *sh) { free(sh); return 0; }
int stab_shutdown(stab_handle *sh, sdomid_t domid, unsigned int reason) {
    return sh ? domid + (int)reason : -1; }
int stab_ping(stab_handle *sh, sdomid_t domid) { return sh ? domid : -1; }
int stab_level(stab_handle *sh, sdomid_t domid, int level) { return sh ? domid + level : -1; }
"""
STAB_MAP = """
STAB_1.0 { global: stab_open; stab_close; local: *; };
STAB_1.1 { global: stab_shutdown; stab_ping; stab_level; } STAB_1.0;
"""
COMPAT_H = """
#ifndef COMPAT_H
#define COMPAT_H
#include "unst.h"
extern u_iface *uh;
/* library before 4.6 */
#if APP_UNST_VERSION < 40600
static inline int get_param(unsigned long *v)
{
    return u_getparam(uh, 5, 1, v);
}
#else
static inline int get_param(unsigned long *v)
{
    *v = 6;
    return 0;
}
#endif
#endif
"""
APP_C = """
#include <stdio.h>
#include "unst.h"
#include "stab.h"
#include "compat.h"

u_iface *uh;
stab_handle *app_stab;

static int setup_irq(int line)
{
    int out;

    return u_map(uh, 5, line, &out) ? -1 : out;
}

static int bind_irq(int pirq)
{
    return u_bind(uh, 5, 32, pirq, 0);
}

static void die(int reboot)
{
    if (u_shutdown(uh, 5, reboot ? 1 : 0) != 0)
        fprintf(stderr, "shutdown failed\\n");
}

int main(void)
{
    unsigned long v;

    uh = u_open(NULL, 0);
    app_stab = stab_open(0);
    get_param(&v);
    printf("%d %d %d %lu\\n", setup_irq(3), bind_irq(7), stab_ping(app_stab, 5), v);
    die(0);
    return 0;
}
"""
REMEDIES = """
schema = 1
name = "toy"
library = "libunst.so*"

[[version_macro]]
name = "APP_UNST_VERSION"
scale = [10000, 100, 1]

[[group]]
id = "irq"
title = "Interrupt handles"
kind = "redesign"
rationale = "Allocate a handle, then bind it."
references = ["the toy thread"]
  [[group.part]]
  id = "alloc"
  title = "Allocate a handle"
  [[group.part]]
  id = "bind"
  title = "Bind a handle"

[[remedy]]
symbols = ["u_map"]
kind = "new-entry-point"
group = "irq"
part = "alloc"
rationale = "A stable call underneath."
call_sites = ["app.c:setup_irq"]
  [[remedy.replacement]]
  symbol = "stab_map"
  library = "libstab.so*"
  proposed = true
  summary = "Map a line to a handle of the domain."
  decide = ["whether a restricted handle may call it"]

[[remedy]]
symbols = ["u_bind"]
kind = "redesign"
group = "irq"
part = "bind"
rationale = "Binds need a new stable operation."
  [[remedy.replacement]]
  symbol = "stab_bind"
  library = "libstab.so*"
  proposed = true
  arguments = ["$handle", "$1", "$3:handle_id", "$2"]
  fixed = { 4 = "0" }

[[remedy]]
symbols = ["u_shutdown"]
kind = "replace"
rationale = "stab_shutdown does the same."
  [[remedy.replacement]]
  symbol = "stab_shutdown"
  library = "libstab.so*"
  since = "STAB_1.1"
  arguments = ["$handle", "$1", "$2"]

[[remedy]]
symbols = ["u_getparam"]
kind = "retire"
rationale = "Compat code for the library before 4.6. Remedy: drop it."

[[remedy]]
symbols = ["u_open"]
kind = "keep"
rationale = "Needed while other u_ calls remain."
"""


def readelf(*args: str | Path) -> str:
    return subprocess.run(["readelf", *map(str, args)], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("propose")
    inc = d / "include"
    write(inc / "unst.h", UNST_H)
    write(inc / "stab.h", STAB_H)
    lib = d / "lib"
    shared_lib(lib, "libunst.so.4.17", UNST_C, version_script="VERS_4.17.0 { global: *; };",
               extra=(f"-I{inc}",))
    shared_lib(lib, "libstab.so.1", STAB_C, version_script=STAB_MAP, extra=(f"-I{inc}",))
    src = d / "src"
    write(src / "compat.h", COMPAT_H)
    write(src / "app.c", APP_C)
    program(d, "app", (src / "app.c").read_text(),
            link=(f"-L{lib}", "-lunst", "-lstab", "-Wl,-rpath,$ORIGIN/lib"),
            extra=(f"-I{inc}", f"-I{src}", "-DAPP_UNST_VERSION=40500"))
    write(d / "remedies.toml", REMEDIES)
    return d


def propose(toy: Path, out: Path, *extra: str) -> int:
    return main(["propose", str(toy / "app"), "--remedies", str(toy / "remedies.toml"),
                 "--headers", str(toy / "include"), "-d", str(out), "-q", *extra])


@pytest.fixture(scope="module")
def result(toy, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("out")
    js = out / "result.json"
    assert propose(toy, out / "d", "--source", str(toy / "src"), "--min-version", "4.6",
                   "-f", "json", "-o", str(js)) == 0
    return out / "d", json.loads(js.read_text())


def test_new_node_follows_the_librarys_newest(toy, result):
    _, data = result
    nodes = re.findall(r"Name: (STAB_[\d.]+)", readelf("-V", "-W", toy / "lib" / "libstab.so.1"))
    assert nodes == ["STAB_1.0", "STAB_1.1"]
    (a,) = data["additions"]
    assert (a["library"], a["node"], a["previous_node"]) == ("libstab.so.1", "STAB_1.2",
                                                            "STAB_1.1")
    assert a["handle"] == "stab_handle *sh" and a["unstable_handle"] == "u_iface *uh"
    assert "STAB_1.2 {\n\tglobal:\n\t\tstab_map;\n\t\tstab_bind;\n} STAB_1.1;" in \
        a["version_script_text"]


def test_prototypes_derived_with_the_stable_conventions(result):
    _, data = result
    funcs = {f["name"]: f for g in data["groups"] for f in g["functions"]}
    m, b = funcs["stab_map"], funcs["stab_bind"]
    # the handle replaced, domid takes the stable header's type (3+ functions use sdomid_t)
    assert m["prototype"] == "int stab_map(stab_handle *sh, sdomid_t domid, int index, int *out)"
    assert b["prototype"] == ("int stab_bind(stab_handle *sh, sdomid_t domid, int handle_id, "
                              "uint32_t vec)")
    assert b["forward"] == "u_bind(uh, domid, vec, handle_id, 0)"
    assert m["forward"] == "u_map(uh, domid, index, out)"
    # doc comment: summary from the knowledge, @parm from the unstable and the stable headers
    assert "Map a line to a handle of the domain." in m["doc"]
    assert "@parm sh a handle to an open stab interface." in m["doc"]
    assert "@parm index the line to map" in m["doc"]
    assert "@return 0 on success, -1 on failure." in m["doc"]
    assert any("whether a restricted handle may call it" in x for x in m["decide"])
    assert any("sdomid_t" in x for x in m["decide"])


def test_generated_files_compile_link_and_forward(toy, result, tmp_path):
    out, data = result
    (a,) = data["additions"]
    inc = toy / "include"
    for name in (a["header_file"], a["skeleton_file"]):
        assert (out / name).read_text() == a[{"libstab-additions.h": "header_text",
                                              "libstab-forward.c": "skeleton_text"}[name]]
    gcc("-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-x", "c", f"-I{inc}",
        out / a["header_file"])
    gcc("-fsyntax-only", "-Wall", "-Wextra", "-Werror", f"-I{inc}", f"-I{out}",
        out / a["skeleton_file"])
    assert "DECIDE:" in a["skeleton_text"] and "TODO" not in a["skeleton_text"]
    # the version script: the library's own nodes (from readelf) + the proposed node
    script = tmp_path / "full.map"
    script.write_text(STAB_MAP + (out / a["version_script_file"]).read_text())
    shim = tmp_path / "libstabshim.so"
    gcc("-shared", "-fPIC", "-o", shim, f"-I{inc}", f"-I{out}", out / a["skeleton_file"],
        f"-Wl,--version-script={script}", f"-L{toy / 'lib'}", "-lunst",
        f"-Wl,-rpath,{toy / 'lib'}")
    syms = readelf("--dyn-syms", "-W", shim)
    for name in a["functions"]:
        assert re.search(rf"\b{name}@@STAB_1\.2\b", syms), name
    assert re.search(r"Name: STAB_1\.2\s+0x[0-9a-f]+: Parent 1: STAB_1\.1",
                     readelf("-V", "-W", shim))
    # the mapping, run: stab_bind(sh, 7, 9, 32) must call u_bind(uh, 7, 32, 9, 0)
    prog = tmp_path / "caller"
    write(tmp_path / "caller.c", '#include <stdio.h>\n#include "libstab-additions.h"\n'
          "int main(void) { int out = 0; int r = stab_map(NULL, 7, 3, &out);\n"
          'printf("%d %d %d\\n", r, out, stab_bind(NULL, 7, 9, 32)); return 0; }\n')
    gcc("-o", prog, tmp_path / "caller.c", f"-I{inc}", f"-I{out}", f"-L{tmp_path}",
        "-lstabshim", f"-L{toy / 'lib'}", "-lunst",
        f"-Wl,-rpath,{tmp_path}:{toy / 'lib'}")
    run = subprocess.run([str(prog)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "7003", str(7 * 100000 + 32 * 100 + 9)]


def test_groups_parts_and_consumer_functions(result):
    _, data = result
    (g,) = data["groups"]
    assert (g["id"], g["kind"]) == ("irq", "redesign")
    assert [(p["id"], p["symbols"], p["functions"]) for p in g["parts"]] == [
        ("alloc", ["u_map"], ["stab_map"]), ("bind", ["u_bind"], ["stab_bind"])]
    assert g["changed_functions"] == ["app.c:bind_irq", "app.c:setup_irq"]
    assert [s["symbol"] for s in g["stays_unstable"]] == ["u_open"]


def test_patches_apply_and_where_confirms(toy, result, tmp_path, capsys):
    out, data = result
    patches = data["patches"]
    assert [p["kind"] for p in patches] == ["retire", "replace"]
    retire, repl = patches
    assert retire["files"] == ["compat.h"] and repl["files"] == ["app.c"]
    assert [(c["symbol"], c["function"]) for c in retire["removed"]] == [
        ("u_getparam", "get_param")]
    copy = tmp_path / "src"
    shutil.copytree(toy / "src", copy)
    for p in patches:
        path = out / p["file"]
        assert path.read_text().endswith(p["diff"])
        for args in (["--dry-run"], []):
            proc = subprocess.run(["patch", "-p1", "--batch", *args, "-d", str(copy), "-i",
                                   str(path)], capture_output=True, text=True, check=False)
            assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (copy / "app.c").read_text()
    assert "stab_shutdown(app_stab, 5, reboot ? 1 : 0)" in text
    assert "#if APP_UNST_VERSION" not in (copy / "compat.h").read_text()
    capsys.readouterr()
    assert main(["where", "--source", str(copy), "--symbol", "u_getparam,u_shutdown,u_map",
                 "-f", "json"]) == 0
    after = json.loads(capsys.readouterr().out)["callsites"]
    assert {s["symbol"] for s in after} == {"u_map"}
    # the patched program still builds against the real libraries
    gcc("-o", tmp_path / "app2", copy / "app.c", f"-I{toy / 'include'}", f"-I{copy}",
        "-DAPP_UNST_VERSION=40600", f"-L{toy / 'lib'}", "-lunst", "-lstab")


def test_proposal_markdown_matches_the_json(result):
    out, data = result
    md = (out / "proposal.md").read_text()
    assert md.startswith("# RFC: new entry points in libstab.so.1")
    assert "## 1. Interrupt handles" in md and "### Allocate a handle" in md
    for f in data["groups"][0]["functions"]:
        assert f["name"] in md and f["doc"] in md
    for p in data["patches"]:
        assert p["file"] in md
    assert set(data["written"]) == {"proposal.md", "libstab-additions.h", "libstab-additions.map",
                                    "libstab-forward.c", *(p["file"] for p in data["patches"])}
    # rendered by markdown-it (CommonMark + GitHub tables): tables and C blocks come out as
    # such, every row has as many cells as its header, no table syntax is left as text
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(md)
    tables = re.findall(r"<table>.*?</table>", html, re.DOTALL)
    assert len(tables) == 1 + 1 + 2 + 1  # summary, the group's uses, retire x2, replace
    for t in tables:
        head = t.count("<th>") + t.count("<th ")
        rows = re.findall(r"<tr>(.*?)</tr>", t, re.DOTALL)[1:]
        assert rows and all(r.count("<td") == head for r in rows)
    assert html.count('<code class="language-c">') == 2
    assert "|---" not in html and "| " not in re.sub(r"<code>.*?</code>", "", html)


def test_text_summary(toy, tmp_path, capsys):
    assert main(["propose", str(toy / "app"), "--remedies", str(toy / "remedies.toml"),
                 "--headers", str(toy / "include"), "-d", str(tmp_path / "o")]) == 0
    text = capsys.readouterr().out
    assert "1 group(s), 2 function(s) proposed (libstab.so.1: 2 in new node STAB_1.2 after " \
           "STAB_1.1)" in text
    assert "u_map -> stab_map" in text and "wrote 4 file(s)" in text


def test_nothing_to_propose(toy, tmp_path, capsys):
    plan = tmp_path / "plan.json"
    only = tmp_path / "r.toml"
    only.write_text(REMEDIES.replace('kind = "new-entry-point"', 'kind = "retire"')
                    .replace('kind = "redesign"\ngroup', 'kind = "retire"\ngroup'))
    assert main(["plan", str(toy / "app"), "--remedies", str(only), "-f", "json", "-o",
                 str(plan), "-q"]) == 0
    capsys.readouterr()
    out = tmp_path / "o"
    assert main(["propose", str(plan), "--headers", str(toy / "include"), "-d", str(out)]) == 0
    text = capsys.readouterr().out
    assert "nothing to propose: none of the 5 unstable symbol(s) of 1 consumer(s) needs a new " \
           "stable entry point or a redesign" in text
    assert not out.exists()


def test_headers_missing_a_declaration(toy, tmp_path, capsys):
    inc = tmp_path / "include"
    shutil.copytree(toy / "include", inc)
    (inc / "unst.h").write_text(UNST_H.replace(
        "int u_bind(u_iface *uh, uint32_t domid, uint32_t vec, int pirq, uint64_t table);", ""))
    out = tmp_path / "o"
    assert main(["propose", str(toy / "app"), "--remedies", str(toy / "remedies.toml"),
                 "--headers", str(inc), "-d", str(out), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["not_declared"] == ["u_bind"]
    funcs = {f["name"]: f for f in data["groups"][0]["functions"]}
    assert funcs["stab_bind"]["status"] == "no-declaration"
    assert "u_bind is not declared in the headers given" in funcs["stab_bind"]["detail"]
    assert funcs["stab_map"]["status"] == "proposed"
    assert data["additions"][0]["functions"] == ["stab_map"]
    assert "u_bind" in (out / "proposal.md").read_text().split("Not declared in the headers")[1]


def test_patch_that_does_not_apply_to_another_tree(toy, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(toy / "src", other)
    app = other / "app.c"
    app.write_text(app.read_text().replace("if (u_shutdown(uh, 5, reboot ? 1 : 0) != 0)",
                                           "if (u_shutdown(uh, 6, reboot) != 0)"))
    code = propose(toy, tmp_path / "o", "--source", str(toy / "src"), "--check-source",
                   str(other))
    err = capsys.readouterr().err
    assert code == 2
    name = "patches/0001-replace-u-shutdown-with-stab-shutdown.patch"
    start = re.search(r"^@@ -(\d+)", (tmp_path / "o" / name).read_text(), re.MULTILINE).group(1)
    line = [x for x in err.splitlines() if "does not apply" in x]
    assert line == [(f"abiguard: error: {other}: {name} does not apply: app.c: hunk #1 FAILED "
                    f"at line {start}")]


def test_handle_must_be_unique(toy, tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(toy / "src", src)
    (src / "more.c").write_text('#include "stab.h"\nstab_handle *second;\n')
    assert propose(toy, tmp_path / "o", "--source", str(src), "-f", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["patches"] == []
    assert any("2 file-scope stab_handle * variables in the sources (app_stab, second)" in n
               for n in data["notes"])
    assert propose(toy, tmp_path / "o2", "--source", str(src), "--handle", "second",
                   "-f", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert "stab_shutdown(second, 5, reboot ? 1 : 0)" in data["patches"][0]["diff"]


@pytest.mark.parametrize("args,message", [
    (["--min-version", "4.6"], "--min-version needs the consumer's sources"),
    (["--source", "/nonexistent"], "--source /nonexistent: not a directory"),
])
def test_usage_errors(toy, tmp_path, capsys, args, message):
    assert propose(toy, tmp_path / "o", *args) == 2
    assert message in capsys.readouterr().err


def test_bad_min_version(toy, tmp_path, capsys):
    assert propose(toy, tmp_path / "o", "--source", str(toy / "src"), "--min-version",
                   "four") == 2
    assert "--min-version four: 'four' is not a version" in capsys.readouterr().err


@pytest.mark.parametrize("snippet,message", [
    ('arguments = ["$handle", "$x"]', "expected $handle, $N or $N:name"),
    ('arguments = ["$handle", "0"]', "a proposed function's parameters come from"),
    ('arguments = ["$1", "$1"]', "an old argument is used twice"),
    ('replaces = "u_other"', "replaces 'u_other', which is not one of the remedy's symbols"),
    ('fixed = { a = "0" }', "fixed.a: expected an old argument number"),
    ('fixed = { 2 = "0" }', "'fixed' needs 'arguments'"),
    ('arguments = ["$handle", "$2"]\n  fixed = { 2 = "0" }', "both mapped and fixed"),
])
def test_mapping_schema(snippet, message):
    text = f"""
schema = 1
[[remedy]]
symbols = ["u_map"]
kind = "new-entry-point"
rationale = "r"
  [[remedy.replacement]]
  symbol = "s_map"
  library = "libs.so*"
  proposed = true
  {snippet}
"""
    with pytest.raises(DataFileError, match=re.escape(message)):
        parse_remedies(text, "r.toml")


@pytest.mark.parametrize("snippet,message", [
    ('[[version_macro]]\nname = "1X"', "is not a C identifier"),
    ('[[version_macro]]\nname = "X"\nscale = []', "'scale' must be 1 to 4 positive integers"),
    ('[[version_macro]]\nname = "X"\nscale = [1, 0]', "'scale' must be 1 to 4 positive"),
    ('[[group]]\nid = "g"\ntitle = "t"\nkind = "redesign"\n[[group.part]]\nid = "p"',
     "missing key(s) title"),
    (('[[group]]\nid = "g"\ntitle = "t"\nkind = "redesign"\n[[remedy]]\nsymbols = ["a"]\n'
     'kind = "retire"\nrationale = "r"\ngroup = "g"\npart = "nope"'),
     "part 'nope' is not a [[group.part]] of group 'g'"),
])
def test_group_part_and_version_macro_schema(snippet, message):
    with pytest.raises(DataFileError, match=re.escape(message)):
        parse_remedies(f"schema = 1\n{snippet}\n", "r.toml")


def test_existing_replacement_mapping_is_checked_against_the_headers(toy, tmp_path, capsys):
    bad = tmp_path / "r.toml"
    bad.write_text(REMEDIES.replace('arguments = ["$handle", "$1", "$2"]',
                                    'arguments = ["$handle", "$1"]'))
    assert main(["propose", str(toy / "app"), "--remedies", str(bad), "--headers",
                 str(toy / "include"), "--source", str(toy / "src"), "-d", str(tmp_path / "o"),
                 "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["patches"] == []
    assert any("the mapping ['$handle', '$1'] does not fit u_shutdown (3 parameters) and "
               "stab_shutdown (3)" in n for n in data["notes"])
    assert os.path.exists(tmp_path / "o" / "proposal.md")


def test_corrupt_plan_json_is_one_line_exit_2(toy, tmp_path, capsys):
    bad = tmp_path / "plan.json"
    bad.write_text('{"schema": 1, "kind": "plan", "audit": {"schema": 1, "consumers": 3}}')
    assert main(["propose", str(bad), "--headers", str(toy / "include"), "-d",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"abiguard: error: {bad}: ")
    assert not (tmp_path / "o").exists()


def test_mapping_beyond_the_declaration_is_bad_mapping(toy, tmp_path, capsys):
    bad = tmp_path / "r.toml"
    bad.write_text(REMEDIES.replace('fixed = { 4 = "0" }', 'fixed = { 9 = "0" }'))
    assert main(["propose", str(toy / "app"), "--remedies", str(bad), "--headers",
                 str(toy / "include"), "-d", str(tmp_path / "o"), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    funcs = {f["name"]: f for f in data["groups"][0]["functions"]}
    assert funcs["stab_bind"]["status"] == "bad-mapping"
    assert "fixes argument 9, but u_bind has only 5 parameter(s) in unst.h" in \
        funcs["stab_bind"]["detail"]
    assert data["additions"][0]["functions"] == ["stab_map"]
