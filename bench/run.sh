#!/usr/bin/env bash
# Runs the lmser-vs-SciPy benchmark (benches/lmser_vs_scipy): both sides, the same
# problems and tolerances, and writes bench/out/{results.csv,table.md,machine.txt}.
# Needs Python 3 with NumPy and SciPy: `pip install numpy scipy`.
# Usage: bash bench/run.sh [--reps N] [--python PY] [--no-python]
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
{
  echo "date: $(date -u +%Y-%m-%d)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cores: $(nproc)"
  echo "rustc: $(rustc -V)"
  python3 -c 'import sys, numpy, scipy; print("python:", sys.version.split()[0], "numpy:", numpy.__version__, "scipy:", scipy.__version__)' 2>/dev/null || echo "python: numpy/scipy not found"
  echo "threads: lmser 1, OpenBLAS 1 (OPENBLAS_NUM_THREADS=1)"
} > "$out/machine.txt"
cat "$out/machine.txt"
cargo bench --bench lmser_vs_scipy -- --out "$out" "$@"
