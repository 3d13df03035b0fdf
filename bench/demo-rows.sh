#!/usr/bin/env bash
# Issue 16's demo line in repeated rows, written into docs/benchmarks.md (section demo-rows): `bp demo`'s /async and
# /adaptive, each row against a fresh server under the demo's 200 MiB GC heap limit and its seed work (8 MiB held,
# 20 ms of CPU and 500 ms of I/O a call), driven for SECONDS s by 50 closed-loop hey-like clients as bp demo drives
# them (bp load -c 50 -t 10s, a fresh client process per row, where bp demo drives from its own). One demo run is one
# such row per endpoint, and rows spread widely, so this runs ROUNDS alternating rounds and reports medians.
# Nothing is pinned, unlike the other server benchmarks: the point is the demo as a user runs it, where the server and
# its clients share the machine's cores. Each endpoint runs twice a round: with the clients at the server's priority
# (as bp demo runs them), and with the clients at nice 19, so that the server has the cores first, as it would with
# its clients on other machines. The server's CPU seconds (utime + stime from /proc) show where the cores went.
# Usage: bench/demo-rows.sh [ROUNDS=7] [SECONDS=15]   (about 80 s a round on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
rounds=${1:-7}
seconds=${2:-15}
command="bench/demo-rows.sh $rounds $seconds"
scripts/bootstrap.sh jq curl
dotnet build src/Backpressure.Cli -c Release --nologo -v quiet >/dev/null
bin=src/Backpressure.Cli/bin/Release/net10.0
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)

# The settings bp demo starts its server with (DemoSettings, ServerProcess): 200 MiB as DOTNET_GCHeapHardLimit,
# workstation GC, the seed work's defaults spelt out.
start_server() {
  launch_server env DOTNET_GCHeapHardLimit=0xC800000 DOTNET_gcServer=0 dotnet "$bin/Backpressure.Server.dll" \
    --Backpressure:Grpc:Url=http://127.0.0.1:0 --SeedWork:MemoryPerCallMegabytes=8 --SeedWork:CpuTime=00:00:00.020 \
    --SeedWork:IoTime=00:00:00.500
}

cpu_seconds() { awk -v t="$ticks" '{printf "%.1f", ($14 + $15) / t}' "/proc/$server/stat"; }

# One row: ENDPOINT NICENESS; appends "endpoint niceness calls/s failed in-flight requests/s cpu-s" to rows.tsv.
row() {
  local endpoint=$1 niceness=$2 before after peak
  start_server
  before=$(cpu_seconds)
  nice -n "$niceness" dotnet "$bin/bp.dll" load "$url$endpoint" -c 50 -z "${seconds}s" -t 10s -o json > "$work/load.json"
  after=$(cpu_seconds)
  peak=$(curl -s --max-time 5 "$url/stats" | jq '.seed_work.peak_in_flight')
  stop_server
  jq -r --arg e "$endpoint" --arg n "$niceness" --arg p "$peak" --arg c "$(awk -v a="$before" -v b="$after" 'BEGIN {printf "%.1f", b - a}')" \
    '[$e, $n, .goodput_per_second, (.errors + .timeouts), $p, (.requests / .total_seconds | round), $c] | @tsv' \
    "$work/load.json" | awk -F'\t' -v OFS='\t' '{ $3 = sprintf("%.1f", $3); print }' | tee -a "$work/rows.tsv" >&2
}

: > "$work/rows.tsv"
for r in $(seq 1 "$rounds"); do
  echo "round $r of $rounds" >&2
  for endpoint in /async /adaptive; do
    for niceness in 0 19; do
      row "$endpoint" "$niceness"
    done
  done
done

# The least and the most of whitespace-separated numbers, as "least–most".
range() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print (a == b ? a : a "–" b) }'; }

# Per-round pairs at the same priority: was /adaptive at least level with /async in that round?
ahead() {
  awk -F'\t' -v n="$1" '$2 == n && $1 == "/async" { a[++i] = $3 } $2 == n && $1 == "/adaptive" { d[++j] = $3 }
    END { for (k = 1; k <= i; k++) if (d[k] >= a[k]) w++; printf "%d of %d", w, i }' "$work/rows.tsv"
}

figures() { awk -F'\t' -v e="$1" -v n="$2" -v c="$3" '$1 == e && $2 == n { printf "%s ", $c }' "$work/rows.tsv"; }

{
  echo "$(measured_on) with \`$command\`:"
  echo "a fresh server per row under \`DOTNET_GCHeapHardLimit\` 200 MiB with the demo's seed work, 50 hey-like clients"
  echo "(\`bp load -c 50 -z ${seconds}s -t 10s\`), nothing pinned, as in \`bp demo\`; $rounds alternating rounds. \"nice 19\": the"
  echo "clients at nice 19, so the server has the cores first. Lost calls are errors (\`OutOfMemoryException\`'s 500) and timeouts."
  echo
  echo "| endpoint | clients | calls/s, median (range) | rows that lost calls | calls lost, median | most in flight | requests/s, median | server CPU s, median |"
  echo "|---|---|--:|--:|--:|--:|--:|--:|"
  for niceness in 0 19; do
    for endpoint in /async /adaptive; do
      calls=$(figures "$endpoint" "$niceness" 3)
      lost=$(figures "$endpoint" "$niceness" 4)
      peaks=$(figures "$endpoint" "$niceness" 5 | range)
      printf '| `%s` | %s | %s (%s) | %s of %s | %s | %s | %s | %s |\n' "$endpoint" \
        "$([ "$niceness" = 0 ] && echo "as in \`bp demo\`" || echo "nice 19")" \
        "$(echo "$calls" | median)" "$(echo "$calls" | range)" \
        "$(echo "$lost" | tr ' ' '\n' | grep -vc '^0\?$' || true)" "$rounds" "$(echo "$lost" | median)" "$peaks" \
        "$(figures "$endpoint" "$niceness" 6 | median)" "$(figures "$endpoint" "$niceness" 7 | median)"
    done
  done
  echo
  echo "Rounds in which \`/adaptive\` served at least as many calls/s as \`/async\`: $(ahead 0) as in \`bp demo\`, $(ahead 19) with the clients at nice 19."
  echo
  echo "Calls/s per round: \`/async\` $(dots "$(figures /async 0 3)"); \`/adaptive\` $(dots "$(figures /adaptive 0 3)"); at nice 19 \`/async\` $(dots "$(figures /async 19 3)"); \`/adaptive\` $(dots "$(figures /adaptive 19 3)")."
} > "$work/demo-rows.md"
bench/write-section.sh demo-rows "$work/demo-rows.md"
cat "$work/demo-rows.md"
