#!/usr/bin/env bash
# Refreshes the dashboard's chart library, uPlot, from the npm registry into the server's
# wwwroot (shipped with the server: no CDN at run time). Usage: scripts/update-uplot.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-1.6.32}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "uplot@$version" --silent >/dev/null && tar xzf "uplot-$version.tgz")
target=src/Backpressure.Server/wwwroot/lib/uplot
cp "$work/package/dist/uPlot.iife.min.js" "$work/package/dist/uPlot.min.css" "$work/package/LICENSE" "$target/"
echo "$version" > "$target/VERSION"
echo "uPlot $version in $target"
