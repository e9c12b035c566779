"""SymbolTable.keys (abiguard.elf.symsource): each symbol's (name, version, hidden, binding,
type) and the positions of those with a value, read in bulk without building the symbols --
held against the symbols themselves, for hand-built tables of both classes and byte orders
and for the system's files."""

from __future__ import annotations

import pytest

from abiguard.elf import read_elf
from abiguard.model import SymbolTable
from helpers.elfbuild import Exp, Imp, Spec, build_elf
from helpers.ldso_oracle import system_programs


def _keys_of(table: SymbolTable) -> tuple[list[tuple[object, ...]], set[int]]:
    return ([(s.name, s.version, s.hidden, s.binding, s.type) for s in table],
            {i for i, s in enumerate(table) if s.value})


def _hand(bits: int, big: bool) -> bytes:
    machine = {(32, False): 3, (64, False): 62, (32, True): 20, (64, True): 22}[(bits, big)]
    return build_elf(Spec(
        bits=bits, big=big, machine=machine, needed=("libc.so.6", "libm.so.6"),
        imports=[Imp("puts", "GLIBC_2.0", "libc.so.6"), Imp("weakfn", weak=True),
                 Imp("cos", "GLIBC_2.1", "libm.so.6"), Imp("e", "GLIBC_2.1", "libc.so.6",
                                                          type=6, hidden=True)],
        exports=[Exp("a", "HAND_1.0"), Exp("b", "HAND_2.0", value=0), Exp("old", "HAND_1.0",
                                                                          hidden=True),
                 Exp("obj", type=1, size=8, value=0x2000), Exp("u", bind=10, type=10)],
        verdefs=[("HAND_1.0", []), ("HAND_2.0", ["HAND_1.0"])], weak_versions=["GLIBC_2.1"],
        locals=["loc"])).data


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("big", [False, True], ids=["le", "be"])
def test_keys_of_hand_built_tables(bits, big):
    o = read_elf("hand.so", _hand(bits, big))
    for table in (o.imports, o.exports):
        keys = table.keys()
        assert keys == _keys_of(table)
        assert keys == _keys_of(SymbolTable(tuple(table)))  # (a table of given symbols)
    assert o.exports.keys()[1] == {0, 2, 3, 4}  # every export but b has a value
    assert ("e", "GLIBC_2.1", True, "GLOBAL", "TLS") in o.imports.keys()[0]


def test_keys_of_system_files():
    for path in system_programs(80) + ["/lib/x86_64-linux-gnu/libc.so.6"]:
        o = read_elf(path)
        for table in (o.imports, o.exports):
            fresh = read_elf(path)  # (keys first, on a table nothing was built from)
            assert (fresh.imports if table is o.imports else fresh.exports).keys() == \
                _keys_of(table)
    assert len(read_elf("/lib/x86_64-linux-gnu/libc.so.6").exports.keys()[0]) > 1000
