#!/usr/bin/env bash
# Throughput of one gRPC Subscribe stream with a fast reader against the reader's HTTP/2 receive
# window (64 KiB, 1 MiB, 8 MiB; dynamic window sizing off, so each is the window), with the server
# on core 0 and `bp grpc subscribe` on core 1, a warm-up run first, then ROUNDS interleaved rounds
# (64K 1M 8M 64K 1M 8M ...). Writes medians into docs/benchmarks.md.
# Usage: bench/grpc-windows.sh [SECONDS=5] [ROUNDS=3] [SIZE=16KB]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
seconds=${1:-5}
rounds=${2:-3}
size=${3:-16KB}
windows=(64KB 1MB 8MB)
scripts/bootstrap.sh jq curl
dotnet build src/Backpressure.Cli -c Release --nologo -v quiet >/dev/null
bin=src/Backpressure.Cli/bin/Release/net10.0

port=$((20000 + RANDOM % 20000))
taskset -c 0 dotnet "$bin/Backpressure.Server.dll" --urls "http://127.0.0.1:$port" --Backpressure:Grpc:Url="http://127.0.0.1:$((port + 1))" \
  --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/stats" >/dev/null && break; sleep 0.2; done

run() { taskset -c 1 dotnet "$bin/bp.dll" grpc subscribe "http://127.0.0.1:$((port + 1))" --size "$size" --window "$1" -z "$2"s -o json; }

echo "warming up" >&2
for w in "${windows[@]}"; do run "$w" 10 >/dev/null; done

declare -A mibs msgs waits
for r in $(seq 1 "$rounds"); do
  for w in "${windows[@]}"; do
    json=$(run "$w" "$seconds") || { echo "bp failed (window $w): $json" >&2; exit 1; }
    m=$(echo "$json" | jq '.[0].messages')
    mb=$(echo "$json" | jq --arg s "$seconds" '.[0].bytes / ($s|tonumber) / 1048576')
    waited=$(echo "$json" | jq -r '.[0].sender_waited' | awk -F: -v s="$seconds" '{printf "%.0f", 100*($1*3600+$2*60+$3)/s}')
    mibs[$w]="${mibs[$w]:-} $(printf '%.1f' "$mb")"
    msgs[$w]="${msgs[$w]:-} $(echo "$m $seconds" | awk '{printf "%.0f", $1/$2}')"
    waits[$w]="${waits[$w]:-} $waited"
    echo "round $r window $w: $(printf '%.1f' "$mb") MiB/s, server's writes waited $waited% of the time" >&2
  done
done

out=$(mktemp)
base=$(echo "${mibs[64KB]}" | median)
{
  echo "$(measured_on) with \`bench/grpc-windows.sh $seconds $rounds $size\`:"
  echo "one \`Subscribe\` stream of $size messages as fast as flow control allows, a reader that never pauses, server on core 0, \`bp grpc subscribe\` on core 1, $rounds interleaved rounds of $seconds s after a warm-up."
  echo
  echo "| reader's window | MiB/s per round | median MiB/s | median msg/s | vs 64 KiB | server's writes waiting on the window (% of time) |"
  echo "|---:|---|---:|---:|---:|---|"
  for w in "${windows[@]}"; do
    m=$(echo "${mibs[$w]}" | median)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$w" "$(dots "${mibs[$w]}")" "$m" "$(echo "${msgs[$w]}" | median)" \
      "$(echo "$m $base" | awk '{printf "%.2f×", $1/$2}')" "$(echo ${waits[$w]} | sed 's/ / · /g')"
  done
} > "$out"
bench/write-section.sh grpc-windows "$out"
cat "$out"
