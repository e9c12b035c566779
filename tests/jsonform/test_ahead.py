"""Consumers' texts written ahead of their audit (jsonform.Ahead): used by ``dumps`` only
where they are the text it would write -- the same indentation, library files equal to the
document's -- and the document is then byte for byte what it is without them."""

from __future__ import annotations

import dataclasses
import io
import pickle

from abiguard.fastnew import reducers
from abiguard.jsonform import Ahead, to_json
from abiguard.jsonform.write import Piece
from abiguard.model import (
    Audit,
    Binding,
    Consumer,
    Evidence,
    InputError,
    Library,
    Plan,
    Stability,
    SymbolRef,
)

EV = (Evidence("soname", "plain major", Stability.STABLE),)
A = Library("liba.so.1", "/lib/liba.so.1", "liba.so.1", "ld.so.conf", "app", 1,
            Stability.STABLE, EV, ("A_1",))
B = Library("libb.so.2", "/lib/libb.so.2", "libb.so.2", "ld.so.conf", "app", 1,
            Stability.UNSTABLE, (Evidence("policy", "rule", Stability.UNSTABLE),))
GONE = Library("libgone.so.1", None, None, "not found", "app", 1)
A_PRIVATE = dataclasses.replace(A, stability=Stability.PRIVATE)  # the same file, seen otherwise
_PICKLING = reducers((Consumer, Library, Binding, SymbolRef, Evidence, InputError))


def consumer(name: str, *libs: Library) -> Consumer:
    bindings = tuple(Binding(SymbolRef(f"{name}_{lib.name}", "A_1"), "FUNC", provider=lib.key,
                             provider_path=lib.path, provided_version="A_1",
                             stability=lib.stability, evidence=lib.evidence)
                     for lib in libs)
    return Consumer(f"/bin/{name}", "EXEC", "x86_64", libraries=libs,
                    needed=tuple(lib.name for lib in libs), bindings=bindings)


def elsewhere(ahead: Ahead, consumers: list[Consumer]) -> list[tuple[Consumer, Piece]]:
    """What a scan's child sends: each consumer with what ``ahead`` gave for it there (last
    first, as the child works), pickled together and read back (copies, as the parent
    gets them)."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, pickle.HIGHEST_PROTOCOL)  # (as abiguard.parallel does)
    pickler.dispatch_table = _PICKLING
    pickler.dump([(c, ahead(c)) for c in reversed(consumers)])
    back: list[tuple[Consumer, Piece]] = pickle.loads(buf.getvalue())
    back.reverse()
    return back


def kept(back: list[tuple[Consumer, Piece]]) -> Ahead:
    """An Ahead (where the document is written) that kept these pieces."""
    ahead = Ahead()
    for c, piece in back:
        ahead.keep(c, piece)
    return ahead


def marked(back: list[tuple[Consumer, Piece]]) -> list[tuple[Consumer, Piece]]:
    """The same pieces with a text of their own, to see which ones the writer uses."""
    return [(c, (f'"AHEAD {c.path}"', refs)) for c, (_, refs) in back]


def test_the_texts_written_ahead_are_those_dumps_writes():
    consumers = [consumer("one", A, B), consumer("two", B, GONE), consumer("three", A)]
    back = elsewhere(Ahead(), consumers)
    audit = Audit(tuple(c for c, _ in back), inputs=("x",))
    plain = to_json(audit)
    assert plain == to_json(Audit(tuple(consumers), inputs=("x",)))
    assert to_json(audit, ahead=kept(back)) == plain
    for c, (text, _) in back:  # each consumer's text is in the document, at its place
        assert "\n    " + text + "\n" in plain or "\n    " + text + ",\n" in plain


def test_the_writer_uses_them_where_the_library_files_are_equal():
    back = marked(elsewhere(Ahead(), [consumer("one", A, B), consumer("two", B, GONE)]))
    text = to_json(Audit(tuple(c for c, _ in back)), ahead=kept(back))
    assert '"AHEAD /bin/one"' in text and '"AHEAD /bin/two"' in text


def test_a_consumer_written_against_another_library_file_is_written_again():
    """The child's first library with a path (A, from the consumer it did first) is not the
    document's (A_PRIVATE, of a consumer before it): that consumer is written again; one whose
    files are equal to the document's (libb only) keeps its text."""
    first = consumer("first", A_PRIVATE)
    back = elsewhere(Ahead(), [consumer("mid", A, B), consumer("last", B)])
    text = to_json(Audit((first, *(c for c, _ in back))), ahead=kept(marked(back)))
    assert '"AHEAD /bin/last"' in text
    assert '"AHEAD /bin/mid"' not in text
    audit = Audit((first, *(c for c, _ in back)))  # with the real texts: today's document
    assert to_json(audit, ahead=kept(back)) == to_json(audit)
    assert '"stability": "stable"' in to_json(audit)  # (mid's liba differs from the file's)


def test_equal_files_that_are_other_objects_are_the_same_file():
    """The document's library file for a path is another object than the one the child
    wrote against, with equal fields (the usual case: the parent's own copy)."""
    first = consumer("first", dataclasses.replace(A, name="other-name.so", depth=2))
    back = marked(elsewhere(Ahead(), [consumer("mid", A)]))
    assert '"AHEAD /bin/mid"' in to_json(Audit((first, back[0][0])), ahead=kept(back))


def test_only_at_the_indentation_they_were_written_with():
    back = marked(elsewhere(Ahead(), [consumer("one", A)]))
    ahead = kept(back)
    audit = Audit((back[0][0],))
    assert "AHEAD" not in to_json(audit, indent=None, ahead=ahead)
    assert "AHEAD" not in to_json(audit, indent=4, ahead=ahead)
    assert "AHEAD" not in to_json(Plan(audit=audit), ahead=ahead)  # (deeper in a plan)
    assert "AHEAD" in to_json(audit, ahead=ahead)
    assert ahead.fits("  ", "    ") and not ahead.fits(" ", "    ")  # (steps of 2, not 1)
    flat = Ahead(indent=None)
    c = consumer("one", A)
    flat.keep(c, flat(c))
    assert to_json(Audit((c,)), indent=None, ahead=flat) == to_json(Audit((c,)), indent=None)


def test_only_for_the_very_consumer_it_was_written_for():
    c = consumer("one", A)
    ahead = Ahead()
    ahead.keep(c, ('"AHEAD"', (A,)))
    twin = consumer("one", A)  # equal, another object
    assert "AHEAD" not in to_json(Audit((twin,)), ahead=ahead)
    assert "AHEAD" in to_json(Audit((c,)), ahead=ahead)


def test_without_keep_nothing_is_used_and_nothing_is_global():
    """What a call gave is used only once kept, and only by a dumps given that Ahead: one
    document's texts never reach another's (a census worker writes many)."""
    c = consumer("one", A)
    ahead = Ahead()
    ahead(c)
    assert not ahead.pieces
    ahead.keep(c, ('"AHEAD"', (A,)))
    assert "AHEAD" not in to_json(Audit((c,)))
    assert "AHEAD" not in to_json(Audit((c,)), ahead=Ahead())
