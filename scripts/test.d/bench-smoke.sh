#!/usr/bin/env bash
# Benchmarks smoke run (issue 9): every bench/ script at tiny sizes, no thresholds, < 60 s.
# It fails only when a benchmark script breaks, so the scripts keep working; the real numbers
# come from a full `bench/run` (docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "bench-smoke: running bench/run --smoke (figures 1-6 at tiny sizes)"
start=$(date +%s)
timeout 120 bench/run --smoke
echo "bench-smoke: done in $(( $(date +%s) - start )) s"
