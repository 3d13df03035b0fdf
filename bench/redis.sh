#!/usr/bin/env bash
# The Redis limiters on loopback: (1) checks/s and latency per check (p50/p99) of one
# RedisTokenBucketLimiter with 1 and 16 concurrent callers; (2) the server's requests/s on
# /limited/token-bucket (one client: every request is from 127.0.0.1; a bucket that never runs dry) with the in-process limiter and
# with Backpressure:Store=redis, measured with wrk. Harness and server on core 0; redis-server and
# wrk on core 1. ROUNDS interleaved rounds (A B A B ...) after a warm-up; medians written into
# docs/benchmarks.md. Usage: bench/redis.sh [SECONDS=5] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
seconds=${1:-5}
rounds=${2:-3}
scripts/bootstrap.sh redis-server wrk curl
dotnet build bench/Backpressure.Benchmarks -c Release --nologo -v quiet >/dev/null
dotnet build src/Backpressure.Server -c Release --nologo -v quiet >/dev/null

redis_port=$((20000 + RANDOM % 20000))
taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
redis=$!
pids=("$redis")
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break; sleep 0.1; done
config="127.0.0.1:$redis_port"

checks() { taskset -c 0 dotnet bench/Backpressure.Benchmarks/bin/Release/net10.0/Backpressure.Benchmarks.dll redis-checks "$config" "$1" "$seconds"; }
declare -A rate p50 p99
for r in $(seq 1 "$rounds"); do
  for callers in 1 16; do
    read -r _ cps q50 q99 < <(checks "$callers")
    rate[$callers]="${rate[$callers]:-} $cps"; p50[$callers]="${p50[$callers]:-} $q50"; p99[$callers]="${p99[$callers]:-} $q99"
    echo "round $r, $callers callers: $cps checks/s, p50 $q50 µs, p99 $q99 µs" >&2
  done
done

start_server() {
  local port=$1; shift
  taskset -c 0 dotnet src/Backpressure.Server/bin/Release/net10.0/Backpressure.Server.dll --urls "http://127.0.0.1:$port" \
    --Backpressure:Grpc:Url=http://127.0.0.1:0 --Logging:LogLevel:Default=Warning \
    --Backpressure:RateLimits:token-bucket:TokenLimit=1000000000 --Backpressure:RateLimits:token-bucket:TokensPerPeriod=1000000000 "$@" >/dev/null 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/overhead/bare" >/dev/null && break; sleep 0.2; done
}
memory_port=$((redis_port + 1)); redis_store_port=$((redis_port + 2))
start_server "$memory_port"
start_server "$redis_store_port" --Backpressure:Store=redis "--Backpressure:Redis:Configuration=$config"
load() { taskset -c 1 wrk -t1 -c32 -d"$2"s "http://127.0.0.1:$1/limited/token-bucket" | awk '/Requests\/sec/ {print $2}'; }
echo "warming up for 30 s" >&2
load "$memory_port" 15 >/dev/null; load "$redis_store_port" 15 >/dev/null
declare -A rps
for r in $(seq 1 "$rounds"); do
  for store in memory redis; do
    port=$([ "$store" = memory ] && echo "$memory_port" || echo "$redis_store_port")
    v=$(load "$port" "$seconds")
    rps[$store]="${rps[$store]:-} $v"
    echo "round $r, $store store: $v requests/s" >&2
  done
done

out=$(mktemp)
{
  echo "$(measured_on) with \`bench/redis.sh $seconds $rounds\`, Redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -d= -f2) on loopback:"
  echo "harness and server on core 0, \`redis-server\` and \`wrk\` on core 1, $rounds interleaved rounds of $seconds s."
  echo
  echo "| concurrent callers | checks/s per round | median checks/s | median p50 (µs) | median p99 (µs) |"
  echo "|---:|---|---:|---:|---:|"
  for callers in 1 16; do
    printf '| %s | %s | %s | %s | %s |\n' "$callers" "$(dots "${rate[$callers]}")" "$(echo "${rate[$callers]}" | median)" "$(echo "${p50[$callers]}" | median)" "$(echo "${p99[$callers]}" | median)"
  done
  echo
  mem=$(echo "${rps[memory]}" | median); red=$(echo "${rps[redis]}" | median)
  echo "| \`/limited/token-bucket\`, one client, \`wrk -c32\` | requests/s per round | median | vs in-process |"
  echo "|---|---|---:|---:|"
  printf '| in-process limiter | %s | %.0f | 1.00 |\n' "$(dots "${rps[memory]}")" "$mem"
  printf '| `Backpressure:Store=redis` | %s | %.0f | %.2f |\n' "$(dots "${rps[redis]}")" "$red" "$(echo "$red $mem" | awk '{print $1/$2}')"
} > "$out"
bench/write-section.sh redis "$out"
cat "$out"
