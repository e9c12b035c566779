#!/usr/bin/env python3
"""Write src/abiguard/data/compiled-policies.json: the built-in TOML policy files
(src/abiguard/data/policies/*.toml) as tomllib reads them, which a scan reads instead of
parsing the TOML (abiguard.policy.files.COMPILED). Run it after changing a built-in TOML
file; tests/policy/test_files.py fails until then (the scan parses the changed file).

    PYTHONPATH=src python3 scripts/compile-policies.py
"""

from __future__ import annotations

from abiguard.policy.files import COMPILED, compiled_policies


def main() -> None:
    text = compiled_policies()
    with open(COMPILED, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"wrote {COMPILED}")


if __name__ == "__main__":
    main()
