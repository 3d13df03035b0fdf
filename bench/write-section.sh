#!/usr/bin/env bash
# Replaces the text between <!-- NAME:begin --> and <!-- NAME:end --> in docs/benchmarks.md with
# the contents of FILE. Usage: bench/write-section.sh NAME FILE
set -euo pipefail
name=$1 file=$2
doc="$(dirname "$0")/../docs/benchmarks.md"
grep -q "<!-- $name:begin -->" "$doc" || { echo "no section $name in $doc" >&2; exit 1; }
awk -v name="$name" -v file="$file" '
  $0 == "<!-- " name ":begin -->" { print; while ((getline line < file) > 0) print line; skip = 1; next }
  $0 == "<!-- " name ":end -->" { skip = 0 }
  !skip { print }
' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
