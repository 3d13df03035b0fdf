#!/usr/bin/env bash
# Micro-benchmarks of the pressure gauge against the base library (BenchmarkDotNet), written into
# docs/benchmarks.md. Takes about six minutes on 2 cores. Usage: bench/gauge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
out=$(mktemp -d)
dotnet run -c Release --project bench/Backpressure.Benchmarks -- \
  --filter '*GaugeBenchmarks*' --warmupCount 3 --iterationCount 10 --launchCount 1 \
  --exporters github --artifacts "$out" >"$out/run.log" 2>&1 || { tail -50 "$out/run.log"; exit 1; }
{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)) with \`bench/gauge.sh\`."
  for report in "$out"/results/*GaugeBenchmarks-report-github.md; do
    echo
    echo "#### $(basename "$report" -report-github.md | sed 's/.*\.//')"
    echo
    sed -n '/^|/p' "$report"
  done
} > "$out/section.md"
bench/write-section.sh gauge "$out/section.md"
cat "$out/section.md"
