#!/bin/sh
# Installs the Debian packages abiguard's tests and main job use. Idempotent.
#   gcc, binutils, libc6-dev: the tests build their own tiny C libraries and programs
#   gcc-multilib: 32-bit (-m32) fixtures (its libc6-i386 gives /lib/ld-linux.so.2, the
#     oracle of the 32-bit binding tests)
#   g++: C++ fixtures for the demangling tests (binutils' c++filt is their oracle) and the
#     binding tests (GNU unique symbols, copies of std::cout, held against ld.so)
#   dpkg-dev: dpkg-source, to unpack `apt-get source` trees for the source call-site tests
#   patch: abiguard propose checks its consumer patches with GNU patch (so do its tests)
#   python3-venv: the project's virtual environment
#   make: the two README commands
#   binutils-aarch64-linux-gnu: AArch64 call-site fixtures (assembled; gcc-aarch64-linux-gnu
#     would conflict with gcc-multilib)
#   lld: the link-line experiment is tested with GNU ld, gold and lld
#   chromium, fonts-dejavu-core: the HTML report is rendered headless in the tests
#     (screenshot, DOM, console); the fonts because --no-install-recommends skips them
#   bzip2, dmsetup, curl, openssh-client, git, openssl: real programs whose stability
#     verdicts the policy tests check (tests/integration/test_policy_real.py; systemd, llvm-14 and
#     heaptrack are scanned from their downloaded .debs instead)
#   jq: the jq recipe of docs/schema.md is run on schema 1 and 2 results
set -eu
PKGS="gcc g++ binutils libc6-dev gcc-multilib dpkg-dev patch make python3-venv ca-certificates
      binutils-aarch64-linux-gnu lld chromium fonts-dejavu-core
      bzip2 dmsetup curl openssh-client git openssl jq"
EXTRA="${ABIGUARD_EXTRA_DEBS:-}"
missing=""
for p in $PKGS $EXTRA; do
    dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing Debian packages:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
