"""The words ``--fail-on`` takes, per command: the commands' options and the logic that
applies them read them here (importing this costs nothing, unlike the comparisons)."""

from __future__ import annotations

SCAN = ("unstable", "private", "unresolved")
"""What ``scan --fail-on`` (and ``plan``) takes: the class of an import, or unresolved."""

DIFF = ("added", "resized")
"""What ``diff --fail-on`` takes: the changes that fail a diff."""

IMPACT = ("needs-rebuild", "needs-source-changes")
"""What ``impact --fail-on`` takes: a consumer that needs at least this fails."""

__all__ = ["DIFF", "IMPACT", "SCAN"]
