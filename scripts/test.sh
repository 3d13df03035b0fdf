#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, builds, and runs every test project.
set -euo pipefail
cd "$(dirname "$0")/.."
# redis-server: the Redis limiters are tested against a real one, started by the tests on a free port; redis-tools'
# redis-cli joins six of them into a Redis Cluster.
# prometheus: its promtool checks the /metrics scrape.
# chromium and tests/dashboard's playwright-core: the dashboard is tested in a real headless browser.
scripts/bootstrap.sh redis-server redis-tools prometheus chromium
(cd tests/dashboard && npm ci --silent --no-audit --no-fund)
dotnet build Backpressure.slnx -c Release --nologo -v quiet --no-restore
# One test project at a time: the server and load tests measure delivery under load, and two of them sharing 2 cores
# with each other starve both.
log=$(mktemp)
set +e
# A test that hangs fails after 5 minutes, named, instead of holding CI until its time limit.
dotnet test Backpressure.slnx -c Release --no-build --nologo -m:1 --blame-hang-timeout 5m --blame-hang-dump-type none 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over every test project, in the plain form CI reads.
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -Eo 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
