#!/usr/bin/env bash
# scripts/bench/accuracy-table.sh [EPOCHS]: test accuracy of every rule (bp, lls, lls-m,
# lls-mxm) in both arithmetics on MNIST and Fashion-MNIST with the mnist-mlp preset, all
# after the same number of epochs (default: the preset's 10). Writes
# build/accuracy/<dataset>-<rule>-<arith>.json and prints a markdown table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
epochs=${1:-10}
scripts/fetch-data >/dev/null
cargo build --release --locked -p lls-cli >/dev/null 2>&1
mkdir -p build/accuracy
for dataset in mnist fashion-mnist; do
  for rule in bp lls lls-m lls-mxm; do
    for arith in fixed float; do
      out=build/accuracy/$dataset-$rule-$arith.json
      target/release/lls train --config configs/mnist-mlp.toml --dataset "$dataset" --rule "$rule" \
        --arith "$arith" --epochs "$epochs" --quiet --json "$out"
    done
  done
done
python3 - "$epochs" <<'PY'
import json, sys
epochs = sys.argv[1]
print(f"| dataset | rule | fixed (batch 1) | float (batch 1) |  (test accuracy after {epochs} epochs)")
print("| --- | --- | ---: | ---: |")
for d in ["mnist", "fashion-mnist"]:
    for r in ["bp", "lls", "lls-m", "lls-mxm"]:
        acc = {a: json.load(open(f"build/accuracy/{d}-{r}-{a}.json"))["test_accuracy"] for a in ["fixed", "float"]}
        print(f"| {d} | {r} | {100*acc['fixed']:.2f} % | {100*acc['float']:.2f} % |")
PY
