"""The one C (and C++) parser set-up: tree-sitter, its grammars and the node helpers that
headers (:mod:`abiguard.headers`), source call sites (:mod:`abiguard.callsites.source`) and
``propose`` share.

tree-sitter and tree-sitter-c are the ``where`` extra: without them :func:`parser` raises a
UsageError saying what needs them. tree-sitter-cpp is optional: without it C++ files are
parsed with the C grammar (the references are found; some enclosing functions are missed).
One parser per language is made on first use and kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Tree

CPP_SUFFIXES = (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".tcc", ".C", ".H")

# Nodes whose named children are file-scope items too (conditional blocks, extern "C",
# C++ namespaces' bodies).
FILE_SCOPE_CONTAINERS = frozenset({
    "translation_unit", "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
    "preproc_elifdef", "linkage_specification", "declaration_list"})
_WRAPPERS = ("parenthesized_declarator", "attributed_declarator")
# Named children of a declarator wrapper that are not the declarator inside it.
_NOT_DECLARATORS = frozenset({"attribute_declaration", "attribute_specifier", "comment",
                              "ms_call_modifier", "ms_declspec_modifier", "ms_based_modifier",
                              "gnu_asm_expression"})

_PARSERS: dict[str, Parser] = {}


def parser(lang: str = "c", needed_for: str = "parsing C") -> Parser:
    """The parser of a language ("c" or "cpp"); ``needed_for`` completes the error when
    tree-sitter is missing ("source scanning needs tree-sitter ...")."""
    hit = _PARSERS.get(lang)
    if hit is not None:
        return hit
    try:  # (the 'where' extra: imported on first use)
        import tree_sitter
        import tree_sitter_c
    except ImportError:
        raise UsageError(f"{needed_for} needs tree-sitter and tree-sitter-c: "
                         "pip install 'abiguard[where]'") from None
    grammar = tree_sitter_c
    if lang == "cpp":
        try:
            import tree_sitter_cpp
        except ImportError:
            hit = _PARSERS["cpp"] = parser("c", needed_for)
            return hit
        grammar = tree_sitter_cpp
    hit = _PARSERS[lang] = tree_sitter.Parser(tree_sitter.Language(grammar.language()))
    return hit


def is_cpp(path: str) -> bool:
    """Is ``path`` named like a C++ source file?"""
    return path.endswith(CPP_SUFFIXES) or path.lower().endswith(CPP_SUFFIXES[:-2])


def parse(src: bytes, lang: str = "c", needed_for: str = "parsing C") -> Tree:
    return parser(lang, needed_for).parse(src)


# --------------------------------------------------------------------------------------------
# Node helpers
# --------------------------------------------------------------------------------------------


def text(node: Node | None) -> str:
    """A node's source text ("" for None), decoded as UTF-8 (bad bytes replaced)."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def file_scope(root: Node) -> Iterator[Node]:
    """The file-scope items of a tree: the root's named children, those of conditional blocks,
    ``extern "C"`` and namespace bodies included (the containers themselves are not
    yielded)."""
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.named_children:
            if child.type in FILE_SCOPE_CONTAINERS:
                stack.append(child)
            else:
                yield child


def unwrap(node: Node | None) -> Node | None:
    """A declarator without the parentheses and attributes around it."""
    while node is not None and node.type in _WRAPPERS:
        node = next((c for c in node.named_children if c.type not in _NOT_DECLARATORS), None)
    return node


def function_declarator(decl: Node | None) -> tuple[Node, Node, int, list[str]] | None:
    """Follow a declaration's declarator to the function it declares: (the
    function_declarator, the identifier it names, the pointer depth of the return type, the
    qualifiers of those pointers); None when it declares something else (a variable, a
    function pointer)."""
    depth = 0
    quals: list[str] = []
    node = decl
    while node is not None:
        t = node.type
        if t == "pointer_declarator":
            depth += 1
            quals += [text(c) for c in node.children if c.type == "type_qualifier"]
            node = node.child_by_field_name("declarator")
        elif t in _WRAPPERS:
            node = unwrap(node)
        elif t == "function_declarator":
            inner = unwrap(node.child_by_field_name("declarator"))
            if inner is not None and inner.type == "identifier":
                return node, inner, depth, quals
            return None
        else:
            return None
    return None


def defined_function(fdef: Node) -> str | None:
    """The name a function_definition defines (``K::m`` for a C++ member)."""
    d = fdef.child_by_field_name("declarator")
    for _ in range(20):
        if d is None:
            return None
        if d.type == "function_declarator":
            inner = unwrap(d.child_by_field_name("declarator"))
            return None if inner is None else text(inner)
        nxt = d.child_by_field_name("declarator")
        if nxt is None and d.named_children:
            nxt = d.named_children[0]
        d = nxt
    return None


__all__ = ["CPP_SUFFIXES", "FILE_SCOPE_CONTAINERS", "defined_function", "file_scope",
           "function_declarator", "is_cpp", "parse", "parser", "text", "unwrap"]
