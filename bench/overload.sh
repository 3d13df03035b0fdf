#!/usr/bin/env bash
# Every server figure in one command, written into docs/benchmarks.md:
#  1. http-overhead: requests/s of a trivial endpoint bare, behind our gauge, and behind ASP.NET
#     Core's rate-limiting middleware with a ConcurrencyLimiter of the same limit, with wrk, after
#     30 s of warm-up, ROUNDS interleaved rounds (A B C A B C ...) of 10 s.
#  2. overload: the seed work offered open-loop (bp load --rate) at 0.5, 1, 2, 5 and 10 times the
#     service's capacity (gauge limit / service time of one call) to /async (no limit),
#     /backpressure (our gauge) and /aspnet-concurrency (the middleware, same limit): a fresh
#     server per row, WARMUP s at the row's rate uncounted, then SECONDS s measured. Two more rows
#     at 10x run the server with a thread-pool floor of 16 (see docs/benchmarks.md for why).
#     Also draws docs/overload.png (goodput and p99 against offered load) with gnuplot.
#  3. adaptive: /adaptive against a sweep of static limits on /backpressure, at 10x offered load,
#     for the default CpuTime and for half of it (which the adaptive limit is not told): the best
#     static limit whose admitted p99 stays within 2x the p50 at 0.5x is the yardstick.
#  4. overload-crosscheck: one point measured by bp, hey and wrk side by side (closed loop, as
#     neither has an open-loop mode), so bp's counting and timing are checked against theirs.
# The server always runs on core 0 and the load generator on core 1.
# Usage: bench/overload.sh [SECONDS=15] [ROUNDS=5] [WARMUP=10]
# PARTS="overhead overload adaptive crosscheck" (the default) chooses which parts run; PARTS=priorities runs
# the mixed-priority row of issue 17 and PARTS=retries the retry storm of issue 18 (neither in the default set).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
seconds=${1:-15}
rounds=${2:-5}
warmup=${3:-10}
command="bench/overload.sh $seconds $rounds $warmup"
scripts/bootstrap.sh jq curl wrk hey gnuplot
dotnet build src/Backpressure.Cli -c Release --nologo -v quiet >/dev/null
bin=src/Backpressure.Cli/bin/Release/net10.0
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

# Every server runs under a GC heap limit of 1 GiB, as a container would (the seed used 200 MB):
# well above what the protected endpoints need at any load, so only /async can reach it. The limits
# are the documented runtime settings a deployment would use (runtimeconfig.json).
heap_limit_mib=1024
jq --argjson b $((heap_limit_mib * 1048576)) '.runtimeOptions.configProperties["System.GC.HeapHardLimit"] = $b' \
  "$bin/Backpressure.Server.runtimeconfig.json" > "$work/limited.runtimeconfig.json"
jq '.runtimeOptions.configProperties["System.Threading.ThreadPool.MinThreads"] = 16' \
  "$work/limited.runtimeconfig.json" > "$work/floor.runtimeconfig.json"

# Starts a server on core 0 at a fresh port and waits until it answers; sets $server and $url.
# Usage: start_server [RUNTIMECONFIG]
# Settings in the array server_args are passed on to the server.
server_args=()
start_server() {
  launch_server taskset -c 0 dotnet exec --runtimeconfig "${1:-$work/limited.runtimeconfig.json}" "$bin/Backpressure.Server.dll" \
    --Backpressure:Grpc:Url=http://127.0.0.1:0 --Logging:LogLevel:Default=Warning "${server_args[@]}"
}

overhead() {
  local endpoints=(bare gauge rate-limiter) connections=32
  start_server
  wrk_rps() { taskset -c 1 wrk -t1 -c"$connections" -d"$2"s "$url/overhead/$1" | awk '/Requests\/sec/ {print $2}'; }
  echo "overhead: warming up for 30 s" >&2
  for e in "${endpoints[@]}"; do wrk_rps "$e" 10 >/dev/null; done
  declare -A results
  for r in $(seq 1 "$rounds"); do
    for e in "${endpoints[@]}"; do
      rps=$(wrk_rps "$e" 10)
      results[$e]="${results[$e]:-} $rps"
      echo "overhead: round $r $e $rps" >&2
    done
  done
  stop_server

  # Each round's endpoints ran back to back, so a round's ratio to bare cancels most of the
  # machine's drift between rounds; the table gives the median of those ratios.
  local -a bare_rounds
  read -r -a bare_rounds <<< "${results[bare]}"
  {
    echo "$(measured_on) with \`$command\`:"
    echo "Release build, server pinned to core 0, \`wrk -t1 -c$connections\` pinned to core 1, $rounds interleaved rounds of 10 s after 30 s of warm-up. \"vs bare\" is the median over rounds of each round's ratio to that round's bare run."
    echo
    echo "| endpoint | requests/s per round | median | vs bare |"
    echo "|---|---|---:|---:|"
    for e in "${endpoints[@]}"; do
      local -a these
      read -r -a these <<< "${results[$e]}"
      local ratios="" i
      for i in "${!these[@]}"; do
        ratios="$ratios $(awk -v a="${these[$i]}" -v b="${bare_rounds[$i]}" 'BEGIN {print a / b}')"
      done
      printf '| `/overhead/%s` | %s | %.0f | %.3f |\n' "$e" "$(dots "${results[$e]}")" "$(echo "${results[$e]}" | median)" "$(echo "$ratios" | median)"
    done
  } > "$work/overhead.md"
  bench/write-section.sh http-overhead "$work/overhead.md"
  cat "$work/overhead.md"
}

limit=$(jq '.Backpressure.Gauges.backpressure.PermitLimit' "$bin/appsettings.json")
service_ms=$(jq -r '.SeedWork | [.CpuTime, .IoTime] | map(split(":") | (.[0]|tonumber)*3600000 + (.[1]|tonumber)*60000 + (.[2]|tonumber)*1000) | add' "$bin/appsettings.json")
capacity=$(awk -v l="$limit" -v s="$service_ms" 'BEGIN {printf "%.2f", l / (s / 1000)}')

# One overload row, appended to $rows (default $work/rows.tsv). Usage: row ENDPOINT FACTOR VARIANT [RUNTIMECONFIG]
row() {
  local endpoint=$1 factor=$2 variant=$3 rate peak alive sampler
  local rows=${rows:-$work/rows.tsv}
  start_server "${4:-}"
  # The kernel's high-water mark of the server's resident set (what /stats calls its peak working
  # set), sampled from /proc because an overloaded server may not answer /stats, or may not survive.
  echo 0 > "$work/peak"
  (
    for _ in $(seq 1 $(( (warmup + seconds + 60) * 4 ))); do
      v=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$server/status" 2>/dev/null) || break
      [ -n "$v" ] && echo "$v" > "$work/peak"
      sleep 0.25
    done
  ) &
  sampler=$!
  rate=$(awk -v c="$capacity" -v f="$factor" 'BEGIN {printf "%.2f", c * f}')
  echo "overload: $endpoint ($variant) at ${factor}x = $rate/s" >&2
  if ! taskset -c 1 dotnet "$bin/bp.dll" load "$url$endpoint" --rate "$rate" --warmup "${warmup}s" -z "${seconds}s" \
    -c 2000 --timeout 10s -o json > "$work/run.json"; then
    echo "bp load failed on $endpoint at ${factor}x" >&2
    exit 1
  fi
  if kill -0 "$server" 2>/dev/null; then
    alive=yes
  else
    alive=no
    echo "the server died on $endpoint at ${factor}x; the end of its output:" >&2
    tail -n 5 "$work/server.log" >&2
  fi
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  peak=$(cat "$work/peak")
  stop_server
  jq -r --arg e "$endpoint" --arg v "$variant" --arg f "$factor" --arg r "$rate" --arg c "$capacity" --arg p "$peak" --arg a "$alive" '
    def ms: . * 1000 | . * 10 | round / 10;
    [$e, $v, $f, $r, (.goodput_per_second * 100 | round / 100), ((.goodput_per_second / ($c|tonumber)) * 100 | round),
     (.success_latency.percentiles.p50 | ms), (.success_latency.percentiles.p99 | ms), (.success_latency.slowest_seconds | ms),
     (.refusal_latency.percentiles.p99 | ms), .refused, .errors, .timeouts, $p, $a, (.send_lag.percentiles.p99 | ms)] | @tsv' \
    "$work/run.json" >> "$rows"
}

overload() {
  : > "$work/rows.tsv"
  for endpoint in /async /backpressure /aspnet-concurrency; do
    for factor in 0.5 1 2 5 10; do
      row "$endpoint" "$factor" default
    done
  done
  for endpoint in /backpressure /aspnet-concurrency; do
    row "$endpoint" 10 "pool floor 16" "$work/floor.runtimeconfig.json"
  done

  {
    echo "$(measured_on) with \`$command\`:"
    echo "capacity = gauge limit $limit / service time ${service_ms} ms = $capacity calls/s. A fresh server per row, under a GC heap limit of $heap_limit_mib MiB; open-loop load at the row's rate for $warmup s uncounted, then $seconds s measured; latencies from each request's due time; \`bp\`'s own send lag (p99) in the last column."
    echo
    echo "| endpoint | server | offered | offered/s | goodput/s | of capacity | p50 ok ms | p99 ok ms | max ok ms | p99 429 ms | 429 | errors | timeouts | peak RSS MiB | server alive after | send lag p99 ms |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
    awk -F'\t' '{printf "| `%s` | %s | %s× | %s | %s | %s%% | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16}' "$work/rows.tsv"
    echo
    echo "![Goodput and p99 latency of successful calls against offered load](overload.png)"
  } > "$work/overload.md"
  bench/write-section.sh overload "$work/overload.md"
  cat "$work/overload.md"
  chart
}

# /adaptive at 10x against a sweep of static limits (the gauge at /backpressure with its limit
# set), for the default CpuTime and for half of it; writes the adaptive section.
adaptive() {
  local cpu_ms static_limits="10 15 20 25 30 40 50 60 80"
  : > "$work/adaptive.md"
  {
    echo "$(measured_on) with \`$command\` (part \`adaptive\`):"
    echo "Offered open-loop at 10x the nominal capacity ($capacity calls/s, the limit-10 gauge's) to one server on one core (core 0) per row, under a $heap_limit_mib MiB heap limit; $warmup s warm-up uncounted, $seconds s measured. The static limits are the gauge at \`/backpressure\` with \`PermitLimit\` set; a static limit is eligible when its admitted p99 stays within 2x the p50 of the limit-10 gauge at 0.5x. \`/adaptive\` is not told the CPU time."
  } >> "$work/adaptive.md"
  for cpu_ms in 20 10; do
    rows="$work/adaptive-$cpu_ms.tsv"
    : > "$rows"
    server_args=("--SeedWork:CpuTime=00:00:00.0$(printf '%02d' "$cpu_ms")")
    row /backpressure 0.5 "limit 10 (baseline)"
    for l in $static_limits; do
      server_args=("--SeedWork:CpuTime=00:00:00.0$(printf '%02d' "$cpu_ms")" "--Backpressure:Gauges:backpressure:PermitLimit=$l")
      row /backpressure 10 "static $l"
    done
    server_args=("--SeedWork:CpuTime=00:00:00.0$(printf '%02d' "$cpu_ms")")
    row /adaptive 10 adaptive
    server_args=()
    awk -F'\t' -v cpu="$cpu_ms" '
      NR == 1 { bound = 2 * $7; printf "\n#### CpuTime %s ms\n\nBound for eligibility: 2 x p50 at 0.5x = %.0f ms.\n\n| endpoint | limit | goodput/s | p50 ok ms | p99 ok ms | 429 | errors | timeouts | eligible |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n", cpu, bound; next }
      { ok = ($8 <= bound); printf "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $5, $7, $8, $11, $12, $13, (ok ? "yes" : "no")
        if ($2 == "adaptive") { a = $5; ap99 = $8 } else if (ok && $5 > best + 0) { best = $5; bestname = $2 }
        if ($2 == "static 10") { ten = $5 } }
      END { if (best == 0) { best = 1e-9; bestname = "none" } if (ten == 0) { ten = 1e-9 } printf "\n`/adaptive`: %.1f calls/s = %.0f%% of the best eligible static limit (%s, %.1f/s; target 90%%) and %.2fx the limit-10 gauge (%.1f/s; target 1.5x); its p99 %s ms against the bound %.0f ms.\n", a, 100 * a / best, bestname, best, a / ten, ten, ap99, bound }' "$rows" >> "$work/adaptive.md"
  done
  unset rows
  bench/write-section.sh adaptive-overload "$work/adaptive.md"
  cat "$work/adaptive.md"
}

# docs/overload.png: goodput and p99 of successful calls against offered load, one line per endpoint.
chart() {
  for endpoint in /async /backpressure /aspnet-concurrency; do
    awk -F'\t' -v e="$endpoint" '$1 == e && $2 == "default" {print $3, $5, $8}' "$work/rows.tsv" > "$work/${endpoint#/}.dat"
  done
  gnuplot <<EOF
set terminal pngcairo size 1200,480 font "sans,11"
set output "docs/overload.png"
set multiplot layout 1,2 title "Seed work offered open-loop at multiples of capacity ($capacity calls/s), $(date -u +%Y-%m-%d): $command"
set logscale x 2
set xtics ("0.5×" 0.5, "1×" 1, "2×" 2, "5×" 5, "10×" 10)
set xlabel "offered load (× capacity)"
set grid
set key top left
set ylabel "goodput (successful calls/s)"
set yrange [0:*]
plot "$work/async.dat" using 1:2 with linespoints lw 2 title "/async (no limit)", \
     "$work/backpressure.dat" using 1:2 with linespoints lw 2 title "/backpressure (our gauge)", \
     "$work/aspnet-concurrency.dat" using 1:2 with linespoints lw 2 dt 2 title "/aspnet-concurrency (middleware)", \
     $capacity with lines lc rgb "gray" dt 3 title "capacity"
set ylabel "p99 latency of successful calls (ms)"
set logscale y 10
set yrange [100:20000]
plot "$work/async.dat" using 1:3 with linespoints lw 2 title "/async (no limit)", \
     "$work/backpressure.dat" using 1:3 with linespoints lw 2 title "/backpressure (our gauge)", \
     "$work/aspnet-concurrency.dat" using 1:3 with linespoints lw 2 dt 2 title "/aspnet-concurrency (middleware)", \
     $service_ms + 50 with lines lc rgb "gray" dt 3 title "service time + 50 ms"
unset multiplot
EOF
  echo "wrote docs/overload.png" >&2
}

# hey's CSV has one line per request: response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset.
hey_summary() {
  awk -F, 'NR > 1 {n++; t[n] = $1; if ($7 ~ /^2/) ok++; else if ($7 == 429) refused++; end = ($8 + $1 > end) ? $8 + $1 : end}
    END {printf "%s %s %s %s ", n, ok, refused, end}' "$1"
  awk -F, 'NR > 1 {print $1 * 1000}' "$1" | sort -g | awk '{a[NR] = $1} END {printf "%s %s\n", a[int(NR * 0.5 + 0.5)], a[int(NR * 0.99 + 0.5)]}'
}

crosscheck() {
  local connections=20 endpoint=/backpressure
  start_server
  echo "cross-check: warming up for 30 s" >&2
  taskset -c 1 wrk -t1 -c"$connections" -d30s "$url$endpoint" >/dev/null
  {
    echo "$(measured_on) with \`$command\`:"
    echo "\`$endpoint\` in a closed loop of $connections connections for 10 s per tool, one server (core 0) after 30 s of warm-up, tools on core 1. Latencies are over all responses, 200s and 429s together. Rates divide by each tool's own elapsed time: wrk stops at 10 s and drops what is in flight, hey and bp wait for the last responses. wrk's latencies are left out: they are not per request (wg/wrk#114), and with 0.1 % of responses taking 520 ms it reports a p99 in the hundreds of milliseconds that its own request count rules out."
    echo
    echo "| tool | requests | requests/s | 2xx/s (goodput) | 429 share | p50 ms | p99 ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    taskset -c 1 dotnet "$bin/bp.dll" load "$url$endpoint" -c "$connections" -z 10s -o json > "$work/bp.json"
    jq -r '"| `bp load` | \(.requests) | \(.requests_per_second | round) | \(.goodput_per_second * 10 | round / 10) | \(.refused / .requests * 1000 | round / 10)% | \(.latency.percentiles.p50 * 1e4 | round / 10) | \(.latency.percentiles.p99 * 1e4 | round / 10) |"' "$work/bp.json"
    taskset -c 1 hey -c "$connections" -z 10s -o csv "$url$endpoint" > "$work/hey.csv"
    read -r n ok refused elapsed p50 p99 <<< "$(hey_summary "$work/hey.csv")"
    awk -v n="$n" -v ok="$ok" -v r="$refused" -v t="$elapsed" -v p50="$p50" -v p99="$p99" \
      'BEGIN {printf "| `hey` | %d | %.0f | %.1f | %.1f%% | %.1f | %.1f |\n", n, n / t, ok / t, r / n * 100, p50, p99}'
    taskset -c 1 wrk -t1 -c"$connections" -d10s "$url$endpoint" > "$work/wrk.txt"
    awk '
      /requests in/ {n = $1; t = $4 + 0}
      /Non-2xx or 3xx responses:/ {bad = $5}
      END {printf "| `wrk` | %d | %.0f | %.1f | %.1f%% | — | — |\n", n, n / t, (n - bad) / t, bad / n * 100}' "$work/wrk.txt"
  } > "$work/crosscheck.md"
  stop_server
  bench/write-section.sh overload-crosscheck "$work/crosscheck.md"
  cat "$work/crosscheck.md"
}

echo "capacity: $limit / ${service_ms} ms = $capacity calls/s" >&2
# Issue 17: /prioritized (a waiting room in front of an adaptive limit) at 3x the nominal capacity with
# bp load --mix critical=20,normal=30,sheddable=30,batch=20 from 1000 users; one row per priority.
priorities() {
  local rate mix="critical=20,normal=30,sheddable=30,batch=20"
  rate=$(awk -v c="$capacity" 'BEGIN {printf "%.2f", 3 * c}')
  start_server
  echo "priorities: /prioritized at 3x = $rate/s" >&2
  taskset -c 1 dotnet "$bin/bp.dll" load "$url/prioritized" --rate "$rate" --warmup "${warmup}s" -z "${seconds}s" \
    -c 2000 --timeout 10s --mix "$mix" --users 1000 -o json > "$work/priorities.json"
  curl -sf "$url/stats" | jq '.waiting_rooms.prioritized' > "$work/room.json"
  stop_server
  {
    echo "$(measured_on) with \`$command\` (part \`priorities\`):"
    echo "\`/prioritized\` (a waiting room in front of an adaptive limit, defaults) offered open-loop $rate calls/s = 3x the nominal capacity ($capacity/s) with \`bp load --mix $mix --users 1000\`, on one core (core 0), under a $heap_limit_mib MiB heap limit; $warmup s warm-up uncounted, $seconds s measured. Availability: answered 200, of sent."
    echo
    echo "| priority | sent | ok | availability | 429 | errors + timeouts | goodput/s | p50 ok ms | p99 ok ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for p in critical normal sheddable batch; do
      jq -r --arg p "$p" '.by_priority[$p] | def ms: . * 1000 | round;
        "| \($p) | \(.requests) | \(.succeeded) | \((.succeeded / ([.requests, 1] | max) * 1000 | round) / 10) % | \(.refused) | \(.errors + .timeouts) | \(.goodput_per_second * 100 | round / 100) | \(.success_latency.percentiles.p50 | ms) | \(.success_latency.percentiles.p99 | ms) |"' "$work/priorities.json"
    done
    echo
    echo "The room at the end (\`/stats\`, warm-up included): threshold $(jq -r .threshold "$work/room.json"); shed by priority: $(jq -r '.by_criticality | to_entries | map("\(.key) \(.value.shed_by_priority)") | join(", ")' "$work/room.json")."
  } > "$work/priorities.md"
  bench/write-section.sh priorities-overload "$work/priorities.md"
  cat "$work/priorities.md"
}

# Issue 18: a retry storm on the real server. /backpressure (the limit-10 gauge) offered open-loop 5x its capacity in
# distinct calls by clients that retry a 429 up to 3 times: not at all, blindly (after ~50 ms), and through
# Backpressure's client handler (throttle, retry budget, Retry-After honoured by failing fast).
retries() {
  local rate
  rate=$(awk -v c="$capacity" 'BEGIN {printf "%.2f", 5 * c}')
  : > "$work/retries.tsv"
  for variant in "no retries" "3 blind retries" "3 retries, throttle + budget"; do
    local flags=()
    case $variant in
      "3 blind retries") flags=(--client-retries 3) ;;
      "3 retries, throttle + budget") flags=(--client-retries 3 --client-throttle) ;;
    esac
    start_server
    echo "retries: /backpressure at 5x = $rate/s, $variant" >&2
    taskset -c 1 dotnet "$bin/bp.dll" load "$url/backpressure" --rate "$rate" --warmup "${warmup}s" -z "${seconds}s" \
      -c 2000 --timeout 10s "${flags[@]}" -o json > "$work/retries.json" &
    local load=$!
    # The server's own p99 of admitted calls (how long they held their permit), over each 5 s of the measured run:
    # what the client sees adds the waits it chose (held by a pushback, backing off before a retry).
    sleep "$warmup"
    : > "$work/server-p99.txt"
    for _ in $(seq 1 $((seconds / 5))); do
      sleep 5
      curl -sf "$url/stats" | jq -r '.latency.backpressure.p99_milliseconds // empty' >> "$work/server-p99.txt"
    done
    wait "$load"
    stop_server
    local server_p99
    server_p99=$(sort -n "$work/server-p99.txt" | awk '{v[NR] = $1} END {printf "%d", NR ? v[int((NR + 1) / 2)] : -1}')
    jq -r --arg v "$variant" --arg server_p99 "$server_p99" 'def ms: . * 1000 | round;
      [$v, .requests, (if .sent > 0 then (.sent / .requests * 100 | round / 100) else 1 end), (.goodput_per_second * 100 | round / 100),
       (.success_latency.percentiles.p50 | ms), (.success_latency.percentiles.p99 | ms), $server_p99, .refused, .locally_refused] | @tsv' "$work/retries.json" >> "$work/retries.tsv"
  done
  {
    echo "$(measured_on) with \`$command\` (part \`retries\`):"
    echo "\`/backpressure\` (the limit-10 gauge) offered open-loop $rate distinct calls/s = 5x its capacity ($capacity/s) on one core (core 0), under a $heap_limit_mib MiB heap limit; $warmup s warm-up uncounted, $seconds s measured. Requests per call: what reached the server (\`bp load\` counts them behind the client handler). Targets (issue 18): at most 1.1 with the throttle and budget, about 3 without; the server's p99 for admitted calls no worse than with no retries. The client's p50/p99 of successful calls include the waits the client chose (held by a pushback, backing off before a retry); the server's p99 is how long admitted calls held their permit, from \`/stats\` every 5 s of the measured run (the median of those windows)."
    echo
    echo "| clients | calls | requests per call | goodput/s | client p50 ok ms | client p99 ok ms | server p99 admitted ms | 429 (final) | of them never sent |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$work/retries.tsv"
  } > "$work/retries.md"
  bench/write-section.sh retries-overload "$work/retries.md"
  cat "$work/retries.md"
}

for part in ${PARTS:-overhead overload adaptive crosscheck}; do
  "$part"
done
