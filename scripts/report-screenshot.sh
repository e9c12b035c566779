#!/bin/sh
# The README's screenshot of the HTML report of the Xen census: docs/report-xen.png.
#   scripts/report-screenshot.sh [OUT.png]      (ABIGUARD="python -m abiguard.cli" to use a checkout)
# Runs `abiguard census --source-package xen` (the consumers of the libraries built from
# source package xen) into a fresh store, `abiguard report`, and
# headless Chromium (Debian's chromium package) at 1280x1250 pixels: the top of the page.
set -eu
out=$(realpath -m "${1:-docs/report-xen.png}")
abiguard=${ABIGUARD:-abiguard}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && $abiguard census --source-package xen --store xen.sqlite -j 2 -q >/dev/null &&
  $abiguard report -q xen.sqlite -o xen.html)
chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
  --user-data-dir="$tmp/chromium" --screenshot="$out" --window-size=1280,1250 \
  "file://$tmp/xen.html" 2>/dev/null
echo "wrote $out"
