"""Fixtures shared by the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURE_POLICY = Path(__file__).parent / "data" / "fixture-policy.toml"


@pytest.fixture()
def fixture_policy(monkeypatch):
    """The test fixtures' made-up libraries declared (tests/data/fixture-policy.toml) among
    the built-in policy files, for tests that judge them by name alone."""
    from abiguard.policy import core, load_policy_file

    builtin = core.builtin_policies
    monkeypatch.setattr(core, "builtin_policies",
                        lambda: [load_policy_file(str(FIXTURE_POLICY)), *builtin()])
