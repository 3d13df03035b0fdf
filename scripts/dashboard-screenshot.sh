#!/usr/bin/env bash
# Takes docs/dashboard.png: the server under load from bp (the backpressure gauge full, the adaptive
# limit finding its level, a slow
# WebSocket subscriber losing messages to drop-oldest, one that never reads holding a block queue
# full), with the shipped alert rules shortened to 2 s so they fire, seen in headless Chromium.
# Usage: scripts/dashboard-screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh chromium curl
(cd tests/dashboard && npm ci --silent --no-audit --no-fund)
dotnet build src/Backpressure.Cli -c Release --nologo -v quiet >/dev/null
bin=src/Backpressure.Cli/bin/Release/net10.0
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
dotnet "$bin/Backpressure.Server.dll" --urls "$url" --Backpressure:Grpc:Url=http://127.0.0.1:0 --Logging:LogLevel:Default=Warning \
  --SeedWork:MemoryPerCallMegabytes=1 --Backpressure:WebSockets:SlowClientGracePeriod=00:01:00 \
  --Backpressure:Alerts:Rules:0:For=00:00:02 --Backpressure:Alerts:Rules:3:For=00:00:02 >/dev/null 2>&1 &
pids=("$!")
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$url/stats" >/dev/null && break; sleep 0.2; done
dotnet "$bin/bp.dll" load "$url/backpressure" -c 40 -z 60s >/dev/null 2>&1 & pids+=("$!")
dotnet "$bin/bp.dll" load "$url/adaptive" -c 40 -z 60s >/dev/null 2>&1 & pids+=("$!")
dotnet "$bin/bp.dll" ws "ws://127.0.0.1:$port/ws/feed?policy=drop-oldest&queue=200&rate=400&size=4000" -c 3 --slow 2 --read-delay 10ms -z 60s >/dev/null 2>&1 & pids+=("$!")
dotnet "$bin/bp.dll" ws "ws://127.0.0.1:$port/ws/feed?policy=block&queue=50&rate=2000&size=16000" -c 1 --slow 1 --read-delay 60s -z 60s >/dev/null 2>&1 & pids+=("$!")
sleep 35
node tests/dashboard/check-dashboard.mjs "$url" feed-queue-backlog docs/dashboard.png 30
