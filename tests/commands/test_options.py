"""One way to say each thing: every command's options come from one table
(abiguard.commands.options), README's options table is that table, old spellings still work
with a note, an option never swallows the inputs unnoticed, an unknown option points at the
command's own --help."""

from __future__ import annotations

import argparse
import re

import pytest

from abiguard.cli import COMMANDS, build_parser, main
from abiguard.commands import options
from helpers.paths import README


def parsers() -> dict[str, argparse.ArgumentParser]:
    return build_parser().commands


def optional_actions(p: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in p._actions
            if a.option_strings and not isinstance(a, argparse._HelpAction)]


def test_every_command_has_a_parser_from_the_table():
    assert set(parsers()) == set(COMMANDS) == set(options.ALL)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_is_the_tables(command):
    """Each option of the parser is an entry of the table (same flags, same help), and each
    entry of the table for the command is in the parser."""
    p = parsers()[command]
    table = {o.flags: o for o in options.options_of(command)}
    deprecated = {d.flag for d in options.DEPRECATED if command in d.commands}
    seen = set()
    for a in optional_actions(p):
        flags = tuple(a.option_strings)
        if flags[0] in deprecated:
            assert a.help == argparse.SUPPRESS
            continue
        assert flags in table, f"{command}: {flags} is not in abiguard.commands.options"
        opt = table[flags]
        expected = argparse.SUPPRESS if command in opt.hidden else opt.help
        assert a.help == expected, (command, flags)
        seen.add(flags)
    assert seen == set(table)


def test_one_meaning_per_flag_and_command():
    for command in options.ALL:
        flags = [f for o in options.options_of(command) for f in o.flags]
        assert len(flags) == len(set(flags)), command


def test_shared_options_are_defined_once():
    """An option the commands share is one entry, unless its meaning differs (then each
    entry says its own), and the same words mean the same thing."""
    by_flags: dict[tuple[str, ...], list[options.Opt]] = {}
    for o in options.OPTIONS:
        by_flags.setdefault(o.flags, []).append(o)
    for flags, entries in by_flags.items():
        helps = [o.help for o in entries]
        assert len(set(helps)) == len(helps), f"{flags}: the same meaning twice"
    shared = [o for o in options.OPTIONS if len(o.commands) > 1]
    assert {"--suite", "--with-deps", "--sysroot", "--policy", "--source", "--source-package",
            "--objects", "--format", "--verbose", "--exclude", "--library"} <= \
        {f for o in shared for f in o.flags} | {"--verbose"}


def test_readme_has_the_table():
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- options -->\n(.*?)<!-- /options -->", text, re.DOTALL)
    assert m, "README has no options table between <!-- options --> markers"
    assert m.group(1) == options.markdown_table(), \
        "README's options table drifted: run scripts/readme-examples.py"


def test_the_table_lists_every_option_once_per_meaning():
    table = options.markdown_table()
    rows = [r for r in table.splitlines()[2:]]
    assert len(rows) == len([o for o in options.OPTIONS if o.commands])
    assert "| `--fail-on WHAT` | exit 1 when an import is WHAT: unstable" in table
    assert "`--objects FILE…`" in table
    assert "scan, plan, link, impact: text, json, markdown" in table


@pytest.mark.parametrize("command,argv,expected", [
    ("scan", ["--fail-on", "unstable,private", "--fail-on", "unresolved"],
     ["unstable", "private", "unresolved"]),
    ("diff", ["--fail-on", "added"], ["added"]),
    ("impact", ["--fail-on", "needs-rebuild,needs-source-changes"],
     ["needs-rebuild", "needs-source-changes"]),
])
def test_fail_on_everywhere(command, argv, expected):
    choices = {"scan": options.SCAN_FAIL_ON, "diff": ("added", "resized"),
               "impact": ("needs-rebuild", "needs-source-changes")}[command]
    base = {"scan": ["x"], "diff": ["a", "b"], "impact": ["x", "--from", "a", "--to", "b"]}
    args = build_parser(command).parse_args([command, *argv, *base[command]])
    assert options.fail_on(args.fail_on, choices) == expected


@pytest.mark.parametrize("command,argv", [
    ("scan", ["--fail-on", "added", "/bin/true"]),
    ("plan", ["--fail-on", "needs-rebuild", "/bin/true"]),
    ("diff", ["--fail-on", "unstable", "/bin/true", "/bin/true"]),
    ("impact", ["--fail-on", "added", "/bin/true", "--from", "/lib", "--to", "/lib"]),
])
def test_fail_on_of_another_command_is_a_usage_error(command, argv, capsys):
    assert main([command, *argv]) == 2
    err = capsys.readouterr().err
    assert "--fail-on" in err and "expected one of" in err


def test_deprecated_fail_on_new_still_works(capsys):
    args = build_parser("diff").parse_args(["diff", "--fail-on-new", "a", "b"])
    assert args.fail_on == ["added", "resized"]
    err = capsys.readouterr().err
    assert err == ("abiguard: --fail-on-new is deprecated: write --fail-on added,resized "
                   "(it still works)\n")
    assert "--fail-on-new" not in parsers()["diff"].format_help()


def test_deprecated_census_source_still_works(capsys):
    args = build_parser("census").parse_args(
        ["census", "--store", "s.sqlite", "--source", "xen", "--source-package", "qemu"])
    assert args.source_package == ["xen", "qemu"]
    assert "--source-package NAME" in capsys.readouterr().err


def test_fail_on_new_exit_code(tmp_path, capsys):
    """diff --fail-on-new and --fail-on added: exit 1 on an added symbol, with the note."""
    from abiguard.jsonform import to_json
    from abiguard.model import Audit, Binding, Consumer, Stability, SymbolRef

    def audit(names):
        return Audit(consumers=(Consumer(path="/bin/p", kind="EXEC", machine="x86_64",
                                         bindings=tuple(
            Binding(SymbolRef(n, "V_1"), type="FUNC", provider="libu.so.1",
                    provided_version="V_1", stability=Stability.UNSTABLE) for n in names)),))

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(to_json(audit(["f"])))
    new.write_text(to_json(audit(["f", "g"])))
    for flag in (["--fail-on", "added"], ["--fail-on-new"]):
        assert main(["diff", *flag, str(old), str(new), "-o", str(tmp_path / "d")]) == 1
    assert "1 unstable/private symbol(s) added" in capsys.readouterr().err
    assert main(["diff", "-q", "--fail-on", "added", str(new), str(old),
                 "-o", str(tmp_path / "d")]) == 0


REQUIRED = {"census": ["--store", "s"], "gate": ["--baseline", "b"],
            "impact": ["--from", "a", "--to", "b"], "link": ["--without", "x"],
            "propose": ["-d", "out"]}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_unknown_option_points_at_the_commands_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, *REQUIRED.get(command, []), "--no-such-option", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"abiguard {command}: error: unrecognized arguments: --no-such-option" in err
    assert f"(see 'abiguard {command} --help')" in err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_options_take_one_value_or_end_at_double_dash(command):
    """Every option takes one value (repeat it for more) or none, but --objects FILE…, whose
    list ends at --: what follows is the command's input again."""
    p = parsers()[command]
    many = [a for a in optional_actions(p) if a.nargs not in (None, 0)]
    assert [a.option_strings for a in many] in ([], [["--objects"]])
    if many:
        tail = {"plan": ["prog"], "where": ["prog"]}[command]
        args = build_parser(command).parse_args([command, "--objects", "a.o", "b.o", "--",
                                                 *tail])
        assert args.objects == ["a.o", "b.o"] and args.inputs == tail


def test_plan_objects_does_not_swallow_the_input(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--objects", "a.o", "prog"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "the following arguments are required: INPUT" in err
    assert "--objects takes several values: end them with --" in err


def test_where_objects_given_a_program_says_so(tmp_path, capsys):
    """where --objects a.o prog: prog read as an object is an error naming it (exit 2), not
    a silent search of nothing."""
    import shutil

    prog = tmp_path / "prog"
    shutil.copy("/bin/true", prog)
    assert main(["where", "-q", "--symbol", "x", "--objects", str(prog)]) == 2
    err = capsys.readouterr().err
    assert f"{prog}: not a relocatable object" in err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_verbose_is_described_truthfully(command):
    """-v says what it adds for the command, and is not offered where it adds nothing."""
    v = [o for o in options.OPTIONS if "-v" in o.flags and command in o.commands]
    if command in ("link", "report", "history"):
        assert v == []
        assert "-v, --verbose" not in parsers()[command].format_help()
    else:
        assert len(v) == 1 and v[0].help.startswith("more detail: ")


def test_where_help_explains_the_compiled_column():
    text = parsers()["where"].format_help()
    assert "compiled" in text and "yes/no" in text and "?: they do not decide it" in text


def test_plan_takes_source_package_like_where():
    for command in ("plan", "where", "propose"):
        flags = {f for o in options.options_of(command) for f in o.flags}
        assert {"--source", "--source-package", "--cache-dir"} <= flags
