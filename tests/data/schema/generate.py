"""Write the JSON results (and a census store) of a fixed gcc-built fixture with the abiguard
on PYTHONPATH: how tests/data/schema/*-1.* were made with the release that wrote schema 1
(main at f37d35a) and *-2.* with the one that writes schema 2, from the same files.

    PYTHONPATH=/path/to/checkout/src python tests/data/schema/generate.py TAG [--build] [--census]

``--build`` (re)builds the fixture under FIXTURE first (the paths in the results are its
paths); TAG names the outputs (scan-TAG.json, ...); ``--census`` writes census-TAG.sqlite
too (committed for schema 1 only: an old store to read). The fixture: two programs (one in C,
linked with RUNPATH) using a release-named library with a policy (libxenctrl.so.4.17: a
[[library]] rule, a private [[symbol]] rule), a library with a *PRIVATE* node, a stable
versioned library with an indirect dependency, a library removed after linking (imports
attributed to it, unresolved), weak undefined symbols, a broken file; a user policy with a
symbol rule; a plan with remedies; a where result with its audit; a census of the toy
archive (tests/helpers/debbuild.py) with --no-fetch.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/: cfixtures, debbuild

FIXTURE = Path("/tmp/abiguard-schema-fixture")


def build() -> None:
    from helpers.cfixtures import program, shared_lib, write
    from helpers.debbuild import toy_archive

    shutil.rmtree(FIXTURE, ignore_errors=True)
    lib = FIXTURE / "lib"
    shared_lib(lib, "libdep.so.1", "int dep_fn(int x) { return x * 2; }\n",
               version_script="DEP_1 { global: dep_*; local: *; };")
    shared_lib(lib, "libstable.so.1", """
        int dep_fn(int);
        int s_shutdown(void) { return dep_fn(1); }
        int s_other(void) { return 2; }
        int s_newer(void) { return 3; }
    """, version_script="""
        S_1.0 { global: s_shutdown; s_other; local: *; };
        S_1.1 { global: s_newer; } S_1.0;
    """, libs=(f"-L{lib}", "-ldep"), extra=("-Wl,-rpath,$ORIGIN",))
    shared_lib(lib, "libxenctrl.so.4.17", """
        int xc_interface_open(void) { return 0; }
        int xc_domain_shutdown(int d) { return d; }
        int read_exact(int fd) { return fd; }
    """, version_script="VERS_4.17.0 { global: *; };")
    shared_lib(lib, "libpriv.so.2", """
        int p_public(void) { return 1; }
        int p_internal(void) { return 2; }
    """, version_script="""
        PRIV_2.0 { global: p_public; local: *; };
        PRIV_PRIVATE { global: p_internal; } PRIV_2.0;
    """)
    shared_lib(lib, "libgone.so.1", "int gone_fn(void) { return 7; }\n",
               version_script="GONE_1.0 { global: gone_*; local: *; };")
    bin_ = FIXTURE / "bin"
    program(bin_, "app", """
        int xc_interface_open(void); int xc_domain_shutdown(int); int read_exact(int);
        int s_shutdown(void); int s_other(void); int p_public(void); int p_internal(void);
        int gone_fn(void);
        int main(void) { return xc_interface_open() + xc_domain_shutdown(1) + read_exact(0)
                         + s_shutdown() + s_other() + p_public() + p_internal() + gone_fn(); }
    """, link=(f"-L{lib}", "-lxenctrl", "-lstable", "-lpriv", "-lgone",
               "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib"))
    program(bin_, "tool", """
        int xc_interface_open(void); int s_other(void);
        int main(void) { return xc_interface_open() + s_other(); }
    """, link=(f"-L{lib}", "-lxenctrl", "-lstable", "-Wl,-rpath,$ORIGIN/../lib"))
    (lib / "libgone.so.1").unlink()
    (bin_ / "broken.so").write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 20)
    write(FIXTURE / "policy.toml", """
        schema = 1
        name = "fixture"
        [[symbol]]
        library = "libstable.so*"
        match = "s_other"
        stability = "unstable"
        reason = "test: a symbol rule of a user policy"
    """)
    write(FIXTURE / "remedies.toml", """
        schema = 1
        name = "fixture"
        library = "libxenctrl.so*"
        [[remedy]]
        symbols = ["xc_domain_shutdown"]
        kind = "replace"
        difficulty = 1
        rationale = "s_shutdown does the same through the stable library."
          [[remedy.replacement]]
          symbol = "s_shutdown"
          library = "libstable.so*"
          since = "S_1.0"
    """)
    toy_archive(FIXTURE / "toy")


def run(*args: str, out: Path | None = None) -> None:
    proc = subprocess.run([sys.executable, "-m", "abiguard.cli", *args], cwd=FIXTURE,
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1) and not (out and out.stat().st_size):
        raise SystemExit(f"abiguard {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}")


def main() -> None:
    tag = sys.argv[1]
    if "--build" in sys.argv[2:]:
        build()
    common = ("--policy", "policy.toml", "bin/app", "bin/tool", "bin/broken.so")
    for kind, extra in (("scan", ()), ("plan", ("--remedies", "remedies.toml"))):
        out = HERE / f"{kind}-{tag}.json"
        out.unlink(missing_ok=True)
        run(kind, "-q", "--format", "json", "-o", str(out), *extra, *common, out=out)
    run("where", "-q", "--format", "json", "-o", str(HERE / f"where-{tag}.json"),
        "--symbol", "xc_domain_shutdown", "bin/app")
    if "--census" not in sys.argv[2:]:
        return
    store = HERE / f"census-{tag}.sqlite"
    store.unlink(missing_ok=True)
    run("census", "-q", "--no-fetch", "--store", str(store), "-j", "1", "toy/pool")
    db = sqlite3.connect(store)
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("VACUUM")
    db.close()


if __name__ == "__main__":
    main()
