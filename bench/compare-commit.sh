#!/usr/bin/env bash
# A BenchmarkDotNet filter run at an earlier commit and at the working tree, one after the other on this
# machine, so a change's cost is read side by side rather than against a table measured elsewhere.
# The earlier commit is checked out in a temporary git worktree, removed afterwards.
# Usage: bench/compare-commit.sh REV FILTER, for example
#   bench/compare-commit.sh 9235922 '*RequestGuardBenchmarks*'   (about ten minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
rev=$1 filter=$2
git rev-parse --verify --quiet "$rev^{commit}" >/dev/null || { echo "no commit $rev" >&2; exit 2; }
scripts/bootstrap.sh
base=$(mktemp -d)
trap 'git worktree remove --force "$base" 2>/dev/null || true' EXIT
git worktree add --detach --force "$base" "$rev" >/dev/null
for tree in "$base" "$PWD"; do
  out=$(mktemp -d)
  (cd "$tree" && dotnet run -c Release --project bench/Backpressure.Benchmarks -- --filter "$filter" \
    --warmupCount 3 --iterationCount 10 --launchCount 1 --exporters github --artifacts "$out" >"$out/run.log" 2>&1) \
    || { tail -50 "$out/run.log"; exit 1; }
  [ "$tree" = "$base" ] && echo "At $rev:" || echo "Now ($(git rev-parse --short HEAD) and the working tree):"
  echo
  sed -n '/^|/p' "$out"/results/*-report-github.md
  echo
done
