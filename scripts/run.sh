#!/usr/bin/env bash
# scripts/run.sh [CONFIG]: the main job on a fresh Debian 12 machine: install the tools,
# fetch the data, build, and run `lls run` (train, generate RTL, co-simulate, synthesize,
# report into build/<preset>/). Default config: configs/mnist-mlp.toml.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
config=${1:-configs/mnist-mlp.toml}
scripts/install-deps.sh
scripts/fetch-data
cargo build --release --locked -p lls-cli
target/release/lls run --config "$config"
