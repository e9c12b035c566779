"""Fixtures shared by the test modules of every folder.

Folder-specific ones live next to their tests: tests/callsites/conftest.py (the C project
built for the call-site finders), tests/integration/conftest.py (real Debian data: the qemu
program and source, the two-suite apt machine).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from abiguard import parallel
from helpers.debbuild import corrupt_deb, toy_archive
from helpers.paths import DATA
from helpers.toycensus import census

FIXTURE_POLICY = DATA / "fixture-policy.toml"


@pytest.fixture()
def fixture_policy(monkeypatch):
    """The test fixtures' made-up libraries declared (tests/data/fixture-policy.toml) among
    the built-in policy files, for tests that judge them by name alone."""
    from abiguard.policy import core, load_policy_file

    builtin = core.builtin_policies
    monkeypatch.setattr(core, "builtin_policies",
                        lambda: [load_policy_file(str(FIXTURE_POLICY)), *builtin()])


@pytest.fixture()
def empty_cache(tmp_path: Path, monkeypatch) -> Path:
    """An empty abiguard cache of this test only (``ABIGUARD_CACHE``): what a fresh machine
    has, and nothing an earlier test left."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("ABIGUARD_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict:
    """The toy distribution (helpers.debbuild.toy_archive) of the census and fault tests: a
    pool of good .debs, and a copy of it with one corrupt .deb added. (test_propose.py and
    test_report_html.py build toy projects of their own under the same name.)"""
    d = tmp_path_factory.mktemp("toy")
    debs = toy_archive(d)
    good = d / "pool"
    bad_dir = d / "with-broken"
    bad_dir.mkdir()
    for p in good.iterdir():
        os.link(p, bad_dir / p.name)
    broken = corrupt_deb(bad_dir)
    return {"dir": d, "debs": debs, "pool": good, "with_broken": bad_dir, "broken": broken}


@pytest.fixture(scope="module")
def reference(toy, tmp_path_factory) -> Path:
    """A clean local-pool run over the toy's good packages: what every other run must equal."""
    store = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    assert census(toy["pool"], "--store", store, "-j", "2") == 0
    return store


@pytest.fixture
def always_fork(monkeypatch):
    """abiguard.parallel forks whatever the amount of work (the tests' lists are small), and
    although threads that other tests of this process left behind may run (they do not take
    part)."""
    monkeypatch.setattr(parallel, "MIN_SHARE_WEIGHT", 1)
    monkeypatch.setattr(parallel, "other_threads", lambda: False)
