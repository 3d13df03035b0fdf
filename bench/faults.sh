#!/usr/bin/env bash
# Issue 20's fault figures, written into docs/benchmarks.md:
#  memory-budget: 10 /ws/feed clients that read, joined by 500 that never read (queue=1000, size=16384: 1 MiB each by
#     the per-connection limit), for SECONDS s, at the feed's default rate (100/s) with the default budget (a quarter
#     of the memory available to the GC), 256 MiB, 64 MiB, and the default with the socket send buffers left to Linux,
#     and at 10/s with the default and 16 MiB: the server's peak resident set, the budget's peak use, the kernel's send
#     queues, and what the fast clients lost.
#  redis-hang: /limited/token-bucket under bp load --rate 200 with Backpressure:Store=redis for 30 s; redis-server is
#     stopped (SIGSTOP) from 10 s to 20 s. Reports p50/p99/max of every response, how many the failure policy
#     answered (backpressure.redis.unavailable), and how long after SIGCONT the store used Redis again.
# Server on core 0, clients and redis-server on core 1.
# Usage: bench/faults.sh [SECONDS=20]; PARTS="memory-budget redis-hang" (the default) chooses the parts.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
seconds=${1:-20}
parts=${PARTS:-memory-budget redis-hang}
command="bench/faults.sh $seconds"
scripts/bootstrap.sh jq curl redis-server iproute2
dotnet build src/Backpressure.Cli -c Release --nologo -v quiet >/dev/null
bin=src/Backpressure.Cli/bin/Release/net10.0
bp=(taskset -c 1 dotnet "$bin/bp.dll")
work=$(mktemp -d)
server=""
redis=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; [ -n "$redis" ] && kill -CONT "$redis" 2>/dev/null && kill "$redis" 2>/dev/null; rm -rf "$work"' EXIT

# Starts a server on core 0 with the given settings; sets $server, $url and $port.
start_server() {
  launch_server taskset -c 0 dotnet "$bin/Backpressure.Server.dll" --Backpressure:Grpc:Url=http://127.0.0.1:0 \
    --Logging:LogLevel:Default=Warning "$@"
}

budget_row() {
  local label=$1 rate=$2
  shift 2
  start_server --Backpressure:WebSockets:SlowClientGracePeriod=00:05:00 "$@"
  local before feed="ws://127.0.0.1:$port/ws/feed?policy=drop-oldest&queue=1000&size=16384&rate=$rate"
  before=$(awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$server/status")
  # The 10 fast clients are being served when the 500 arrive at once, 3 s later, and stop reading after their first
  # message (a pause of an hour). Each group is its own bp process; the stalled group's is niced, so that its start-up
  # (500 connections at once on the same core) does not starve the readers: the fast clients measure the server.
  "${bp[@]}" ws "$feed" -c 10 -z "$((seconds + 3))s" -o json > "$work/fast.json" &
  local fast=$!
  sleep 3
  nice -n 10 "${bp[@]}" ws "$feed" -c 500 --slow 500 --read-delay 1h -z "${seconds}s" -o json > "$work/stalled.json" &
  local stalled=$!
  # The kernel's send queues towards the clients, once the stalled ones have settled.
  sleep "$((seconds / 2))"
  local send_queues
  send_queues=$(ss -tnH state established "( sport = :$port )" | awk '{s += $2} END {printf "%d", s / 1048576}')
  wait "$stalled" "$fast" || true
  local peak stats
  peak=$(awk '/^VmHWM:/ {print int($2 / 1024)}' "/proc/$server/status")
  stats=$(curl -sf "$url/stats")
  local limit used pressure fast_received fast_gaps fast_count slow_dropped
  limit=$(jq '.memory_budget.limit_bytes / 1048576 | floor' <<< "$stats")
  used=$(jq '.memory_budget.peak_used_bytes / 1048576 * 10 | floor / 10' <<< "$stats")
  pressure=$(jq '.memory_budget.pressure_events' <<< "$stats")
  slow_dropped=$(jq '.web_sockets.endpoints.feed.dropped' <<< "$stats")
  fast_count=$(jq 'length' "$work/fast.json")
  fast_received=$(jq '[.[] | .received] | add' "$work/fast.json")
  fast_gaps=$(jq '[.[] | .gaps] | add' "$work/fast.json")
  printf '| %s | %s | %s MiB | %s MiB | %s | %s → %s MiB | %s MiB | %s | %s fast clients: %s messages, %s gaps |\n' \
    "$rate" "$label" "$limit" "$used" "$pressure" "$before" "$peak" "$send_queues" "$slow_dropped" "$fast_count" "$fast_received" "$fast_gaps" >> "$work/budget.md"
  echo "memory-budget: $label done" >&2
  stop_server
}

memory_budget() {
  {
    echo "$(measured_on) with \`PARTS=memory-budget $command\`:"
    echo "Release build, server on core 0, \`bp ws\` on core 1: 10 \`/ws/feed?policy=drop-oldest&queue=1000&size=16384&rate=RATE\` subscribers that read everything, joined 3 s later by 500 that read one message and then never again, for $seconds s, with a slow-client grace period of 5 minutes (so that the budget, not the slow-client rule, is what holds them). Each stalled subscriber may queue 1 MiB (the per-connection limit), 500 MiB in all; a budget divides what it allows among 510 queues (a share of 128 KiB at 64 MiB: 8 messages). \"kernel send queues\" is the sum of the server's socket send queues halfway through; the row with \`SocketSendBufferBytes=0\` leaves the send buffers to Linux, as before they were bounded."
    echo
    echo "| rate | budget | limit | peak held | messages that found it full | server resident set (start → peak) | kernel send queues | messages dropped | fast clients |"
    echo "|---:|---|---:|---:|---:|---|---:|---:|---|"
  } > "$work/budget.md"
  budget_row "default (a quarter of the GC's memory)" 100
  budget_row "configured: 256 MiB" 100 --Backpressure:MemoryBudget:QueueBytes=$((256 * 1048576))
  budget_row "configured: 64 MiB" 100 --Backpressure:MemoryBudget:QueueBytes=$((64 * 1048576))
  budget_row "default, send buffers left to Linux (\`SocketSendBufferBytes=0\`)" 100 --Backpressure:WebSockets:SocketSendBufferBytes=0
  budget_row "default (a quarter of the GC's memory)" 10
  budget_row "configured: 16 MiB" 10 --Backpressure:MemoryBudget:QueueBytes=$((16 * 1048576))
  bench/write-section.sh memory-budget "$work/budget.md"
  cat "$work/budget.md"
}

metric() { curl -sf "$url/metrics" | awk -v m="$1" '$1 ~ "^"m"(\\{|$)" {sum += $2} END {print sum + 0}'; }

redis_hang() {
  local redis_port=$((40000 + RANDOM % 10000)) timeout_ms=250
  taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
  redis=$!
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  start_server --Backpressure:Store=redis --Backpressure:Redis:Configuration="127.0.0.1:$redis_port,abortConnect=false" \
    --Backpressure:Redis:Timeout=00:00:00.$timeout_ms --Backpressure:RateLimits:token-bucket:TokenLimit=1000000 \
    --Backpressure:RateLimits:token-bucket:TokensPerPeriod=1000000
  "${bp[@]}" load "$url/limited/token-bucket" --rate 100 -c 16 -z 5s >/dev/null
  "${bp[@]}" load "$url/limited/token-bucket" --rate 200 -c 64 -z 30s -t 10s -o json > "$work/hang.json" &
  local load=$!
  sleep 10
  local unavailable_before
  unavailable_before=$(metric backpressure_redis_unavailable_total)
  kill -STOP "$redis"
  sleep 10
  local stopped_answers
  stopped_answers=$(( $(metric backpressure_redis_unavailable_total) - unavailable_before ))
  kill -CONT "$redis"
  local continued recovered="" last now
  continued=$(date +%s.%N)
  last=$(metric backpressure_redis_unavailable_total)
  # Recovered when the failure policy has answered nothing for 500 ms while the load goes on.
  for _ in $(seq 1 100); do
    sleep 0.5
    now=$(metric backpressure_redis_unavailable_total)
    if [ "$now" = "$last" ]; then
      recovered=$(awk -v a="$continued" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a - 0.5}')
      break
    fi
    last=$now
  done
  wait "$load" || true
  {
    echo "$(measured_on) with \`PARTS=redis-hang $command\`:"
    echo "Release build, server on core 0, \`bp load --rate 200 -c 64\` and redis-server on core 1, \`Backpressure:Redis:Timeout\` ${timeout_ms} ms, failure policy fail-open (the default), a bucket that never runs dry; redis-server stopped (SIGSTOP) 10 s into a 30 s run, continued (SIGCONT) 10 s later."
    echo
    echo "| responses | p50 | p99 | slowest | errors | answered by the failure policy while stopped | Redis used again after SIGCONT |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    jq -r --arg answers "$stopped_answers" --arg recovered "${recovered:-never (50 s)}" \
      '"| \(.succeeded + .refused + .errors) | \(.latency.percentiles.p50 * 1000 | floor) ms | \(.latency.percentiles.p99 * 1000 | floor) ms | \(.latency.slowest_seconds * 1000 | floor) ms | \(.errors + .timeouts) | \($answers) | \($recovered) s |"' "$work/hang.json"
  } > "$work/hang.md"
  stop_server
  kill "$redis" 2>/dev/null || true
  redis=""
  bench/write-section.sh redis-hang "$work/hang.md"
  cat "$work/hang.md"
}

for part in $parts; do
  case $part in
    memory-budget) memory_budget ;;
    redis-hang) redis_hang ;;
    *) echo "unknown part $part" >&2; exit 1 ;;
  esac
done
