#!/usr/bin/env bash
# Regenerates docs/report.png, the README's picture of the HTML report, from
# a log shipped in testdata/ (headless Chromium; apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
target/release/mtastat --tz UTC --html "$tmp/report.html" testdata/postfix/mail.log > /dev/null
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$tmp/profile" --window-size=1100,1200 \
  --screenshot="$tmp/report.png" "file://$tmp/report.html" 2>/dev/null
mv "$tmp/report.png" docs/report.png
