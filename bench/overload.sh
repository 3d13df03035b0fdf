#!/usr/bin/env bash
# Overload benchmark: offers the seed work open-loop (bp load --rate) at 0.5, 1, 2, 5 and 10 times
# the service's capacity (gauge limit / service time of one call) to /async (no limit),
# /backpressure (our gauge) and /aspnet-concurrency (ASP.NET Core's middleware with a
# ConcurrencyLimiter of the same limit), SECONDS each, a fresh server (core 0) per run and the load
# generator on core 1. Writes the table into docs/benchmarks.md.
# Usage: bench/overload.sh [SECONDS=8]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
seconds=${1:-8}
scripts/bootstrap.sh jq curl
dotnet build src/Backpressure.Cli -c Release --nologo -v quiet >/dev/null
bin=src/Backpressure.Cli/bin/Release/net10.0
limit=$(jq '.Backpressure.Gauges.backpressure.PermitLimit' "$bin/appsettings.json")
service_ms=$(jq -r '.SeedWork | [.CpuTime, .IoTime] | map(split(":") | (.[0]|tonumber)*3600000 + (.[1]|tonumber)*60000 + (.[2]|tonumber)*1000) | add' "$bin/appsettings.json")
capacity=$(awk -v l="$limit" -v s="$service_ms" 'BEGIN {printf "%.2f", l / (s / 1000)}')
echo "capacity: $limit / ${service_ms} ms = $capacity calls/s" >&2

work=$(mktemp -d)
row() {
  local endpoint=$1 factor=$2
  local port=$((20000 + RANDOM % 20000)) url
  url="http://127.0.0.1:$port"
  taskset -c 0 dotnet "$bin/Backpressure.Server.dll" --urls "$url" --Backpressure:Grpc:Url=http://127.0.0.1:0 --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
  local server=$!
  for _ in $(seq 1 100); do curl -sf "$url/overhead/bare" >/dev/null && break; sleep 0.2; done
  local rate
  rate=$(awk -v c="$capacity" -v f="$factor" 'BEGIN {printf "%.2f", c * f}')
  taskset -c 1 dotnet "$bin/bp.dll" load "$url$endpoint" --rate "$rate" -z "${seconds}s" -c 1000 --timeout 10s -o json > "$work/run.json" || true
  local peak
  peak=$(curl -sf --max-time 5 "$url/stats" | jq '.memory.peak_working_set / 1048576 | floor' || echo "died")
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  jq -r --arg e "$endpoint" --arg f "$factor" --arg r "$rate" --arg c "$capacity" --arg p "$peak" '
    def ms: . * 1000 | floor;
    "| `\($e)` | \($f)× | \($r) | \(.goodput_per_second * 100 | floor / 100) | \((.goodput_per_second / ($c|tonumber)) * 100 | floor)% | \(.success_latency.percentiles.p50 | ms) | \(.success_latency.percentiles.p99 | ms) | \(.success_latency.slowest_seconds | ms) | \(.refusal_latency.percentiles.p99 | ms) | \(.refused) | \(.errors) | \(.timeouts) | \($p) |"' "$work/run.json"
}

{
  echo "$(measured_on) with \`bench/overload.sh $seconds\`:"
  echo "capacity = gauge limit $limit / service time ${service_ms} ms = $capacity calls/s; open-loop load for $seconds s per row, latencies from each request's due time, a fresh server per row."
  echo
  echo "| endpoint | offered | offered/s | goodput/s | of capacity | p50 ok ms | p99 ok ms | max ok ms | p99 429 ms | 429 | errors | timeouts | peak WS MiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for endpoint in /async /backpressure /aspnet-concurrency; do
    for factor in 0.5 1 2 5 10; do
      row "$endpoint" "$factor"
    done
  done
} > "$work/section.md"
bench/write-section.sh overload "$work/section.md"
cat "$work/section.md"
