# Helpers the bench scripts share; sourced from the repository root.

# The median of whitespace-separated numbers on standard input.
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# A list of per-round figures as the tables show it: "1 · 2 · 3".
dots() { echo $1 | sed 's/ / · /g'; }

# "Measured DATE on N cores (CPU)": the opening of every section, to which the script adds its command.
measured_on() { echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"; }

# Runs COMMAND... --urls URL in the background on a fresh loopback port, its output in $work/server.log, and waits
# until it answers; sets $server, $url and $port. A start can fail for reasons outside the row (the random port taken,
# the previous server still letting go of the core): up to three attempts, each on a fresh port, before the run gives
# up and shows what the server said. COMMAND must exec the server (taskset, env, nice do), so that $server is its PID.
launch_server() {
  local attempt
  for attempt in 1 2 3; do
    port=$((20000 + RANDOM % 20000))
    url="http://127.0.0.1:$port"
    "$@" --urls "$url" >"$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 100); do
      curl -sf "$url/overhead/bare" >/dev/null && return
      kill -0 "$server" 2>/dev/null || break
      sleep 0.2
    done
    echo "the server did not start (attempt $attempt of 3):" >&2
    tail -5 "$work/server.log" >&2
    stop_server
  done
  exit 1
}

# An overloaded server can take a long time to drain after SIGTERM; after 10 s it is killed.
stop_server() {
  kill "$server" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}
