"""README shows what the tool prints: every marked example, run now, equals its block
(scripts/readme-examples.py makes them; its masks hide what depends on the machine or the
clock). The examples of real Debian packages are integration tests; those of gcc-built
fixtures run every time."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator

import pytest

from helpers.paths import REPO

ROOT = REPO


def _script():
    spec = importlib.util.spec_from_file_location("readme_examples",
                                                  ROOT / "scripts" / "readme-examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rx = _script()
EXAMPLES = {ex.name: ex for ex in rx.examples(rx.README.read_text(encoding="utf-8"))}
MACHINE = {"scan-usr-bin": "this machine's /usr/bin", "scan-apt-100": "this machine's apt"}


@pytest.fixture(scope="module")
def workspace() -> Iterator[object]:
    with rx.Workspace() as ws:
        yield ws


def check(name: str, workspace: object) -> None:
    ex = EXAMPLES[name]
    now = rx.run(ex, workspace)
    diff = rx.drift(ex, now)
    assert diff is None, f"README's example {name} drifted (scripts/readme-examples.py " \
                         f"{name} rewrites it):\n{diff}"


def test_examples_are_marked():
    assert len(EXAMPLES) >= 12
    assert {ex.name for ex in EXAMPLES.values() if ex.needs == "machine"} == set(MACHINE)
    for ex in EXAMPLES.values():
        assert ex.body.startswith("$ "), ex.name


def test_pick_and_mask():
    lines = ["a", "b 1", "c", "d", "e 2", "f", "g"]
    assert rx.pick(lines, ["/^b/ +1"]) == ["…", "b 1", "c", "…"]
    assert rx.pick(lines, ["/^a/../^c/", "/^e/..$"]) == ["a", "b 1", "c", "…", "e 2", "f", "g"]
    assert rx.pick(lines, ["/^a/", "/^b/"]) == ["a", "b 1", "…"]
    with pytest.raises(LookupError):
        rx.pick(lines, ["/^z/"])
    assert rx.masked("x 12 s\ny", [r"\d+ s"]) == "x <…>\ny"
    ex = rx.Example("t", runs=["true"], masks=[r"\d+ s"], body="$ t\nin 3 s\n")
    assert rx.drift(ex, "$ t\nin 4 s\n") is None
    assert rx.drift(ex, "$ t\nout 4 s\n") is not None


@pytest.mark.parametrize("name", sorted(n for n, ex in EXAMPLES.items() if ex.needs == "gcc"))
def test_gcc_example(name, workspace):
    check(name, workspace)


@pytest.mark.integration
@pytest.mark.parametrize("name",
                         sorted(n for n, ex in EXAMPLES.items() if ex.needs == "debian"))
def test_debian_example(name, workspace):
    check(name, workspace)
