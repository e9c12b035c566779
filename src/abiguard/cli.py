"""Command line: parse arguments, call the pipeline, pick a renderer, set the exit code.

Each command lives in ``abiguard.commands.<name>`` and provides ``register(subparsers)``
(adds its parser, with ``set_defaults(run=run)``) and ``run(args) -> int``. Commands are
imported lazily by name so that ``abiguard scan`` never pays for capstone, tree-sitter or dask.

Exit codes: 0 ok; 1 a --fail-on/gate rule matched; 2 usage or input error.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Mapping
from typing import Any

from . import __version__, limits
from .demangle import demangling
from .errors import AbiguardError

# name -> one-line help. The module abiguard.commands.<name> registers the details.
COMMANDS: dict[str, str] = {
    "scan": "list the unstable/private library symbols each program imports",
    "plan": "scan, then the migration plan symbol by symbol, easy to hard",
    "where": "where each unstable symbol is used: C sources, object files, binaries",
    "link": "the link-line experiment: relink without a library, read the undefined references",
    "diff": "compare two results (or two versions of a program)",
    "gate": "fail CI when a program uses an unstable symbol not in the baseline",
    "impact": "what a library upgrade breaks for a consumer",
    "census": "scan many packages (a distribution) in parallel into a results store",
    "report": "render a stored result as one self-contained HTML file",
    "propose": "draft the stable-API proposal (RFC, header, version script) and consumer patches",
    "history": "the Debian archive's history of its libraries' sonames, as a policy file",
}

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` (COLUMNS, else the terminal of stdout, else
    80), without importing shutil -- and with it bz2 and lzma: 2 ms of every start-up, for
    argparse's help formatter, which asks with each argument added."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        stdout = sys.__stdout__
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns if stdout else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, its width from :func:`terminal_columns` (as argparse's own)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line with exit code 2 (and points at the
    --help of the command that has the error)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self.commands: Mapping[str, argparse.ArgumentParser] = {}
        """The subcommands' parsers (the top-level parser's)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        many = [a.option_strings[-1] for a in self._actions
                if a.option_strings and a.nargs in ("+", "*")]
        if many and message.startswith("the following arguments are required"):
            # (an option of several values took the inputs that followed it)
            verb = "takes" if len(many) == 1 else "take"
            sys.stderr.write(f"({' and '.join(many)} {verb} several values: end them with -- "
                             f"before the inputs, e.g. {self.prog} {many[0]} a.o -- INPUT)\n")
        sys.stderr.write(f"(see '{self.prog} --help')\n")
        raise SystemExit(EXIT_ERROR)


def _command_name(argv: list[str]) -> str | None:
    for a in argv:
        if not a.startswith("-"):
            return a if a in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> _Parser:
    parser = _Parser(
        prog="abiguard",
        description="Find the ABI-unstable library symbols C programs depend on, where, why, "
        "and how to get off them.",
    )
    parser.add_argument("--version", action="version", version=f"abiguard {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                        help="change a limit on what input may make abiguard do, e.g. "
                             "max_unpacked_bytes=16G (repeatable; docs/reliability.md)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    parser.commands = sub.choices
    for name, help_text in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=help_text)
            continue
        try:
            module = importlib.import_module(f"abiguard.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"abiguard.commands.{name}":
                raise
            continue
        module.register(sub, help_text)
    return parser


def parse(parser: _Parser, argv: list[str]) -> argparse.Namespace:
    """The arguments; an unknown one is reported by the command it was given to (pointing
    at that command's --help, not abiguard's)."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        target = parser.commands.get(getattr(args, "command", None) or "", parser)
        target.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def start(command: str | None) -> _Parser:
    """The parser, with the command's module imported (:func:`build_parser`), the cyclic
    garbage collector paused meanwhile: the thousands of objects an import makes (modules,
    classes, functions) live as long as the process, and the collector would walk them again
    and again (~30 collections, ~4 ms of a scan's start-up). They are then put in the
    collector's permanent generation (gc.freeze), which later collections do not walk."""
    was = gc.isenabled()
    gc.disable()
    try:
        return build_parser(command)
    finally:
        gc.freeze()
        if was:
            gc.enable()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = start(_command_name(argv))
    args = parse(parser, argv)
    if not getattr(args, "command", None) or not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    debug = args.debug or bool(os.environ.get("ABIGUARD_DEBUG"))
    try:
        overrides = limits.parse_assignments(args.limit)
        limits.check_environment()
        with limits.override(**overrides), \
                demangling(not getattr(args, "no_demangle", False)):
            return int(args.run(args))
    except AbiguardError as exc:
        if debug:
            raise
        sys.stderr.write(f"abiguard: error: {exc}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("abiguard: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        if debug:
            raise
        name = exc.filename or ""
        sys.stderr.write(f"abiguard: error: {name}{': ' if name else ''}{exc.strerror or exc}\n")
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
