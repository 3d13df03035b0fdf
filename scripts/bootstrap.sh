#!/usr/bin/env bash
# Installs what the project needs on a new Debian 12 machine with the .NET 10 SDK, then restores.
# Safe to run again: it installs only what is missing. Usage: scripts/bootstrap.sh [apt-package ...]
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "bootstrap: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }
dotnet restore Backpressure.slnx --nologo -v quiet
