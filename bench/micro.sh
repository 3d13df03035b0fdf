#!/usr/bin/env bash
# BenchmarkDotNet micro-benchmarks, written into the section SECTION of docs/benchmarks.md.
# Usage: bench/micro.sh SECTION FILTER, for example
#   bench/micro.sh gauge '*GaugeBenchmarks*'               (about six minutes on 2 cores)
#   bench/micro.sh rate-limiters '*RateLimiterBenchmarks*' (about four minutes)
#   bench/micro.sh http-pipeline '*EndpointPipelineBenchmarks*' (about three minutes)
#   bench/micro.sh request-guard '*RequestGuardBenchmarks*' (about five minutes)
#   bench/micro.sh adaptive-limiter '*AdaptiveLimiterBenchmarks*' (about four minutes)
#   bench/micro.sh waiting-room '*WaitingRoomBenchmarks*' (about four minutes)
#   bench/micro.sh client-handler '*ClientHandlerBenchmarks*' (about two minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
section=$1 filter=$2
scripts/bootstrap.sh
out=$(mktemp -d)
dotnet run -c Release --project bench/Backpressure.Benchmarks -- \
  --filter "$filter" --warmupCount 3 --iterationCount 10 --launchCount 1 \
  --exporters github --artifacts "$out" >"$out/run.log" 2>&1 || { tail -50 "$out/run.log"; exit 1; }
{
  echo "$(measured_on) with \`bench/micro.sh $section '$filter'\`."
  for report in "$out"/results/*-report-github.md; do
    echo
    echo "#### $(basename "$report" -report-github.md | sed 's/.*\.//')"
    echo
    sed -n '/^|/p' "$report"
  done
} > "$out/section.md"
bench/write-section.sh "$section" "$out/section.md"
cat "$out/section.md"
