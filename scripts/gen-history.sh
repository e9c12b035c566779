#!/bin/sh
# Regenerate abiguard's built-in Debian archive history (src/abiguard/data/policies/
# debian-history.json) from Debian's current suites, through apt configurations derived from
# this machine's sources (docs/policy.md, "The archive's history").
#
#   scripts/gen-history.sh [SUITES]        default: bullseye,bookworm,trixie
#
# Only families with a verdict (stable or release-locked) are kept; the counts of all
# families per verdict are printed on stderr (they go into docs/policy.md). Then the compiled
# form of the built-in files is written again (scripts/compile-policies.py).
set -eu
cd "$(dirname "$0")/.."
SUITES=${1:-bullseye,bookworm,trixie}
PY=${PYTHON:-python3}
PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} "$PY" -m abiguard.cli history \
    --suites "$SUITES" --decided --format json \
    --output src/abiguard/data/policies/debian-history.json
# the form a scan reads it in (abiguard.policy.builtin)
PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} "$PY" scripts/compile-policies.py
