"""The distribution of stability verdicts over a scan, with the evidence that decided them.

    abiguard scan /usr/bin /usr/sbin /usr/libexec /usr/lib/x86_64-linux-gnu --format json -o usr.json
    python benchmarks/policy_distribution.py usr.json

Counts each library once (by soname and path, over every consumer's load order): its verdict
and the source of its first piece of evidence (the one that decided), then the bound imports
per class and the libraries most consumers import unstable or private symbols from. Prints
Markdown (docs/policy.md has this machine's figures).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict

CLASSES = ("stable", "unstable", "private", "unknown")


def aggregate(data: dict) -> dict:
    libs: dict[tuple[str, str | None], tuple[str, str]] = {}
    imports: Counter[str] = Counter()
    users: dict[str, set[str]] = defaultdict(set)
    for c in data["consumers"]:
        for lib in c.get("libraries", []):
            key = (lib.get("soname") or lib["name"], lib.get("path"))
            ev = lib.get("evidence") or [{}]
            libs.setdefault(key, (lib.get("stability", "unknown"),
                                  "not found" if lib.get("path") is None
                                  else ev[0].get("source", "?")))
        for b in c.get("bindings", []):
            if b.get("status") != "bound":
                imports["unresolved"] += 1
                continue
            imports[b.get("stability", "unknown")] += 1
            if b.get("stability") in ("unstable", "private"):
                users[b.get("provider") or "?"].add(c["path"])
    by_class = Counter(v for v, _ in libs.values())
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    for v, src in libs.values():
        by_source[v][src] += 1
    return {"consumers": len(data["consumers"]), "libraries": len(libs), "by_class": by_class,
            "by_source": by_source, "imports": imports,
            "top": sorted(users.items(), key=lambda kv: (-len(kv[1]), kv[0]))}


def markdown(r: dict, top: int = 15) -> str:
    out = [f"{r['consumers']} consumers, {r['libraries']} libraries (by soname and path)", "",
           "| verdict | libraries | decided by |", "|---|--:|---|"]
    for v in CLASSES:
        srcs = ", ".join(f"{s} {n}" for s, n in r["by_source"][v].most_common())
        out.append(f"| {v} | {r['by_class'][v]} | {srcs} |")
    out += ["", "| bound imports | count |", "|---|--:|"]
    out += [f"| {k} | {r['imports'][k]} |" for k in (*CLASSES, "unresolved")]
    out += ["", "| library (unstable/private imports) | consumers |", "|---|--:|"]
    out += [f"| {lib} | {len(cs)} |" for lib, cs in r["top"][:top]]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scan_json", help="the JSON of abiguard scan --format json")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    with open(args.scan_json, encoding="utf-8") as fh:
        data = json.load(fh)
    print(markdown(aggregate(data), args.top), end="")


if __name__ == "__main__":
    main()
