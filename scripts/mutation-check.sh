#!/usr/bin/env bash
# Mutation check of the RTL generator: each numeric policy, moved by one, must make the
# behavioural co-simulation tests fail (not only the text snapshots).
#
#   scripts/mutation-check.sh [MUTANT ...]      (default: all; takes minutes)
#   MUTATION_TESTS="cosim_rails cosim_configs"  testbenches test targets to run per mutant
#                                               (default: cosim_rails)
#
# The working tree is copied to target/mutation-check/src (no .git, no target, no data)
# and the copy's rtl-gen is patched once: at each policy a guard `mutant::on("<name>")`
# reads LLS_MUTANT, so one build serves every mutant and the production sources never
# carry a hook. Every patch must apply exactly once, or the script stops and names it.
# Then the tests run once without a mutant (they must pass) and once per mutant (they must
# fail); the table gives, per mutant, each test's verdict and the first mismatch it
# reported (sample, layer, signal). Exit 1 if a mutant survives or the baseline fails.
#
# Mutants (each changes one value by one):
#   round-bias          half-up bias 2^(s-1) → 2^(s-1) − 1 (blocks::narrowing::shift_round)
#   sat-min, sat-max    every saturation's MIN + 1 / MAX − 1 (blocks::narrowing::saturate)
#   sat-{min,max}-{activation,delta,weight,modulation}
#                       the same bound of one stage only (h, delta, w_new*, mod_new)
#   basis-entry         basis ROM entry B[0][0] xor 1 (mem::basis_image)
#   update-shift        the weight update's shift + 1 (blocks::layer::update)
#   mod-update-shift    the modulation update's shift + 1 (blocks::modulation::update)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$root/target/mutation-check
src=$scratch/src
tests=${MUTATION_TESTS:-cosim_rails}
all_mutants="round-bias sat-min sat-max
  sat-min-activation sat-max-activation sat-min-delta sat-max-delta
  sat-min-weight sat-max-weight sat-min-modulation sat-max-modulation
  basis-entry update-shift mod-update-shift"
mutants=${*:-$all_mutants}

rm -rf "$src"
mkdir -p "$src"
tar -C "$root" --exclude=./target --exclude=./.git --exclude=./data -cf - . | tar -C "$src" -xf -

python3 - "$src" <<'EOF'
import sys, pathlib
src = pathlib.Path(sys.argv[1])

def patch(rel, old, new):
    p = src / rel
    text = p.read_text()
    n = text.count(old)
    if n != 1:
        sys.exit(f"mutation-check: patch for {rel} matches {n} times, not once: {old!r}")
    p.write_text(text.replace(old, new))

def append(rel, text):
    p = src / rel
    p.write_text(p.read_text() + text)

append("rtl-gen/src/lib.rs", '''
/// Test-only mutants of `scripts/mutation-check.sh`, in its scratch copy only.
#[doc(hidden)]
pub mod mutant {
    /// `LLS_MUTANT` names this mutant.
    pub fn on(name: &str) -> bool {
        std::env::var("LLS_MUTANT").is_ok_and(|v| v == name)
    }
    /// Moves saturation bound `bound` (`min` / `max`) of the value named `name`.
    pub fn sat(bound: &str, name: &str) -> bool {
        let stage = match name {
            "h" => "activation",
            "delta" => "delta",
            "mod_new" => "modulation",
            n if n.starts_with("w_new") => "weight",
            n => panic!("mutation-check: saturate of unknown value {n}"),
        };
        on(&format!("sat-{bound}")) || on(&format!("sat-{bound}-{stage}"))
    }
}
''')
patch("rtl-gen/src/blocks/narrowing.rs",
      "Expr::lit(1i128 << (shift - 1), Ty::s(w))",
      "Expr::lit((1i128 << (shift - 1)) - i128::from(crate::mutant::on(\"round-bias\")), Ty::s(w))")
patch("rtl-gen/src/blocks/narrowing.rs",
      "Expr::lit(min_signed(bits) as i128, Ty::s(bits))",
      "Expr::lit((min_signed(bits) + i64::from(crate::mutant::sat(\"min\", name))) as i128, Ty::s(bits))")
patch("rtl-gen/src/blocks/narrowing.rs",
      "Expr::lit(max_signed(bits) as i128, Ty::s(bits))",
      "Expr::lit((max_signed(bits) - i64::from(crate::mutant::sat(\"max\", name))) as i128, Ty::s(bits))")
patch("rtl-gen/src/mem.rs",
      "(basis.get(c, t) as u64)",
      "((basis.get(c, t) ^ i64::from(crate::mutant::on(\"basis-entry\") && c == 0 && t == 0)) as u64)")
patch("rtl-gen/src/blocks/layer/update.rs",
      "            l.update_shift,\n",
      "            l.update_shift + u32::from(crate::mutant::on(\"update-shift\")),\n")
patch("rtl-gen/src/blocks/modulation/update.rs",
      "mp.update_shift, p.rounding",
      "mp.update_shift + u32::from(crate::mutant::on(\"mod-update-shift\")), p.rounding")
EOF

export CARGO_TARGET_DIR=$scratch/target
export LLS_DATA_DIR=${LLS_DATA_DIR:-$root/data}
cd "$src"
for t in $tests; do
  cargo test -q -p testbenches --test "$t" --no-run
done

# Runs the tests under LLS_MUTANT=$1; prints one line per test: verdict and first mismatch.
run_tests() {
  local log=$scratch/log-${1:-baseline}.txt
  : >"$log"
  for t in $tests; do
    LLS_MUTANT=$1 cargo test -p testbenches --test "$t" -- --test-threads 2 >>"$log" 2>&1 || true
  done
  python3 - "$log" <<'EOF'
import re, sys
log = open(sys.argv[1]).read()
verdicts = dict(re.findall(r"^test (\S+) \.\.\. (ok|FAILED)", log, re.M))
for name, verdict in sorted(verdicts.items()):
    first = ""
    block = re.search(r"---- " + re.escape(name) + r" stdout ----\n(.*?)(?=\n---- |\nfailures:\n)", log, re.S)
    if block:
        b = block.group(1)
        m = re.search(r"MISMATCH sample=(\d+) layer=(\d+) signal=(\S+) index=(\d+)", b) or \
            re.search(r"Mismatch \{ sample: (\d+), layer: (\d+), signal: \"(\S+)\", index: (\d+)", b)
        first = "sample %s layer %s %s[%s]" % m.groups() if m else b.strip().splitlines()[-1][:100] if b.strip() else ""
        first = first or "(no message)"
    print(f"  {name:<75} {verdict:<7} {first}")
EOF
}

echo "baseline (no mutant): every test must pass"
baseline=$(run_tests "")
echo "$baseline"
status=0
if grep -q FAILED <<<"$baseline"; then
  echo "mutation-check: the baseline fails; fix it first" >&2
  exit 1
fi
for mutant in $mutants; do
  echo "mutant $mutant"
  out=$(run_tests "$mutant")
  echo "$out"
  if ! grep -q FAILED <<<"$out"; then
    echo "  SURVIVED: no behavioural test failed"
    status=1
  fi
done
exit $status
