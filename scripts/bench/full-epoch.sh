#!/usr/bin/env bash
# scripts/bench/full-epoch.sh [CONFIG] [SEGMENTS] [LLS COSIM FLAGS...]: co-simulates a full
# training epoch (all 60,000 MNIST training images) on the RTL against the golden model, bit
# for bit: every prediction and label echo, the softmax errors after every burst of 1,000,
# every weight every 10,000 samples. SEGMENTS simulators run side by side (default: one per core; each
# segment powers up in the golden model's state that the previous one checks last). Further
# arguments go to `lls cosim`. Each simulator is built profile-guided (`lls cosim --pgo`),
# which pays on the preset's banked weights (docs/performance.md); `--no-pgo` builds it plainly.
# Writes build/bench/full-epoch.json (wall time in `wall_seconds`) and prints the summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
config=${1:-configs/mnist-mlp.toml}
segments=${2:-$(nproc)}
shift $(($# < 2 ? $# : 2))
pgo=(--pgo)
flags=()
for arg in "$@"; do
  case $arg in
    --pgo) ;;
    --no-pgo) pgo=() ;;
    *) flags+=("$arg") ;;
  esac
done
flags+=(${pgo[@]+"${pgo[@]}"})
scripts/install-deps.sh >/dev/null
scripts/fetch-data >/dev/null
cargo build --release --locked -p lls-cli >/dev/null 2>&1
mkdir -p build/bench
start=$(date +%s)
target/release/lls cosim --config "$config" --samples 60000 --burst 1000 \
  --weights-every 10000 --segments "$segments" --json build/bench/full-epoch.json ${flags[@]+"${flags[@]}"}
wall=$(($(date +%s) - start))
python3 - "$wall" <<'PY'
import json, sys
path = "build/bench/full-epoch.json"
report = json.load(open(path))
report["wall_seconds"] = int(sys.argv[1])
json.dump(report, open(path, "w"), indent=2)
print(f"full epoch: {report['samples']} samples, {report['mismatches']} mismatches, "
      f"{report['segments']} segments, {report['wall_seconds'] // 60} min {report['wall_seconds'] % 60} s "
      f"(limit 15 min) -> {path}")
PY
