"""abiguard propose over a census store (the toy distribution of tests/helpers/debbuild.py): the
census counts per symbol, and the stable library's nodes taken from the stored scans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from abiguard.cli import main
from helpers.cfixtures import write
from helpers.debbuild import TOY_CONSUMERS, toy_archive

REMEDIES = """
schema = 1
name = "toy"
library = "libtoy.so*"

[[group]]
id = "domctl"
title = "Domain control: a new design"
kind = "redesign"
rationale = "Domain control needs a stable operation."

[[remedy]]
symbols = ["toy_map", "toy_unmap"]
kind = "new-entry-point"
rationale = "Thin wrappers of a stable operation."
  [[remedy.replacement]]
  symbol = "stab_map"
  library = "libstab.so*"
  proposed = true
  [[remedy.replacement]]
  symbol = "stab_unmap"
  library = "libstab.so*"
  proposed = true

[[remedy]]
symbols = ["toy_domctl"]
kind = "redesign"
group = "domctl"
rationale = "No stable operation yet."
  [[remedy.replacement]]
  symbol = "stab_domctl"
  library = "libstab.so*"
  proposed = true

[[remedy]]
symbols = ["toy_open", "toy_close"]
kind = "keep"
rationale = "Handle only."
"""
TOY_H = """
typedef struct toy_iface toy_iface;
toy_iface *toy_open(int flags);
int toy_close(toy_iface *t);
int toy_map(toy_iface *t, int domid, int x);
int toy_unmap(toy_iface *t, int domid, int x);
int toy_domctl(toy_iface *t, int domid, int op);
int toy_sysctl(toy_iface *t, int op);
"""
STAB_H = """
typedef struct stab_handle stab_handle;
int stab_get(stab_handle *s, int x);
int stab_put(stab_handle *s, int x);
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("census")
    toy_archive(d)
    path = d / "toy.sqlite"
    assert main(["census", "-q", "--no-fetch", str(d / "pool"), "--store", str(path),
                 "-j", "1"]) == 0
    write(d / "include" / "toy.h", TOY_H)
    write(d / "include" / "stab.h", STAB_H)
    write(d / "remedies.toml", REMEDIES)
    return path


def test_census_counts_and_node_from_the_stored_scans(store, tmp_path, capsys):
    d = store.parent
    out = tmp_path / "o"
    assert main(["propose", str(store), "--remedies", str(d / "remedies.toml"), "--headers",
                 str(d / "include"), "-d", str(out), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    users = {s: sorted(p for p, (uses, _) in TOY_CONSUMERS.items() if s in uses)
             for s in ("toy_map", "toy_unmap", "toy_domctl")}
    assert data["census"] == str(store) and data["census_consumers"] == 8
    symbols = {s["symbol"]: s for g in data["groups"] for s in g["symbols"]}
    for name, who in users.items():
        assert symbols[name]["census_consumers"] == len(who)
        assert sorted(symbols[name]["consumers"]) == who
    assert [g["id"] for g in data["groups"]] == ["new-entry-points", "domctl"]
    (a,) = data["additions"]
    assert (a["library"], a["node"], a["previous_node"]) == ("libstab.so.1", "STAB_1.1",
                                                            "STAB_1.0")
    assert a["functions"] == ["stab_map", "stab_unmap", "stab_domctl"]
    md = (out / "proposal.md").read_text()
    assert "| `toy_domctl` | redesign | 2 of 8: toy-utils, toy-virt |" in md
    assert "packages (census)" in md


def test_census_and_nothing_known(store, tmp_path, capsys):
    """Without knowledge of the toy library every symbol is 'unknown': nothing to propose."""
    d = store.parent
    out = tmp_path / "o"
    assert main(["propose", str(store), "--headers", str(d / "include"), "-d", str(out)]) == 0
    text = capsys.readouterr().out
    assert "nothing to propose: none of the 6 unstable symbol(s) of 4 consumer(s)" in text
    assert "6 unknown" in text
    assert not out.exists()
