#!/usr/bin/env bash
# scripts/bench/recipe-table.sh [SEEDS] [PRESETS]: the presets' own recipe (their rule,
# widths and learning-rate schedule, 10 epochs, batch 1) over several seeds, in fixed point
# (= the RTL) and float. Prints, for each preset and arithmetic, the mean ± sd over the
# seeds of the last epoch's test accuracy, of the best epoch's, and of the swing over the
# last 3 epochs (max − min). Defaults: SEEDS "1 2 3", PRESETS "mnist-mlp fashion-mlp".
# Two runs at a time; about 20 minutes on 2 cores (float is the slow half).
# Writes build/recipe/<preset>-<arith>-s<seed>.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seeds=${1:-1 2 3}
presets=${2:-mnist-mlp fashion-mlp}
scripts/fetch-data >/dev/null
cargo build --release --locked -p lls-cli >/dev/null 2>&1
mkdir -p build/recipe
jobs=()
for preset in $presets; do
  for seed in $seeds; do
    for arith in fixed float; do
      out=build/recipe/$preset-$arith-s$seed.json
      target/release/lls train --config "configs/$preset.toml" --arith "$arith" --seed "$seed" \
        --quiet --json "$out" >/dev/null &
      jobs+=($!)
      if ((${#jobs[@]} == 2)); then
        wait "${jobs[@]}"
        jobs=()
      fi
    done
  done
done
((${#jobs[@]} == 0)) || wait "${jobs[@]}"
python3 - "$seeds" "$presets" <<'PY'
import json, statistics, sys
seeds, presets = sys.argv[1].split(), sys.argv[2].split()
def stat(xs):
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.2f} ± {sd:.2f}"
print(f"| preset | arith | last epoch | best epoch | swing, last 3 epochs |  ({len(seeds)} seeds: {' '.join(seeds)}; test accuracy %)")
print("| --- | --- | ---: | ---: | ---: |")
for p in presets:
    for a in ["fixed", "float"]:
        runs = [[100 * e["test_accuracy"] for e in json.load(open(f"build/recipe/{p}-{a}-s{s}.json"))["history"]] for s in seeds]
        last = [h[-1] for h in runs]
        best = [max(h) for h in runs]
        swing = [max(h[-3:]) - min(h[-3:]) for h in runs]
        print(f"| {p} | {a} | {stat(last)} | {stat(best)} | {stat(swing)} |")
PY
