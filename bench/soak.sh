#!/usr/bin/env bash
# Soak (issue 20): the server at 10x overload for MINUTES minutes on the gauge (/backpressure) and the adaptive
# limit (/adaptive) at once, each offered open-loop (bp load --rate) ten times the gauge's capacity, with WebSocket
# slow consumers (feed and ingest, half of them slow) and gRPC slow readers attached the whole time. Every second
# it samples the server's resident set, GC heap, threads and permits in flight. It reports the resident set's slope
# (a least-squares line over the samples after the first minute, with a 95 % interval), checks the accounting
# identities (the server's admitted + refused = the responses the clients saw, per endpoint; every WebSocket queue's
# enqueued = delivered + dropped + queued) and that no permit is left in flight once the load stops, draws
# docs/soak.png and writes the section "soak" of docs/benchmarks.md.
# Server on core 0 (GC heap limit 1 GiB, as in overload.sh), every client on core 1.
# Usage: bench/soak.sh [MINUTES=10]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
minutes=${1:-10}
command="bench/soak.sh $minutes"
seconds=$((minutes * 60))
scripts/bootstrap.sh jq curl gnuplot
dotnet build src/Backpressure.Cli -c Release --nologo -v quiet >/dev/null
bin=src/Backpressure.Cli/bin/Release/net10.0
bp=(dotnet "$bin/bp.dll")
work=$(mktemp -d)
server=""
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

jq --argjson b $((1024 * 1048576)) '.runtimeOptions.configProperties["System.GC.HeapHardLimit"] = $b' \
  "$bin/Backpressure.Server.runtimeconfig.json" > "$work/limited.runtimeconfig.json"
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
grpc="http://127.0.0.1:$((port + 1))"
taskset -c 0 dotnet exec --runtimeconfig "$work/limited.runtimeconfig.json" "$bin/Backpressure.Server.dll" \
  --urls "$url" --Backpressure:Grpc:Url="$grpc" --Logging:LogLevel:Default=Warning \
  --Backpressure:WebSockets:SlowClientGracePeriod=00:00:30 >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$url/overhead/bare" >/dev/null && break; sleep 0.2; done
curl -sf "$url/overhead/bare" >/dev/null || { echo "the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }

limit=$(jq '.Backpressure.Gauges.backpressure.PermitLimit' "$bin/appsettings.json")
service_ms=$(jq -r '.SeedWork | [.CpuTime, .IoTime] | map(split(":") | (.[0]|tonumber)*3600000 + (.[1]|tonumber)*60000 + (.[2]|tonumber)*1000) | add' "$bin/appsettings.json")
rate=$(awk -v l="$limit" -v s="$service_ms" 'BEGIN {printf "%.0f", 10 * l / (s / 1000)}')
echo "soak: $minutes min, $rate requests/s to each of /backpressure and /adaptive (10x the gauge's capacity)" >&2

# Every client runs on core 1 for the whole soak; each ends by itself after $seconds.
client() { taskset -c 1 "${bp[@]}" "$@"; }
client load "$url/backpressure" --rate "$rate" -c 64 -z "${seconds}s" -t 30s -o json > "$work/gauge.json" & pids+=($!)
client load "$url/adaptive" --rate "$rate" -c 64 -z "${seconds}s" -t 30s -o json > "$work/adaptive.json" & pids+=($!)
client ws "ws://127.0.0.1:$port/ws/feed?policy=drop-oldest&queue=100&rate=200&size=1024" -c 20 --slow 10 --read-delay 50ms -z "${seconds}s" -o json > "$work/feed.json" & pids+=($!)
client ws "ws://127.0.0.1:$port/ws/ingest?policy=block&queue=50&rate=100" -c 6 --slow 3 --send-rate 200 -z "${seconds}s" -o json > "$work/ingest.json" & pids+=($!)
client grpc subscribe "$grpc" -c 4 --size 16KB --read-delay 100ms --window 64KB -z "${seconds}s" -o json > "$work/grpc.json" & pids+=($!)

# One sample a second: elapsed s, RSS MiB, GC heap MiB, threads, permits in flight (gauge, adaptive).
sample() {
  local t=$1 stats threads
  stats=$(curl -sf --max-time 2 "$url/stats") || { echo "$t" >> "$work/unanswered"; return 0; }
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$server/status")
  jq -r --arg t "$t" --arg threads "$threads" \
    '[$t, (.memory.working_set / 1048576), (.memory.gc_heap_size / 1048576), $threads, .gauges.backpressure.in_flight, .gauges.adaptive.in_flight] | @tsv' \
    <<< "$stats" >> "$work/samples.tsv"
}
: > "$work/unanswered"
start=$(date +%s)
while [ $(($(date +%s) - start)) -lt "$seconds" ] && kill -0 "$server" 2>/dev/null; do
  sample $(($(date +%s) - start))
  sleep 1
done
for p in "${pids[@]}"; do wait "$p" || true; done
pids=()
kill -0 "$server" 2>/dev/null || { echo "the server died during the soak" >&2; cat "$work/server.log" >&2; exit 1; }

# Drain: every admitted call ends within its service time; wait (at most 30 s) for the permits to come back.
for _ in $(seq 1 30); do
  curl -sf "$url/stats" > "$work/final.json"
  [ "$(jq '.gauges.backpressure.in_flight + .gauges.adaptive.in_flight' "$work/final.json")" = 0 ] && break
  sleep 1
done
sample $(($(date +%s) - start))

# The identities. Client side: every response seen (200, 429, 503); timeouts are none of them (the server decided, the client had gone).
answered() { jq '.succeeded + .refused + .errors' "$1"; }
timeouts() { jq '.timeouts' "$1"; }
decided() { jq --arg g "$2" '.gauges[$g].accepted + .gauges[$g].refused' "$1"; }
gauge_seen=$(answered "$work/gauge.json"); gauge_decided=$(decided "$work/final.json" backpressure)
adaptive_seen=$(answered "$work/adaptive.json"); adaptive_decided=$(decided "$work/final.json" adaptive)
in_flight_end=$(jq '.gauges.backpressure.in_flight + .gauges.adaptive.in_flight' "$work/final.json")
queues=$(jq -r '.web_sockets.endpoints | to_entries[] | "\(.key) \(.value.enqueued) \(.value.delivered) \(.value.dropped) \(.value.queued)"' "$work/final.json")
rss_end=$(tail -1 "$work/samples.tsv" | cut -f2)

# Least squares of RSS (MiB) on time (min) after the first minute; the interval is 1.96 standard errors (the
# samples are autocorrelated, so the interval is narrower than the truth: read it as a lower bound on the noise).
slope=$(awk -F'\t' -v s="$seconds" '$1 >= 60 && $1 <= s { x = $1 / 60; y = $2; n++; sx += x; sy += y; sxx += x*x; sxy += x*y; xs[n] = x; ys[n] = y }
  END {
    if (n < 3) { printf "n/a n/a %d n/a n/a", n; exit }
    b = (n * sxy - sx * sy) / (n * sxx - sx * sx); a = (sy - b * sx) / n
    for (i = 1; i <= n; i++) { r = ys[i] - a - b * xs[i]; sse += r * r }
    se = sqrt(sse / (n - 2) / (sxx - sx * sx / n))
    printf "%.2f %.2f %d %.1f %.1f", b, 1.96 * se, n, a + b * 1, a + b * s / 60
  }' "$work/samples.tsv")
read -r slope_mib ci_mib samples rss_fit_start rss_fit_end <<< "$slope"
unanswered=$(wc -l < "$work/unanswered")
answered_samples=$(wc -l < "$work/samples.tsv")
peak_rss=$(cut -f2 "$work/samples.tsv" | sort -g | tail -1 | xargs printf '%.0f')
peak_heap=$(cut -f3 "$work/samples.tsv" | sort -g | tail -1 | xargs printf '%.0f')
peak_threads=$(cut -f4 "$work/samples.tsv" | sort -g | tail -1)

ok() { [ "$1" = "$2" ] && echo "exact ($1)" || echo "**differs**: $1 vs $2"; }
{
  echo "$(measured_on) with \`$command\`:"
  echo "Release build, server pinned to core 0 under a 1 GiB GC heap limit, every client on core 1. For $minutes minutes: \`bp load --rate $rate\` (10x the gauge's capacity of $limit calls per ${service_ms} ms) to \`/backpressure\` and to \`/adaptive\` at once; 20 \`/ws/feed\` subscribers (drop-oldest, 200 msg/s of 1 KiB; 10 read with 50 ms pauses), 6 \`/ws/ingest\` senders (block; 3 ignore flow.pause) and 4 gRPC \`Subscribe\` readers with 100 ms pauses and 64 KiB windows."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| crash | none: the server answered $answered_samples of $((answered_samples + unanswered)) \`/stats\` samples within 2 s (one a second, $samples after the first minute fitted below) |"
  echo "| resident set slope after the first minute | $slope_mib MiB/min ± $ci_mib (95 %; fitted $rss_fit_start → $rss_fit_end MiB) |"
  echo "| peak resident set / GC heap / threads | $peak_rss MiB / $peak_heap MiB / $peak_threads |"
  echo "| \`/backpressure\`: admitted + refused (server) = responses seen (client) | $(ok "$gauge_decided" "$gauge_seen"); client timeouts $(timeouts "$work/gauge.json") |"
  echo "| \`/adaptive\`: admitted + refused (server) = responses seen (client) | $(ok "$adaptive_decided" "$adaptive_seen"); client timeouts $(timeouts "$work/adaptive.json") |"
  while read -r endpoint enqueued delivered dropped queued; do
    echo "| \`/ws/$endpoint\`: enqueued = delivered + dropped + queued | $(ok "$enqueued" "$((delivered + dropped + queued))") ($enqueued = $delivered + $dropped + $queued) |"
  done <<< "$queues"
  echo "| permits in flight once the load stopped | $in_flight_end |"
  echo "| goodput \`/backpressure\` / \`/adaptive\` | $(jq '.goodput_per_second | floor' "$work/gauge.json") / $(jq '.goodput_per_second | floor' "$work/adaptive.json") calls/s |"
  echo
  echo "![Resident set, GC heap, threads and permits in flight over the soak](soak.png)"
} > "$work/soak.md"

gnuplot <<EOF
set terminal pngcairo size 1200,480 font "sans,11"
set output "docs/soak.png"
set title "Soak: 10x overload on /backpressure and /adaptive with slow WebSocket and gRPC consumers"
set xlabel "seconds"
set ylabel "MiB"
set y2label "threads, permits in flight"
set y2tics
set ytics nomirror
set key outside right
set datafile separator "\t"
plot "$work/samples.tsv" using 1:2 with lines lw 2 title "resident set (MiB)", \
     "$work/samples.tsv" using 1:3 with lines lw 2 title "GC heap (MiB)", \
     "$work/samples.tsv" using 1:4 axes x1y2 with lines title "threads", \
     "$work/samples.tsv" using 1:(\$5 + \$6) axes x1y2 with lines title "permits in flight"
EOF
bench/write-section.sh soak "$work/soak.md"
cat "$work/soak.md"
