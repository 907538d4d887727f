//! The softmax-error unit: `e = p − onehot(label)` from C logits, exactly as
//! `golden_model::spec::softmax::softmax_error` defines it.
//!
//! Find the maximum, a class at a time (2C cycles), look up `EXP[min(max − l_c, len−1)]`
//! in the exp ROM and sum (C+4 cycles; C+5 with a two-stage lookup,
//! `DesignParams::exp_lookup_stages`; plus `fsm::entry_wait` where the dividers' first
//! classes are written late), then divide each `E_c · 2^P` by the sum with d
//! non-restoring dividers (`DesignParams::softmax_dividers`), d classes a round, one
//! quotient bit per cycle (C/d·(P+1) cycles), and register each round's errors a cycle
//! after its last quotient bit (1).
//! `done` pulses once the C errors are registered. The class selects (`logit_sel`,
//! `exp_sel`) are registered, so each cycle does one compare or one subtract.
//!
//! One builder per concern, in the order their sections appear in the module:
//! [`fsm`] (state and counters), [`select`] (the logit select and the max scan),
//! [`exp`] (the exp lookup and sum), [`divide`] (the divider), [`error`] (the error
//! registers) and [`control`] (the state machine's clocked block).

mod control;
mod divide;
mod error;
mod exp;
mod fsm;
mod select;

use crate::params::{DesignParams, LayerParams};
use crate::verilog::{Expr, Module, Ty};

pub fn exp_rom_file() -> &'static str {
    "exp.hex"
}

/// Cycles from `start` (sampled at an edge) to `done` high, for the cycle model.
pub fn latency(p: &DesignParams) -> u64 {
    let c = p.classes as u64;
    let d = p.softmax_dividers;
    let exp = c + 3 + p.exp_lookup_stages as u64 + fsm::entry_wait(p.classes, d) as u64;
    let rounds = c / d as u64;
    2 * c + exp + rounds * (p.prob_frac as u64 + 1) + 1
}

/// The unit's ports, besides `clk` and `rst` (which [`fsm::Fsm`] carries).
struct Ports {
    start: Expr,
    label: Expr,
    logits: Expr,
    done: Expr,
    err: Expr,
}

pub fn module(p: &DesignParams, l: &LayerParams, header: &[String]) -> Module {
    let c_n = p.classes;
    let lw = l.softmax_logit_bits();
    let ew = l.err_bits;
    let mut m = Module::new(&format!("{}_softmax", l.name));
    m.header(header.to_vec());
    m.doc(&format!(
        "Softmax error of {c_n} logits (Q.{} in {lw} bits) -> p - onehot(label) in Q.{} ({ew} bits).\n\
         Max scan, exp ROM lookup and sum, then one non-restoring division per class.",
        p.logit_frac, p.prob_frac
    ));
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let ports = Ports {
        start: m.input("start", Ty::bit()),
        label: m.input("label", Ty::u(p.label_bits)),
        logits: m.input("logits", Ty::u(lw * c_n as u32)),
        done: m.output_reg("done", Ty::bit()),
        err: m.output_wire("err", Ty::u(ew * c_n as u32)),
    };
    let fsm = fsm::declare(&mut m, p, clk, rst);
    let sel = select::declare(&mut m, &fsm, &ports.logits, lw);
    let exp = exp::build(&mut m, p, &fsm, &sel);
    let div = divide::build(&mut m, p, &fsm, &exp);
    let err = error::build(&mut m, p, ew, &fsm, &div, &ports.err);
    control::build(
        &mut m,
        &fsm,
        &ports,
        &control::Datapath { sel, exp, div, err },
    );
    m
}

/// Shared by the concern files' tests: the design and layer parameters of a test config.
#[cfg(test)]
pub(super) mod testing {
    pub(crate) use super::super::testing::decl;
    use super::super::testing::params;
    use crate::params::{DesignParams, LayerParams};

    pub(crate) fn tiny() -> DesignParams {
        params(include_str!("../../../tests/configs/tiny-m.toml"))
    }

    /// A banked (ECP5) design: the two-stage exp lookup.
    pub(crate) fn banked() -> DesignParams {
        params(include_str!("../../../tests/configs/tiny-banked.toml"))
    }

    pub(crate) fn classifier(p: &DesignParams) -> &LayerParams {
        p.layers.last().expect("a classifier")
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use golden_model::spec::softmax::{exp_table, softmax_error};

    use crate::blocks::POISON_COLLISIONS;

    use super::testing::{banked, classifier, tiny};
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("rtl-gen-softmax-unit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        dir
    }

    #[test]
    fn simulated_unit_matches_the_golden_softmax_error() {
        simulate_against_golden(&tiny(), "one-stage");
    }

    #[test]
    fn simulated_unit_with_a_divider_per_class_matches_the_golden_softmax_error() {
        let p = super::super::testing::params(&with_dividers(
            include_str!("../../../tests/configs/tiny-m.toml"),
            3,
        ));
        simulate_against_golden(&p, "all-dividers");
    }

    #[test]
    fn simulated_unit_with_dividers_in_rounds_matches_the_golden_softmax_error() {
        // Ten classes (banked, a two-stage lookup): five dividers take two rounds, two
        // take five, ten one (after the entry's wait).
        let ten = include_str!("../../../tests/configs/tiny-banked.toml")
            .replace("classes = 3", "classes = 10");
        for d in [2, 5, 10] {
            let p = super::super::testing::params(&with_dividers(&ten, d));
            simulate_against_golden(&p, &format!("ten-classes-{d}"));
        }
    }

    /// A test config's text with `hardware.softmax_dividers = d`.
    fn with_dividers(toml: &str, d: usize) -> String {
        toml.replace(
            "[hardware]\n",
            &format!("[hardware]\nsoftmax_dividers = {d}\n"),
        )
    }

    #[test]
    fn simulated_unit_with_a_two_stage_lookup_matches_the_golden_softmax_error() {
        let p = banked();
        assert_eq!(
            p.exp_lookup_stages, 2,
            "the banked preset halves the exp ROM"
        );
        simulate_against_golden(&p, "two-stage");
    }

    /// The unit simulated in Icarus on a few logit vectors gives the golden model's errors
    /// bit for bit, `done` exactly [`latency`] edges after `start`.
    fn simulate_against_golden(p: &DesignParams, tag: &str) {
        let l = classifier(p);
        let unit = module(p, l, &[]);
        let (c_n, lw, ew) = (p.classes, l.softmax_logit_bits(), l.err_bits);
        // Each pattern repeated over the C classes.
        let spread = |pattern: &[i64]| -> Vec<i64> {
            (0..c_n).map(|c| pattern[c % pattern.len()]).collect()
        };
        let cases: Vec<(Vec<i64>, usize)> = vec![
            (spread(&[0]), 0),
            (spread(&[37, -12, 5, 90]), 1),
            (spread(&[-300, 250, 249]), c_n - 1),
            (spread(&[(1 << (lw - 1)) - 1, -(1 << (lw - 1)), 0]), 0),
        ];
        let mut tb = String::from("`timescale 1ns/1ps\nmodule tb;\n");
        tb += &format!(
            "reg clk = 0, rst = 1, start = 0;\nreg [{}:0] label = 0;\nreg [{}:0] logits = 0;\n\
             wire done;\nwire [{}:0] err;\ninteger cycles;\n",
            p.label_bits - 1,
            lw * c_n as u32 - 1,
            ew * c_n as u32 - 1
        );
        tb += &format!(
            "{} dut(.clk(clk), .rst(rst), .start(start), .label(label), .logits(logits), \
             .done(done), .err(err));\n",
            unit.name()
        );
        tb += "always #5 clk = ~clk;\ninitial begin\n  @(negedge clk); rst = 0;\n";
        for (logits, label) in &cases {
            let bus: Vec<String> = logits
                .iter()
                .rev()
                .map(|v| format!("{lw}'d{}", v & ((1 << lw) - 1)))
                .collect();
            tb += &format!(
                "  @(negedge clk); label = {label}; logits = {{{}}}; start = 1;\n  \
                 @(negedge clk); start = 0; cycles = 0;\n  \
                 while (!done) begin @(negedge clk); cycles = cycles + 1; end\n  \
                 $display(\"case %0d %h\", cycles, err);\n",
                bus.join(", ")
            );
        }
        tb += "  $finish;\nend\nendmodule\n";

        let dir = scratch(tag);
        std::fs::write(dir.join("unit.v"), unit.to_verilog()).expect("write unit");
        std::fs::write(dir.join("tb.v"), tb).expect("write tb");
        std::fs::write(dir.join(exp_rom_file()), crate::mem::exp_image(p)).expect("write rom");
        // Reads that meet the exp table's write in the same cycle are poisoned.
        let poison = format!("-D{POISON_COLLISIONS}");
        let text = toolchain::simulate_icarus(&dir, &[poison], &["unit.v", "tb.v"])
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::remove_dir_all(&dir).ok();

        let table = exp_table(p.logit_frac, 1 << p.exp_index_bits);
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("case")).collect();
        assert_eq!(lines.len(), cases.len(), "{text}");
        for ((logits, label), line) in cases.iter().zip(lines) {
            let mut words = line.split_whitespace().skip(1);
            let cycles: u64 = words.next().and_then(|w| w.parse().ok()).expect("cycles");
            // `done` is seen at the negedge after the edge that raises it.
            assert_eq!(cycles, latency(p), "{logits:?}");
            let bus = u128::from_str_radix(words.next().expect("err"), 16).expect("hex");
            let got: Vec<i64> = (0..c_n)
                .map(|c| {
                    let raw = (bus >> (c as u32 * ew)) as i64 & ((1 << ew) - 1);
                    (raw << (64 - ew)) >> (64 - ew)
                })
                .collect();
            let want = softmax_error(logits, *label, &table, p.prob_frac);
            assert_eq!(got, want, "logits {logits:?} label {label}");
        }
    }
}
