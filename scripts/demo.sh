#!/usr/bin/env bash
# The main job: bp demo, the collapse demo. Extra arguments go to bp demo (see ./bp demo --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec ./bp demo "$@"
