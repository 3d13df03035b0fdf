#!/usr/bin/env bash
# Fan-out throughput of /ws/feed: messages delivered per second over N fast `bp ws` clients, for
# N in 1 10 100, with the server on core 0 and bp on core 1, one warm-up run first, then ROUNDS
# interleaved rounds (N1 N2 N3 N1 N2 N3 ...). The offered load is TOTAL messages/s split evenly
# over the N clients, so rows differ only in fan-out. Writes medians into docs/benchmarks.md.
# Usage: bench/websocket-fanout.sh [SECONDS=8] [ROUNDS=3] [PAYLOAD=64] [TOTAL=200000]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
seconds=${1:-8}
rounds=${2:-3}
payload=${3:-64}
total=${4:-200000}
clients=(1 10 100)
scripts/bootstrap.sh jq curl
dotnet build src/Backpressure.Cli -c Release --nologo -v quiet >/dev/null
bin=src/Backpressure.Cli/bin/Release/net10.0

port=$((20000 + RANDOM % 20000))
taskset -c 0 dotnet "$bin/Backpressure.Server.dll" --urls "http://127.0.0.1:$port" --Backpressure:Grpc:Url=http://127.0.0.1:0 --Logging:LogLevel:Default=Warning --Backpressure:WebSockets:MaxFeedRate=1000000 >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/stats" >/dev/null && break; sleep 0.2; done

url() { echo "ws://127.0.0.1:$port/ws/feed?policy=drop-oldest&queue=1000&rate=$((total / $1))&size=$payload"; }
run() { taskset -c 1 dotnet "$bin/bp.dll" ws "$(url "$1")" -c "$1" -z "$2"s -o json; }
# Delivered = received by clients; dropped = what the server's queues dropped because the clients (sharing one core) fell behind.
delivered() { jq '[.[].received] | add'; }
gaps() { jq '[.[].gaps] | add'; }

echo "warming up" >&2
run 10 10 >/dev/null

declare -A rate loss
for r in $(seq 1 "$rounds"); do
  for n in "${clients[@]}"; do
    json=$(run "$n" "$seconds")
    per=$(echo "$json" | delivered | awk -v s="$seconds" '{printf "%.0f", $1/s}')
    lost=$(echo "$json" | gaps)
    rate[$n]="${rate[$n]:-} $per"
    loss[$n]="${loss[$n]:-} $lost"
    echo "round $r clients $n: $per msg/s delivered, $lost lost to drop-oldest" >&2
  done
done

out=$(mktemp)
{
  echo "$(measured_on) with \`bench/websocket-fanout.sh $seconds $rounds $payload $total\`:"
  echo "server on core 0, \`bp ws\` on core 1, $total messages/s offered in all (split over the clients), payload $payload bytes, queue 1000 drop-oldest, $rounds interleaved rounds of $seconds s after a 10 s warm-up."
  echo
  echo "| clients | delivered msg/s (all clients) per round | median | share of offered | messages lost to drop-oldest per round |"
  echo "|---:|---|---:|---:|---|"
  for n in "${clients[@]}"; do
    m=$(echo "${rate[$n]}" | median)
    printf '| %s | %s | %.0f | %s | %s |\n' "$n" "$(echo ${rate[$n]} | sed 's/ / · /g')" "$m" "$(echo "$m $total" | awk '{printf "%.1f %%", 100*$1/$2}')" "$(echo ${loss[$n]} | sed 's/ / · /g')"
  done
} > "$out"
bench/write-section.sh websocket-fanout "$out"
cat "$out"
