"""The bounded fuzzing campaign of CI and the replay of every input fuzzing ever broke
abiguard with (issue #7).

Inputs are made by the structure-aware mutators of ``fuzz/`` from the seeds (gcc-built and
hand-built fixtures, small files of this machine; the big Debian binaries are left to the
long campaign, ``python -m fuzz.run``, see docs/reliability.md). Hypothesis drives them with
a fixed seed (``derandomize``): every run tries the same inputs. Invariant: every input
parses or raises the module's own error type, within the per-input time limit.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.paths import DATA, REPO

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fuzz.targets import TARGETS, Campaign, InvariantError, _check_contained
from fuzz.worker import InputTimeout

REGRESSIONS = DATA / "fuzz-regressions"
TIME_LIMIT = 10.0
# Inputs per target in CI: about 30 s together on this 2-core machine.
BUDGET = {"elf": 1200, "ar": 600, "deb": 250, "policy": 200, "remedies": 200,
          "baseline": 200, "audit": 150, "plan": 150}
CI_MAX_SEED = 1 << 20  # qemu & co. are for the long campaign


def _alarm(*_: object) -> None:
    raise InputTimeout()


def run_one(target: str, data: bytes) -> str:
    """Run one input with the per-input time limit; the outcome or a failed assertion."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        outcome = TARGETS[target].run(data)
    except InputTimeout:
        pytest.fail(f"{target}: input of {len(data)} bytes ran over {TIME_LIMIT:g} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert outcome in ("ok", "rejected")
    return outcome


_CAMPAIGNS: dict[str, Campaign] = {}


def campaign(target: str) -> Campaign:
    if target not in _CAMPAIGNS:
        _CAMPAIGNS[target] = Campaign(target, CI_MAX_SEED)
    return _CAMPAIGNS[target]


def _make_test(target: str):
    @settings(max_examples=BUDGET[target], derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(seed=st.integers(0, 2**64 - 1))
    def test(seed: int) -> None:
        data = campaign(target).make_input(random.Random(seed))
        run_one(target, data)

    test.__name__ = f"test_fuzz_{target}"
    return test


for _target in BUDGET:
    globals()[f"test_fuzz_{_target}"] = _make_test(_target)


def test_every_target_is_in_the_ci_campaign():
    assert set(BUDGET) == set(TARGETS)


def _regressions() -> list[Path]:
    return sorted(p for p in REGRESSIONS.glob("*/*") if p.is_file() and p.parent.name in TARGETS)


@pytest.mark.parametrize("path", _regressions(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_regression_input(path: Path) -> None:
    """Each input that once crashed, hung or escaped now parses or is rejected cleanly."""
    run_one(path.parent.name, path.read_bytes())


def test_regressions_exist_and_are_documented():
    files = _regressions()
    assert len(files) >= 10
    readme = (REGRESSIONS / "README.md").read_text()
    for p in files:
        assert f"{p.parent.name}/{p.name}" in readme, p


def test_containment_check_catches_an_escape(tmp_path):
    """The .deb target's invariant really fails for a symlink leaving the package root."""
    root = tmp_path / "a" / "b" / "root"
    root.mkdir(parents=True)
    (root / "ok").symlink_to(".")
    _check_contained(tmp_path, root)
    (root / "out").symlink_to("../../..")
    with pytest.raises(InvariantError, match="resolves outside"):
        _check_contained(tmp_path, root)
    (root / "out").unlink()
    (tmp_path / "a" / "b" / "evil").write_text("x")
    with pytest.raises(InvariantError, match="outside the package root"):
        _check_contained(tmp_path, root)


def test_runner_reports_and_survives_hangs(tmp_path):
    """The documented command on a small budget, and a worker stuck in C code (SIGALRM
    blocked) is killed, its input kept, and the campaign goes on."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "fuzz.run", "--target", "baseline",
                           "--inputs", "60", "--engine", "random", "--seed", "3",
                           "--out", str(out), "--json", str(out / "s.json")],
                          cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "inputs/s" in proc.stdout and "unhandled" in proc.stdout
    (res,) = json.loads((out / "s.json").read_text())["results"]
    assert res["inputs"] == 60 and res["unhandled"] == 0 and res["hangs"] == 0
    assert res["ok"] + res["rejected"] == 60

    from fuzz.run import campaign as run_campaign

    env = os.environ.get("ABIGUARD_FUZZ_SELFTEST")
    os.environ["ABIGUARD_FUZZ_SELFTEST"] = "block:2,raise:4"
    try:
        res = run_campaign("baseline", 8, seed=3, engine="random", time_limit=0.5,
                           out=tmp_path / "selftest")
    finally:
        if env is None:
            os.environ.pop("ABIGUARD_FUZZ_SELFTEST")
        else:
            os.environ["ABIGUARD_FUZZ_SELFTEST"] = env
    assert res["inputs"] == 8 and res["hangs"] == 1 and res["unhandled"] == 1
    kinds = sorted(u["kind"] for u in res["unique"])
    assert kinds == ["hang", "unhandled"]
    assert all(Path(u["input"]).is_file() for u in res["unique"])
