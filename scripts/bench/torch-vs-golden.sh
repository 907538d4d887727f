#!/usr/bin/env bash
# Torch (official LLS code path, float32) vs. golden model (Rust, fixed point) training
# throughput on the same MLP (784→256→10, MNIST), same machine, same core, same run.
#
#   scripts/bench/torch-vs-golden.sh            # defaults below
#   BENCH_CPU=1 REPEATS=5 TORCH_SAMPLES_B128=40000 scripts/bench/torch-vs-golden.sh
#
# Env: BENCH_CPU (core to pin, default 0), REPEATS (default 3; torch and golden interleaved,
# medians reported), GOLDEN_SAMPLES / TORCH_SAMPLES_B128 (20000), TORCH_SAMPLES_B1 (2000),
# BENCH_CONFIG (configs/mnist-mlp.toml), PYTHON (interpreter for the venv, python3).
#
# Idempotent: reuses .venv-bench/ (torch, schedulefree, numpy are installed only when
# missing) and cargo's incremental build. Writes build/bench/torch-vs-golden.json.
# Needs PyPI (first run only: the default Linux torch wheel pulls its CUDA wheels, ~3-4 GB;
# PyPI has no CPU-only x86_64 torch wheel). See docs/bench-reference.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv-bench"
PY="${PYTHON:-python3}"
CPU="${BENCH_CPU:-0}"
CONFIG="${BENCH_CONFIG:-configs/mnist-mlp.toml}"
GOLDEN_SAMPLES="${GOLDEN_SAMPLES:-20000}"
TORCH_SAMPLES_B128="${TORCH_SAMPLES_B128:-20000}"
TORCH_SAMPLES_B1="${TORCH_SAMPLES_B1:-2000}"
REPEATS="${REPEATS:-3}"
OUT_DIR="$ROOT/build/bench"
OUT="$OUT_DIR/torch-vs-golden.json"
mkdir -p "$OUT_DIR"

# --- 1. venv with torch, schedulefree, numpy (skipped when already importable) -----------
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "== creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi
[[ -f "$VENV/.gitignore" ]] || echo '*' > "$VENV/.gitignore"
if ! "$VENV/bin/python" -c 'import torch, schedulefree, numpy' 2>/dev/null; then
  echo "== installing torch, schedulefree, numpy into $VENV (first run: several GB)" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet torch schedulefree numpy
fi

# --- MNIST (raw IDX, git-ignored): fetched from the registries when missing ---------------
if [[ ! -f data/mnist/train-images-idx3-ubyte || ! -f data/mnist/t10k-labels-idx1-ubyte ]]; then
  echo "== data/mnist missing: scripts/fetch-data" >&2
  scripts/fetch-data >&2
fi

# --- pinning: one thread, one core --------------------------------------------------------
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 RAYON_NUM_THREADS=1
PIN=()
if command -v taskset >/dev/null 2>&1 && taskset -c "$CPU" true 2>/dev/null; then
  PIN=(taskset -c "$CPU")
  PINNED="cpu $CPU"
else
  PINNED="none (taskset unavailable)"
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# --- 2. build the golden model first, so both measurements run back to back ----------------
echo "== cargo build --release -p lls-cli" >&2
cargo build --release -p lls-cli >&2

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
# --- 3. interleaved repeats: torch reference, then golden model, REPEATS times -------------
# (the machine may be shared: the report uses the median of the repeats, and keeps each)
for ((r = 1; r <= REPEATS; r++)); do
  echo "== [$r/$REPEATS] torch reference, official LLS code path ($PINNED)" >&2
  "${PIN[@]}" "$VENV/bin/python" "$ROOT/scripts/bench/lls_reference.py" \
    --data "$ROOT/data/mnist" \
    --samples-b128 "$TORCH_SAMPLES_B128" --samples-b1 "$TORCH_SAMPLES_B1" \
    > "$TMP/torch.$r.json"
  echo "== [$r/$REPEATS] golden model ($PINNED)" >&2
  "${PIN[@]}" target/release/lls bench --config "$CONFIG" --samples "$GOLDEN_SAMPLES" \
    --json "$TMP/golden.$r.json" >&2
done

LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- 4. combine ----------------------------------------------------------------------------
"$VENV/bin/python" - "$TMP" "$REPEATS" "$OUT" \
  "$PINNED" "$LOAD_BEFORE" "$LOAD_AFTER" "$CONFIG" <<'PYEOF'
import datetime, json, os, platform, statistics, subprocess, sys
tmp, repeats, out_path, pinned, load_before, load_after, config = sys.argv[1:]
repeats = int(repeats)
torch_runs = [json.load(open(f"{tmp}/torch.{r}.json")) for r in range(1, repeats + 1)]
golden_runs = [json.load(open(f"{tmp}/golden.{r}.json")) for r in range(1, repeats + 1)]

def series(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "each": values}

def torch_sps(run):
    return [t["runs"][run]["samples_per_second"] for t in torch_runs]

def golden_sps(arith):
    return [next(m for m in g["measurements"] if m["arith"] == arith)["samples_per_second"]
            for g in golden_runs]

m = {
    "torch_batch128": series(torch_sps("batch128")),
    "torch_batch128_nobn": series(torch_sps("batch128_nobn")),
    "torch_batch1": series(torch_sps("batch1")),
    "golden_fixed": series(golden_sps("fixed")),
    "golden_float": series(golden_sps("float")),
}
b128 = m["torch_batch128"]["median"]
b1 = m["torch_batch1"]["median"]
fixed = m["golden_fixed"]["median"]
flt = m["golden_float"]["median"]
# Per-repeat ratios (torch and golden measured back to back within one repeat).
per_repeat = [f / t for f, t in zip(m["golden_fixed"]["each"], m["torch_batch128"]["each"])]

cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), platform.processor())
try:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain"], capture_output=True,
                                text=True).stdout.strip())
except OSError:
    commit, dirty = "", False
t0 = torch_runs[0]
report = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "host": {"nproc": os.cpu_count(), "cpu_model": cpu_model, "pinned": pinned,
             "loadavg_before": load_before, "loadavg_after": load_after},
    "git": {"commit": commit, "dirty": dirty},
    "config": config,
    "repeats": repeats,
    "statistic": "median over repeats (torch and golden interleaved, same core)",
    "torch_version": t0["torch_version"],
    "schedulefree_version": t0["schedulefree_version"],
    "torch_batch128_samples_per_second": b128,
    "torch_batch1_samples_per_second": b1,
    "torch_batch128_nobn_samples_per_second": m["torch_batch128_nobn"]["median"],
    "golden_fixed_samples_per_second": fixed,
    "golden_float_samples_per_second": flt,
    "ratio_golden_fixed_over_torch_batch128": fixed / b128,
    "ratio_golden_fixed_over_torch_batch128_per_repeat": per_repeat,
    "ratio_golden_fixed_over_torch_batch1": fixed / b1,
    "ratio_golden_float_over_torch_batch128": flt / b128,
    "samples_per_second": m,
    "torch_runs": torch_runs,
    "golden_runs": golden_runs,
}
os.makedirs(os.path.dirname(out_path), exist_ok=True)
with open(out_path + ".tmp", "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
os.replace(out_path + ".tmp", out_path)

rows = [
    (f"torch {t0['torch_version']} f32, batch 128, BN", "torch_batch128"),
    ("torch f32, batch 128, no BN", "torch_batch128_nobn"),
    ("torch f32, batch 1, no BN", "torch_batch1"),
    ("golden fixed point, batch 1", "golden_fixed"),
    ("golden float (f32), batch 1", "golden_float"),
]
print(f"LLS training, 784-256-10 MNIST, one thread, {pinned}, {repeats} repeats; "
      f"load {load_before} -> {load_after}")
print(f"{'samples/s':38s} {'median':>9s} {'min':>9s} {'max':>9s}")
for name, key in rows:
    s = m[key]
    print(f"{name:38s} {s['median']:9.0f} {s['min']:9.0f} {s['max']:9.0f}")
print(f"{'golden fixed / torch batch 128':38s} {fixed / b128:9.2f}x "
      f"(per repeat {', '.join(f'{r:.2f}' for r in per_repeat)})")
print(f"{'golden fixed / torch batch 1':38s} {fixed / b1:9.1f}x")
print(f"-> {os.path.relpath(out_path)}")
PYEOF
