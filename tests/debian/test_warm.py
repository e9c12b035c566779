"""Warm commands: what a command keeps for the next one never changes an answer.

* apt's answers (abiguard.debian.answers) are kept for the state of every file apt reads:
  held against apt itself under a private apt configuration with a local file: repository
  (no network), whose lists, pins and installed versions are changed between the asks;
* unpacked packages (abiguard.debian.unpacked) are kept by the .deb's SHA-256, used again by
  the next scan with the same answer, and neither made nor used under raised limits.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.debian.apt import Apt, AptConfig
from abiguard.debian.unpacked import root_of
from abiguard.jsonform import audit_from_json
from helpers.cfixtures import program, shared_lib
from helpers.debbuild import build_deb

APT_CACHE = "/usr/bin/apt-cache"


def _apt_cache(conf: Path, *args: str) -> str:
    env = dict(os.environ, APT_CONFIG=str(conf), LC_ALL="C")
    return subprocess.run([APT_CACHE, *args], env=env, check=True, capture_output=True,
                          text=True).stdout


def _candidate_of_apt(conf: Path, name: str) -> str:
    """apt's own candidate (the oracle): ``apt-cache policy``'s Candidate line."""
    for line in _apt_cache(conf, "policy", name).splitlines():
        if line.strip().startswith("Candidate:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no candidate line for {name}")


@pytest.fixture
def repo(tmp_path, monkeypatch, empty_cache) -> dict:
    """A private apt configuration over a local repository of one package, demo 1.0-1; an
    apt-cache on PATH that logs its calls (then runs the real one); an empty cache."""
    root = tmp_path / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "sources.list.d", "preferences.d",
                "repo"):
        (root / sub).mkdir(parents=True)
    (root / "status").write_text("")
    (root / "sources.list").write_text(f"deb [trusted=yes] file:{root / 'repo'} ./\n")
    conf = root / "apt.conf"
    conf.write_text("\n".join([
        f'Dir::Etc::sourcelist "{root / "sources.list"}";',
        f'Dir::Etc::sourceparts "{root / "sources.list.d"}";',
        f'Dir::Etc::preferences "{root / "preferences"}";',
        f'Dir::Etc::preferencesparts "{root / "preferences.d"}";',
        f'Dir::State::Lists "{root / "lists"}";',
        f'Dir::State::status "{root / "status"}";',
        f'Dir::Cache "{root / "cache"}";',
        'Acquire::Languages "none";',
        'APT::Sandbox::User "root";' if os.geteuid() == 0 else 'Debug::NoLocking "true";',
        ""]))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt-cache.log"
    wrapper = bin_dir / "apt-cache"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {APT_CACHE} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("APT_CONFIG", str(conf))

    def publish(*versions: str) -> None:
        for v in versions:
            build = tmp_path / "build" / v
            (build / "usr/share/doc/demo").mkdir(parents=True, exist_ok=True)
            build_deb(build, root / "repo", "demo", v)
        index = subprocess.run(["dpkg-scanpackages", "-m", "."], cwd=root / "repo",
                               check=True, capture_output=True, text=True).stdout
        (root / "repo" / "Packages").write_text(index)
        env = dict(os.environ, APT_CONFIG=str(conf))
        subprocess.run(["apt-get", "-q", "update"], env=env, check=True, capture_output=True)

    publish("1.0-1")
    return {"conf": conf, "root": root, "log": log, "publish": publish}


def _shows(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.split()[0] == "show") \
        if log.exists() else 0


def test_apt_answers_are_kept_only_for_the_state_apt_read(repo):
    conf, log = repo["conf"], repo["log"]

    def ask() -> str | None:
        rec = Apt(AptConfig.machine()).candidates(["demo"])["demo"]  # a new command's client
        return rec.version if rec else None

    assert ask() == _candidate_of_apt(conf, "demo") == "1.0-1"
    assert _shows(log) == 1
    assert ask() == "1.0-1" and _shows(log) == 1  # kept: apt not asked again
    # the archive moves on: new lists, a new answer (apt asked again)
    repo["publish"]("2.0-1")
    assert ask() == _candidate_of_apt(conf, "demo") == "2.0-1"
    assert _shows(log) == 2
    # a pin: apt's choice changes, so does the answer
    (repo["root"] / "preferences").write_text(
        "Package: demo\nPin: version 1.0-1\nPin-Priority: 1001\n")
    assert ask() == _candidate_of_apt(conf, "demo") == "1.0-1"
    assert _shows(log) == 3
    # the installed version counts for apt: dpkg's status file changes, the answer is asked
    (repo["root"] / "preferences").unlink()
    assert ask() == "2.0-1"
    shows = _shows(log)
    (repo["root"] / "status").write_text(
        "Package: demo\nStatus: install ok installed\nVersion: 3.0-1\nArchitecture: amd64\n"
        "Maintainer: x <x@example.org>\nDescription: d\n")
    assert ask() == _candidate_of_apt(conf, "demo") == "3.0-1"
    assert _shows(log) == shows + 1
    # unknown names and exact versions are kept the same way
    apt = Apt(AptConfig.machine())
    assert apt.candidates(["no-such-package"])["no-such-package"] is None
    assert apt.exact("demo", "1.0-1") is not None and apt.exact("demo", "9.9") is None
    shows = _shows(log)
    again = Apt(AptConfig.machine())
    assert again.candidates(["no-such-package"])["no-such-package"] is None
    assert again.exact("demo", "1.0-1") == apt.exact("demo", "1.0-1")
    assert again.exact("demo", "9.9") is None
    assert _shows(log) == shows


def _consumer_deb(tmp_path: Path) -> Path:
    lib = shared_lib(tmp_path / "lib", "libwarm.so.1", "int warm_fn(int x){return x;}\n")
    root = tmp_path / "pkg"
    app = root / "usr" / "bin" / "warm-app"
    built = program(tmp_path / "build", "warm-app",
                    "int warm_fn(int);int main(void){return warm_fn(1);}\n", link=(str(lib),))
    app.parent.mkdir(parents=True)
    built.rename(app)
    (root / "usr/lib/x86_64-linux-gnu").mkdir(parents=True)
    (root / "usr/lib/x86_64-linux-gnu" / "libwarm.so.1").write_bytes(lib.read_bytes())
    return build_deb(root, tmp_path / "pool", "warm-app", "1.0-1")


def _scan(capsys, *argv: str) -> dict:
    assert main(["scan", "-q", "-f", "json", *argv]) in (0, 1)
    return json.loads(capsys.readouterr().out)


def test_unpacked_packages_are_kept_by_content_and_give_the_same_answer(tmp_path, capsys,
                                                                        empty_cache):
    deb = _consumer_deb(tmp_path)
    place = root_of(hashlib.sha256(deb.read_bytes()).hexdigest())
    # raised limits: nothing kept (a later command could skip its own limits)
    assert main(["--limit", "max_unpacked_bytes=16G", "scan", "-q", "-f", "json",
                 str(deb)]) in (0, 1)
    raised = json.loads(capsys.readouterr().out)
    assert not place.exists()
    first = _scan(capsys, str(deb))
    assert (place / "root" / "usr/bin/warm-app").is_file()
    made = (place / "info.json").stat().st_mtime_ns
    second = _scan(capsys, str(deb))
    assert (place / "info.json").stat().st_mtime_ns == made  # used, not made again
    assert first == second == raised
    consumers = audit_from_json(json.dumps(first)).consumers
    (c,) = [c for c in consumers if c.path == "/usr/bin/warm-app"]
    assert c.package == "warm-app 1.0-1 amd64"
    (b,) = [b for b in c.bindings if b.symbol.name == "warm_fn"]
    assert b.status == "bound" and b.provider == "libwarm.so.1"
