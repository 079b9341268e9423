#!/usr/bin/env bash
# Renders frugal's HTML pages and SVG figures (compare.html, report.html, memory.html, compare-*.svg)
# to PNG in headless Chromium, to look at the charts as a browser draws them (labels that overprint or
# run off a chart do not show in the SVG text):
#   scripts/dev/screenshot_html.sh OUT_DIR FILE...      (Chromium: FRUGAL_SETUP_EXTRAS=1 scripts/setup.sh)
# A page is rendered 1400 wide and 2400 high, an SVG 720 x 520.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: scripts/dev/screenshot_html.sh OUT_DIR FILE..." >&2
  exit 2
fi
out="$1"; shift
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [ -z "$browser" ]; then
  echo "screenshot_html: no chromium on PATH (FRUGAL_SETUP_EXTRAS=1 scripts/setup.sh installs it)" >&2
  exit 2
fi
mkdir -p "$out"
for f in "$@"; do
  path="$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
  size=1400,2400
  case "$f" in *.svg) size=720,520 ;; esac
  name="$(basename "$(dirname "$path")")_$(basename "$path")"
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$size" \
    --screenshot="$out/${name%.*}.png" "file://$path" 2>/dev/null >/dev/null
  echo "$out/${name%.*}.png"
done
