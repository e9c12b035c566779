#!/usr/bin/env python3
"""README's example outputs and options table, generated from the real commands (as cog does).

Each example in README.md sits between markers that say how it is made::

    <!-- example NAME
    run: abiguard scan --with-deps qemu-system-xen
    mask: (?m)^note: library packages fetched for resolution:.*(\\n  .*)*
    -->
    ```
    $ abiguard scan --with-deps qemu-system-xen
    …what it prints…
    ```
    <!-- /example -->

Keys (one per line; those marked * may repeat):

* ``run:`` * a command (``abiguard …`` runs this checkout's abiguard); its output follows a
  ``$ `` line showing it (``show:`` * replaces that line, e.g. to break a long command)
* ``env:`` * ``NAME=VALUE`` for the commands (COLUMNS is 120 unless set)
* ``stderr: yes`` the notes on stderr too (merged as they come); ``exit: yes`` adds
  ``$ echo $?`` and the exit status
* ``setup:`` a prepared directory the commands run in: ``xc-project`` (a small C project
  built with gcc, tests/helpers/xcproject.py), ``census-xen`` (an empty directory kept for the run)
* ``pick:`` * the lines shown, in order: ``/RE/`` (the first line matching after the last
  pick), ``/RE/ +N`` (and N more), ``/RE/../RE2/``, ``/RE/..$``; skipped lines become ``…``
* ``mask:`` * a regular expression (applied to the whole text, MULTILINE) whose matches are
  machine- or time-dependent: the check compares the text with them replaced by ``<…>``
* ``needs:`` ``debian`` (real packages: checked in the integration tests), ``gcc`` (checked
  in every run), ``machine`` (this machine's files, e.g. /usr/bin: written, never checked)

Normalised always: the cache directory ($ABIGUARD_CACHE or ~/.cache/abiguard) is written
``~/.cache/abiguard``, the temporary directory of a setup ``.``, trailing blanks dropped.

The options table sits between ``<!-- options -->`` and ``<!-- /options -->``: it is
:func:`abiguard.commands.options.markdown_table`, the data the parsers are built from.

    scripts/readme-examples.py              # rewrite the examples (not needs: machine) and the table
    scripts/readme-examples.py NAME…        # rewrite these examples (and the table)
    scripts/readme-examples.py --check [--needs gcc,debian]   # exit 1 when README drifted
"""

from __future__ import annotations

import argparse
import atexit
import difflib
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"<!-- example (?P<name>[\w-]+)\n(?P<spec>.*?)-->\n```\n(?P<body>.*?)```\n"
                   r"<!-- /example -->", re.DOTALL)
TABLE = re.compile(r"(<!-- options -->\n)(?P<body>.*?)(<!-- /options -->)", re.DOTALL)
ELLIPSIS = "…"


@dataclass
class Example:
    name: str
    runs: list[str] = field(default_factory=list)
    shows: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    stderr: bool = False
    exit: bool = False
    setup: str | None = None
    picks: list[str] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)
    needs: str = "gcc"
    body: str = ""
    """The block's text in README now."""


def parse_spec(name: str, spec: str, body: str) -> Example:
    ex = Example(name, body=body)
    for raw in spec.splitlines():
        if not raw.strip():
            continue
        key, sep, value = raw.partition(":")
        # (a show: line keeps its indent after the one space: continuation lines)
        value = value.removeprefix(" ").rstrip() if key == "show" else value.strip()
        if not sep:
            raise ValueError(f"example {name}: line {raw!r} is not KEY: VALUE")
        if key == "run":
            ex.runs.append(value)
        elif key == "show":
            ex.shows.append(value)
        elif key == "env":
            k, _, v = value.partition("=")
            ex.env[k] = v
        elif key in ("stderr", "exit"):
            setattr(ex, key, value == "yes")
        elif key == "setup":
            ex.setup = value
        elif key == "pick":
            ex.picks.append(value)
        elif key == "mask":
            ex.masks.append(value)
        elif key == "needs":
            if value not in ("debian", "gcc", "machine"):
                raise ValueError(f"example {name}: needs: {value}?")
            ex.needs = value
        else:
            raise ValueError(f"example {name}: unknown key {key!r}")
    if not ex.runs:
        raise ValueError(f"example {name}: no run:")
    return ex


def examples(text: str) -> list[Example]:
    return [parse_spec(m.group("name"), m.group("spec"), m.group("body"))
            for m in BLOCK.finditer(text)]


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


class Workspace:
    """The directories the examples run in (one per setup, made once, removed at the end)."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="abiguard-readme-"))
        self.dirs: dict[str, Path] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def directory(self, setup: str | None) -> Path:
        key = setup or "plain"
        if key not in self.dirs:
            d = self.base / key
            d.mkdir()
            if setup == "xc-project":
                sys.path.insert(0, str(ROOT / "tests"))
                from helpers.xcproject import build_project

                built = build_project(self.base / "xc-build")
                for f in built.iterdir():
                    if f.is_file():
                        shutil.copy2(f, d / f.name)
            elif setup not in (None, "census-xen"):
                raise ValueError(f"unknown setup {setup!r}")
            self.dirs[key] = d
        return self.dirs[key]


def cache_dir() -> str:
    return os.environ.get("ABIGUARD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "abiguard")


SHOWN_CACHE = "~/.cache/abiguard"
_short: list[str] = []


def example_cache() -> str:
    """The cache directory the commands are given: the real one, or, when its path is longer
    than the ``~/.cache/abiguard`` README shows (``make test``'s temporary cache), a symlink
    to it with a path no longer than that, so that lines wrap as they do in README."""
    real = cache_dir()
    if len(real) <= len(SHOWN_CACHE):
        return real
    if not _short:
        os.makedirs(real, exist_ok=True)
        tmp = tempfile.gettempdir()
        for _ in range(100):
            link = os.path.join(tmp, "ag" + secrets.token_hex(8))[:len(SHOWN_CACHE)]
            try:
                os.symlink(real, link)
            except FileExistsError:
                continue
            atexit.register(os.unlink, link)
            _short.append(link)
            break
        else:
            return real
    return _short[0]


def command(line: str) -> list[str]:
    argv = shlex.split(line)
    if argv and argv[0] == "abiguard":
        return [sys.executable, "-m", "abiguard.cli", *argv[1:]]
    return argv


def run(ex: Example, ws: Workspace) -> str:
    """The block's text as the commands print it now (picked and normalised)."""
    cwd = ws.directory(ex.setup)
    env = {**os.environ, "COLUMNS": "120", **ex.env}
    env.pop("FORCE_COLOR", None)
    env["NO_COLOR"] = "1"
    env["ABIGUARD_CACHE"] = example_cache()
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    out: list[str] = []
    for k, line in enumerate(ex.runs):
        shown = ex.shows if ex.shows and k == 0 else [line]
        res = subprocess.run(command(line), cwd=cwd, env=env, text=True,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT if ex.stderr else subprocess.PIPE,
                             check=False)
        if res.returncode not in (0, 1) and not ex.exit:
            raise RuntimeError(f"example {ex.name}: {line} exited {res.returncode}:\n"
                               f"{res.stderr or res.stdout}")
        try:
            text = pick(res.stdout.rstrip("\n").split("\n"), ex.picks)
        except LookupError as exc:
            raise RuntimeError(f"example {ex.name}: {exc} in the output of {line}:\n"
                               f"{res.stdout[:2000]}{res.stderr or ''}") from None
        out += [f"$ {shown[0]}", *shown[1:], *text]
        if ex.exit:
            out += ["$ echo $?", str(res.returncode)]
    return normalise("\n".join(out) + "\n", cwd)


def normalise(text: str, cwd: Path) -> str:
    for path in sorted({example_cache(), cache_dir(), os.path.realpath(cache_dir())}, key=len,
                       reverse=True):
        text = text.replace(path, SHOWN_CACHE)
    text = text.replace(str(cwd) + "/", "").replace(str(cwd), ".")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _find(lines: list[str], rx: str, start: int) -> int:
    pattern = re.compile(rx)
    for i in range(start, len(lines)):
        if pattern.search(lines[i]):
            return i
    raise LookupError(f"no line matches /{rx}/ (from line {start + 1})")


def pick(lines: list[str], picks: list[str]) -> list[str]:
    """The lines the picks select, ``…`` where lines are left out."""
    if not picks:
        return lines
    out: list[str] = []
    pos = 0
    for spec in picks:
        m = re.fullmatch(r"/(?P<a>.+?)/(?:\s*\+(?P<n>\d+)|\.\.(?:/(?P<b>.+)/|(?P<end>\$)))?",
                         spec.strip())
        if not m:
            raise ValueError(f"pick: {spec!r}?")
        first = _find(lines, m.group("a"), pos)
        if m.group("n"):
            last = first + int(m.group("n"))
        elif m.group("b"):
            last = _find(lines, m.group("b"), first + 1)
        elif m.group("end"):
            last = len(lines) - 1
        else:
            last = first
        if first > pos:
            out.append(ELLIPSIS)
        out += lines[first:last + 1]
        pos = last + 1
    if pos < len(lines):
        out.append(ELLIPSIS)
    return out


def masked(text: str, masks: list[str]) -> str:
    for rx in masks:
        text = re.sub(rx, "<…>", text, flags=re.MULTILINE)
    return text


# --------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------


def options_table() -> str:
    sys.path.insert(0, str(ROOT / "src"))
    from abiguard.commands.options import markdown_table

    return markdown_table()


def rewrite(text: str, fresh: dict[str, str]) -> str:
    def block(m: re.Match[str]) -> str:
        body = fresh.get(m.group("name"), m.group("body"))
        return (f"<!-- example {m.group('name')}\n{m.group('spec')}-->\n```\n{body}```\n"
                "<!-- /example -->")

    text = BLOCK.sub(block, text)
    return TABLE.sub(lambda m: m.group(1) + options_table() + m.group(3), text)


def drift(ex: Example, now: str) -> str | None:
    """A diff of the README block and what the commands print now (masks applied), or
    None when they agree."""
    if masked(ex.body, ex.masks) == masked(now, ex.masks):
        return None
    return "".join(difflib.unified_diff(ex.body.splitlines(True), now.splitlines(True),
                                        f"README ({ex.name})", "now"))


def selected(all_examples: list[Example], names: list[str], needs: list[str]
             ) -> Iterator[Example]:
    for ex in all_examples:
        if (not names or ex.name in names) and (not needs or ex.needs in needs):
            yield ex


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="examples to rewrite (default: all)")
    ap.add_argument("--check", action="store_true",
                    help="compare instead of rewriting; exit 1 when README drifted")
    ap.add_argument("--needs", default="", help="only examples needing these "
                    "(comma-separated: gcc, debian, machine)")
    args = ap.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    exs = examples(text)
    unknown = set(args.names) - {ex.name for ex in exs}
    if unknown:
        ap.error(f"no example named {', '.join(sorted(unknown))}")
    needs = [n for n in args.needs.split(",") if n]
    fresh: dict[str, str] = {}
    problems = []
    with Workspace() as ws:
        for ex in selected(exs, args.names, needs):
            if ex.needs == "machine" and (args.check or ex.name not in args.names):
                continue  # this machine's files: rewritten when named, never checked
            now = run(ex, ws)
            fresh[ex.name] = now
            if args.check:
                d = drift(ex, now)
                if d:
                    problems.append(d)
            print(f"{ex.name}: {'checked' if args.check else 'made'}", file=sys.stderr)
    if args.check:
        m = TABLE.search(text)
        if m is None or m.group("body") != options_table():
            problems.append("the options table differs from abiguard.commands.options")
        for p in problems:
            sys.stdout.write(p + "\n")
        return 1 if problems else 0
    new = rewrite(text, fresh)
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README.md rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
