#!/usr/bin/env python3
"""Write src/abiguard/data/compiled-policies.json: the built-in policy files
(src/abiguard/data/policies) in the form a scan reads instead of parsing them
(abiguard.policy.builtin). Run it after changing a built-in file (a TOML file, or the history
that scripts/gen-history.sh writes); tests/policy/test_builtin.py fails until then (a scan
parses the changed file meanwhile).

    PYTHONPATH=src python3 scripts/compile-policies.py
"""

from __future__ import annotations

from abiguard.policy.builtin import COMPILED, compiled_policies


def main() -> None:
    text = compiled_policies()
    with open(COMPILED, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"wrote {COMPILED}")


if __name__ == "__main__":
    main()
