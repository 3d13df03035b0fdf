#!/usr/bin/env bash
# Requests/s of a trivial endpoint bare, behind our pressure gauge, and behind ASP.NET Core's
# rate-limiting middleware with a ConcurrencyLimiter (queue 0) of the same limit, measured with
# wrk side by side: server on core 0, wrk on core 1, 30 s of warm-up, then ROUNDS interleaved
# rounds (A B C A B C ...) of SECONDS each. Writes the medians into docs/benchmarks.md.
# Usage: bench/http-overhead.sh [SECONDS=10] [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
seconds=${1:-10}
rounds=${2:-5}
connections=32
scripts/bootstrap.sh wrk curl
dotnet build src/Backpressure.Server -c Release --nologo -v quiet >/dev/null

port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
taskset -c 0 dotnet src/Backpressure.Server/bin/Release/net10.0/Backpressure.Server.dll \
  --urls "$url" --Backpressure:Grpc:Url=http://127.0.0.1:0 --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$url/overhead/bare" >/dev/null && break; sleep 0.2; done

endpoints=(bare gauge rate-limiter)
load() { taskset -c 1 wrk -t1 -c"$connections" -d"$2"s "$url/overhead/$1" | awk '/Requests\/sec/ {print $2}'; }

echo "warming up for 30 s" >&2
for e in "${endpoints[@]}"; do load "$e" 10 >/dev/null; done

declare -A results
for r in $(seq 1 "$rounds"); do
  for e in "${endpoints[@]}"; do
    rps=$(load "$e" "$seconds")
    results[$e]="${results[$e]:-} $rps"
    echo "round $r $e $rps" >&2
  done
done

bare=$(echo "${results[bare]}" | median)
out=$(mktemp)
{
  echo "$(measured_on) with \`bench/http-overhead.sh $seconds $rounds\`:"
  echo "Release build, server pinned to core 0, \`wrk -t1 -c$connections\` pinned to core 1, $rounds interleaved rounds of $seconds s after 30 s of warm-up."
  echo
  echo "| endpoint | requests/s per round | median | vs bare |"
  echo "|---|---|---:|---:|"
  for e in "${endpoints[@]}"; do
    m=$(echo "${results[$e]}" | median)
    printf '| `/overhead/%s` | %s | %.0f | %.3f |\n' "$e" "$(echo ${results[$e]} | sed 's/ / · /g')" "$m" "$(echo "$m $bare" | awk '{print $1/$2}')"
  done
} > "$out"
bench/write-section.sh http-overhead "$out"
cat "$out"
