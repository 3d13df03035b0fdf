#!/usr/bin/env bash
# The adaptive-concurrency head-to-head on the deterministic simulation (bench/Backpressure.Simulation):
# every algorithm through S1, S2, S5, S6 and S9, written into docs/benchmarks.md (section
# adaptive-simulation) and the shedding scenarios S3, S4 and S7 (section shedding-simulation), with the limit over time in S1 drawn as docs/adaptive-s1.png.
# Usage: bench/simulate.sh [S5_MINUTES=10]   (about a minute on 2 cores; the results are the same on any machine)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
minutes=${1:-10}
scripts/bootstrap.sh gnuplot
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet run -c Release --project bench/Backpressure.Simulation -- --s5-minutes "$minutes" --trace "$work/s1.dat" > "$work/tables.md"
{
  echo "Simulated with \`bench/simulate.sh $minutes\` (deterministic: the same figures on any machine)."
  cat "$work/tables.md"
  echo
  echo "![The limit over time in S1 for every adaptive algorithm, and the ideal limit](adaptive-s1.png)"
} > "$work/section.md"
bench/write-section.sh adaptive-simulation "$work/section.md"
# Issue 17: who is shed and when (S3, S4, S7), with the waiting room in front of the same adaptive limit.
dotnet run -c Release --project bench/Backpressure.Simulation -- --shedding > "$work/shedding.md"
{
  echo "Simulated with \`bench/simulate.sh $minutes\` (deterministic: the same figures on any machine)."
  cat "$work/shedding.md"
} > "$work/shedding-section.md"
bench/write-section.sh shedding-simulation "$work/shedding-section.md"
columns=$(head -1 "$work/s1.dat" | grep -o '"[^"]*"' | wc -l)
{
  echo 'set terminal pngcairo size 1200,520 font "sans,11"'
  echo 'set output "docs/adaptive-s1.png"'
  echo "set title \"S1: capacity halves at 60 s and is restored at 120 s (offered 75 % of the original capacity); bench/simulate.sh $minutes\""
  echo 'set xlabel "simulated time (s)"; set ylabel "concurrency limit"; set grid; set key outside right'
  echo 'set xrange [50:135]; set yrange [0:220]'
  printf 'plot "%s" using 1:2 with lines lw 3 lc rgb "gray" dt 2 title "ideal (oracle)"' "$work/s1.dat"
  for i in $(seq 1 "$columns"); do
    name=$(head -1 "$work/s1.dat" | grep -o '"[^"]*"' | sed -n "${i}p" | tr -d '"')
    printf ', "%s" using 1:%d with lines lw %d title "%s"' "$work/s1.dat" $((i + 2)) $([ "$i" -eq 1 ] && echo 3 || echo 1) "$name"
  done
  echo
} > "$work/plot.gp"
gnuplot "$work/plot.gp"
echo "wrote docs/adaptive-s1.png and the adaptive-simulation section of docs/benchmarks.md" >&2
