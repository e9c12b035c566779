"""abiguard.fastnew: objects of frozen slotted dataclasses made (and pickled) without their
``__init__`` -- the same objects as the class makes, or the class itself where the trick
does not fit."""

from __future__ import annotations

import dataclasses
import io
import pickle

import pytest

from abiguard.fastnew import maker, pickled_maker, rebuild, reducers
from abiguard.model import (
    Binding,
    Consumer,
    ElfSymbol,
    Evidence,
    InputError,
    Library,
    Stability,
    SymbolRef,
)


def _binding() -> Binding:
    ev = (Evidence("policy", "declared", Stability.UNSTABLE, "x.toml"),)
    return Binding(SymbolRef("f", "V_1"), "FUNC", False, "bound", provider="libx.so.1",
                   provider_path="/lib/libx.so.1", provided_version="V_1", reason=None,
                   stability=Stability.UNSTABLE, evidence=ev, copy=None)


@pytest.mark.parametrize("cls", [Binding, SymbolRef, ElfSymbol, Library, Consumer, Evidence])
def test_maker_makes_what_the_class_makes(cls):
    make = maker(cls)
    assert make is not cls  # (the model's classes are all slotted and frozen)
    b = _binding()
    values = {
        Binding: tuple(getattr(b, f.name) for f in dataclasses.fields(Binding)),
        SymbolRef: ("f", None),
        ElfSymbol: ("n", "V", True, "WEAK", "FUNC", "PROTECTED", True, 1, 2, "f", 3),
        Library: ("libx.so.1", "/lib/libx.so.1", "libx.so.1", "default", "", 1,
                  Stability.STABLE, b.evidence, ("V_1",)),
        Consumer: ("/bin/x", "EXEC", "x86_64", 64, None, "/bin", None, ("libx.so.1",), (),
                   (b,), None),
        Evidence: ("policy", "d", Stability.STABLE, None),
    }[cls]
    made, ref = make(*values), cls(*values)
    assert type(made) is cls
    assert made == ref and hash(made) == hash(ref) and repr(made) == repr(ref)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__(dataclasses.fields(cls)[0].name, None)


def test_maker_leaves_classes_the_trick_does_not_fit():
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("a < 0")

    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived(Base):
        b: int = 0

    for cls in (NoSlots, Checked, Derived):
        assert maker(cls) is cls
    with pytest.raises(ValueError):
        maker(Checked)(-1)


def test_reducers_round_trip_with_sharing():
    b = _binding()
    lib = Library("libx.so.1", "/lib/libx.so.1", "libx.so.1", stability=Stability.UNSTABLE,
                  evidence=b.evidence)
    consumers = [Consumer("/bin/a", "EXEC", "x86_64", libraries=(lib,), bindings=(b, b)),
                 Consumer("/bin/b", "EXEC", "x86_64", libraries=(lib,), bindings=(b,)),
                 InputError("/bin/c", "truncated")]
    buf = io.BytesIO()
    p = pickle.Pickler(buf, pickle.HIGHEST_PROTOCOL)
    p.dispatch_table = reducers((Consumer, Library, Binding, SymbolRef, Evidence, InputError))
    p.dump(consumers)
    data = buf.getvalue()
    assert b"_make_abiguard_model_core_Binding" in data  # (through the fast path)
    assert b"rebuild" not in data
    back = pickle.loads(data)
    assert back == consumers
    assert back[0].bindings[0] is back[0].bindings[1] is back[1].bindings[0]
    assert back[0].libraries[0].evidence is back[0].bindings[0].evidence
    assert rebuild(SymbolRef, ("g", None)) == SymbolRef("g", None)


def test_a_pickled_maker_is_named_once_per_class():
    from abiguard import fastnew

    make = pickled_maker(Binding)
    assert make is pickled_maker(Binding) is fastnew._make_abiguard_model_core_Binding
    assert pickle.loads(pickle.dumps(make)) is make
    b = _binding()
    assert make(*(getattr(b, f.name) for f in dataclasses.fields(Binding))) == b

    @dataclasses.dataclass(frozen=True)
    class Plain:  # (not slotted: the trick does not fit, the class is its own maker)
        a: int
        b: int

    assert pickled_maker(Plain) is Plain
    twin = type("Binding", (), {"__module__": "abiguard.model.core"})  # another one of that name
    assert pickled_maker(twin) is None  # (then pickled through rebuild)
