"""The Markdown table of campaign summaries (``python -m fuzz.run ... --json FILE``):
``python -m fuzz.report FILE [FILE ...]`` (what README's Reliability section shows)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def rows(paths: list[str]) -> list[dict]:
    out: dict[str, dict] = {}
    for p in paths:
        for r in json.loads(Path(p).read_text())["results"]:
            out[r["target"]] = r  # a later file wins (a target run again)
    return list(out.values())


def markdown(results: list[dict]) -> str:
    lines = [("| target | engine | inputs | time | inputs/s | parsed | rejected (own error) "
              "| unhandled | hangs | stalls |"), "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    total = 0
    for r in results:
        total += r["inputs"]
        m, s = divmod(round(r["seconds"]), 60)
        lines.append(f"| {r['target']} | {r['engine']} | {r['inputs']:,} | {m} min {s:02d} s "
                     f"| {r['inputs_per_s']:.0f} | {r['ok']:,} | {r['rejected']:,} "
                     f"| {r['unhandled']} | {r['hangs']} | {r.get('stalls', 0)} |")
    lines.append(f"| **all** | | **{total:,}** | | | | | "
                 f"**{sum(r['unhandled'] for r in results)}** | "
                 f"**{sum(r['hangs'] for r in results)}** | "
                 f"{sum(r.get('stalls', 0) for r in results)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(markdown(rows(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
