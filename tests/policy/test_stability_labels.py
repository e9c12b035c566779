"""The labelled set: libraries whose verdict their upstream or the Debian archive's record
gives (tests/data/stability-labels.toml, one source each), against the stability model.

Each library is read from this machine when it is installed (every source speaks), else it is
judged by its name and the location Debian installs it at. The figures of the full model are
those docs/policy.md gives; the general rules alone (no built-in declaration or history) are
measured too, to show what the rules catch that no entry names.
"""

from __future__ import annotations

import os
import tomllib

import pytest

from abiguard.elf import read_elf
from abiguard.model import Stability
from abiguard.policy import Location, Policy
from helpers.paths import DATA, DOCS

LABELS = tomllib.loads((DATA / "stability-labels.toml").read_text())["library"]
SYSTEM_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
               "/lib", "/usr/lib", "/usr/local/lib")


def classify(policy: Policy, entry: dict) -> tuple[Stability, str]:
    path = entry["path"]
    elf = read_elf(path) if os.path.isfile(path) else None
    stab, ev = policy.classify_library(entry["soname"], elf,
                                       Location(entry["found_via"], path, SYSTEM_DIRS))
    return stab, ev[0].source


def figures(policy: Policy) -> dict[str, tuple[int, int]]:
    """(hits, total) for: exact class, problem precision and recall, stable precision and
    recall. A problem is unstable or private (what a gate rejects)."""
    rows = [(Stability(e["expected"]), classify(policy, e)[0]) for e in LABELS]
    # (a label's "model" is the verdict the model gives where it misses; "why" says why)

    def frac(pred, cond) -> tuple[int, int]:
        sel = [(want, got) for want, got in rows if cond(want, got)]
        return sum(1 for want, got in sel if pred(want, got)), len(sel)

    return {
        "exact": frac(lambda w, g: w == g, lambda w, g: True),
        "problem precision": frac(lambda w, g: w.is_problem, lambda w, g: g.is_problem),
        "problem recall": frac(lambda w, g: g.is_problem, lambda w, g: w.is_problem),
        "stable precision": frac(lambda w, g: w == Stability.STABLE,
                                 lambda w, g: g == Stability.STABLE),
        "stable recall": frac(lambda w, g: g == Stability.STABLE,
                              lambda w, g: w == Stability.STABLE),
    }


def row(name: str, f: dict[str, tuple[int, int]]) -> str:
    return f"| {name} | " + " | ".join(f"{a}/{b}" for a, b in f.values()) + " |"


def test_the_labelled_set_has_a_source_for_each_verdict():
    assert len(LABELS) >= 60
    assert len({e["soname"] for e in LABELS}) == len(LABELS)
    for e in LABELS:
        assert e["expected"] in ("stable", "unstable", "private")
        assert len(e["source"]) > 20, e["soname"]
    kinds = {e["expected"] for e in LABELS}
    assert kinds == {"stable", "unstable", "private"}


@pytest.mark.parametrize("entry", LABELS, ids=[e["soname"] for e in LABELS])
def test_each_library(entry):
    """The model's verdict is the label's, or the documented miss ("model", "why")."""
    stab, source = classify(Policy.load(), entry)
    assert stab.value == entry.get("model", entry["expected"]), (source, entry["source"])
    assert ("model" in entry) == ("why" in entry)


def test_figures_are_those_the_docs_give():
    docs = (DOCS / "policy.md").read_text()
    full = figures(Policy.load())
    assert row("full model", full) in docs, row("full model", full)
    # The general rules alone (measured in the docs on a machine with these libraries
    # installed; fewer files, fewer signals) never call a stable library a problem.
    general = figures(Policy.load(builtin=False))
    assert general["problem precision"][0] == general["problem precision"][1]
