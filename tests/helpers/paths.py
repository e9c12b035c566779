"""The repository's places the tests read, named once (test modules live at different depths
of tests/)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
DATA = TESTS / "data"
SRC = REPO / "src"
DOCS = REPO / "docs"
README = REPO / "README.md"
