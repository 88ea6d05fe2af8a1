#!/usr/bin/env bash
# Runs every shipped experiment and `lmser check`, then copies the plots shown in the
# README into plots/. Usage: bash experiments/make-plots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/lmser
run() { "$bin" run "$1" --quiet --force --out "runs/$2" || [ "$2" = linear-diverging ]; }
run experiments/energy-from-files/config.toml energy-from-files
run experiments/theorem1-logistic.toml theorem1-logistic
run experiments/theorem1-tanh.toml theorem1-tanh
run experiments/linear-stable.toml linear-stable
run experiments/linear-diverging.toml linear-diverging
run experiments/psa-from-files/config.toml psa-lmser
run experiments/psa-from-files/oja.toml psa-oja
run experiments/staircase.toml staircase
run experiments/saddle-escape.toml saddle-escape
run experiments/symmetry-output.toml symmetry-output
run experiments/symmetry-gradient.toml symmetry-gradient
run experiments/symmetry-tanh.toml symmetry-tanh
run experiments/stochastic.toml stochastic
run experiments/coupled-samples.toml coupled-samples
run experiments/two-phase.toml two-phase
run experiments/coupled-averaged.toml coupled-averaged
run experiments/landscape.toml landscape
"$bin" check --out runs/check
mkdir -p plots
cp runs/energy-from-files/energy.png plots/energy-from-files.png
cp runs/theorem1-logistic/energy.png plots/theorem1-logistic-energy.png
cp runs/theorem1-tanh/energy.png plots/theorem1-tanh-energy.png
cp runs/theorem1-tanh/activities.png plots/theorem1-tanh-activities.png
cp runs/linear-stable/activities.png plots/linear-stable-activities.png
cp runs/linear-diverging/activities.png plots/linear-diverging-activities.png
cp runs/psa-lmser/learning.png plots/psa-lmser.png
cp runs/staircase/learning.png plots/staircase.png
cp runs/staircase/overlaps.png plots/staircase-overlaps.png
cp runs/saddle-escape/learning.png plots/saddle-escape.png
cp runs/symmetry-output/alignment.png plots/symmetry-output-alignment.png
cp runs/symmetry-gradient/alignment.png plots/symmetry-gradient-alignment.png
cp runs/symmetry-tanh/alignment.png plots/symmetry-tanh-alignment.png
cp runs/check/symmetry_breaking.png plots/symmetry-breaking.png
cp runs/stochastic/learning.png plots/stochastic.png
cp runs/check/escape_times.png plots/escape-times.png
cp runs/check/lmser_vs_oja.png plots/lmser-vs-oja.png
cp runs/check/theorem4.png plots/theorem4.png
cp runs/check/coupled_vs_two_phase.png plots/coupled-vs-two-phase.png
echo "plots written to plots/"
