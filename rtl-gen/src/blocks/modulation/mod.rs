//! The LLS-M / LLS-MxM modulation unit: a hidden layer's learnable vector m (C) or
//! matrix M (C × C) between its logits and its softmax, exactly as
//! `golden_model::spec::fixed::FixedNet::local_signal` defines it.
//!
//! ```text
//! IDLE ─start→ LOGIT  l'_j = (Σ_c l_c·M[c][j]) >> frac      (vector: m_j·l_j)
//!      → SMAX   e = softmax_error(l', y)                     (its own unit)
//!      → GRAD   g_c = (Σ_j M[c][j]·e_j) >> frac              (vector: m_c·e_c; pre-update M)
//!      → UPD    M[c][j] = sat(M[c][j] − round(l_c·e_j >> update_shift))
//!      → IDLE, done
//! ```
//! One multiplier serves the three passes (C·terms products each), with the same
//! issue / S1 / S2 pipeline as the learning unit: S0 presents the memory address, S1
//! multiplies (and accumulates, or writes the update back), S2 stores a finished sum.
//! The layer reads the C softmax errors (for readback) and the C modulated errors g
//! (for its back-projection) once `done` pulses.
//!
//! One builder per concern, in the order their sections appear in the module:
//! [`fsm`] (the passes), [`issue`] (S0 and the stage registers), [`memory`] (m or M),
//! [`operands`], [`multiply`] (S1's multiply-accumulate), [`update`] (S1's write-back),
//! [`sums`] (S2), [`softmax_link`] (the softmax-error unit) and [`control`].

mod control;
mod fsm;
mod issue;
mod memory;
mod multiply;
mod operands;
mod softmax_link;
mod sums;
mod update;

use crate::params::{addr_bits, DesignParams, LayerParams, ModParams};
use crate::verilog::{Expr, Module, Ty};

pub fn mod_file(l: &LayerParams) -> String {
    format!("{}_mod.hex", l.name)
}

/// Cycles from the `start` edge to the edge at which the layer sees `done`, the
/// counterpart of `1 + softmax::latency` for a layer without modulation: each pass
/// issues C·terms items and ends 2 cycles later (LOGIT, GRAD) or 1 (UPD, plus `done`).
pub fn latency(p: &DesignParams, mp: &ModParams) -> u64 {
    let n = (p.classes * mp.terms) as u64;
    1 + (n + 2) + (1 + super::softmax::latency(p)) + (n + 2) + (n + 1) + 1
}

/// The unit's ports, besides `clk` and `rst` (which [`fsm::Fsm`] carries).
struct Ports {
    start: Expr,
    label: Expr,
    logits: Expr,
    done: Expr,
    err: Expr,
    grad: Expr,
    rb_index: Expr,
    rb_value: Expr,
}

pub fn module(p: &DesignParams, l: &LayerParams, mp: &ModParams, header: &[String]) -> Module {
    let c_n = l.classes;
    let lw = l.logit_bits;
    let ew = l.err_bits;
    let mut m = Module::new(&format!("{}_modulation", l.name));
    m.header(header.to_vec());
    m.doc(&format!(
        "{} modulation of {c_n} logits ({} entries of Q.{} in {} bits), serial on one multiplier,\n\
         around the layer's softmax-error unit.",
        if mp.matrix {
            "LLS-MxM (C x C matrix)"
        } else {
            "LLS-M (vector)"
        },
        mp.entries,
        mp.frac,
        mp.bits
    ));
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let ports = Ports {
        start: m.input("start", Ty::bit()),
        label: m.input("label", Ty::u(l.label_bits)),
        logits: m.input("logits", Ty::u(lw * c_n as u32)),
        done: m.output_reg("done", Ty::bit()),
        err: m.output_wire("err", Ty::u(ew * c_n as u32)),
        grad: m.output_wire("grad", Ty::u(mp.grad_bits * c_n as u32)),
        rb_index: m.input("rb_index", Ty::u(addr_bits(mp.entries))),
        rb_value: m.output_wire("rb_value", Ty::s(mp.bits)),
    };
    let fsm = fsm::declare(&mut m, clk, rst);
    let s0 = issue::declare_issue(&mut m, &fsm, c_n, mp);
    let stages = issue::declare_stages(&mut m, &s0);
    let store = memory::declare(&mut m, p, l, mp, &s0, &ports);
    let ops = operands::declare(&mut m, l, &stages, &ports);
    let mul = multiply::build(&mut m, mp, &fsm, &stages, &store, &ops);
    update::build(&mut m, p, mp, &fsm, &stages, &store, &mul.prod);
    let sums = sums::build(&mut m, c_n, mp, &stages, &mul.acc, &ports.grad);
    let sm_start = softmax_link::build(&mut m, l, &fsm, &ports, &sums.mlogit, &ops.sm_done);
    control::build(
        &mut m,
        &fsm,
        &ports,
        control::Datapath {
            s0,
            stages,
            sums,
            sm_done: ops.sm_done,
            sm_start,
        },
    );
    m
}

/// Shared by the concern files' tests: the parameters of the modulated test configs.
#[cfg(test)]
pub(super) mod testing {
    pub(crate) use super::super::testing::decl;
    use super::super::testing::params;
    use crate::params::{DesignParams, LayerParams, ModParams};

    /// LLS-M: the vector m, 3 classes.
    pub(crate) fn vector() -> DesignParams {
        params(include_str!("../../../tests/configs/tiny-m.toml"))
    }

    /// LLS-MxM: the 3 × 3 matrix M.
    pub(crate) fn matrix() -> DesignParams {
        params(include_str!("../../../tests/configs/tiny-mxm.toml"))
    }

    /// The modulated layer and its parameters.
    pub(crate) fn modulated(p: &DesignParams) -> (&LayerParams, &ModParams) {
        let l = &p.layers[0];
        (l, l.modulation.as_ref().expect("layer 0 is modulated"))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{matrix, modulated, vector};
    use super::*;

    #[test]
    fn latency_grows_with_the_terms_of_each_pass() {
        let (v, x) = (vector(), matrix());
        let (_, vm) = modulated(&v);
        let (_, xm) = modulated(&x);
        assert_eq!((vm.terms, xm.terms), (1, 3));
        // Three passes of C·terms items around the softmax.
        let extra = |p: &DesignParams, mp: &ModParams| {
            latency(p, mp) - 1 - super::super::softmax::latency(p)
        };
        assert_eq!(extra(&v, vm), 3 * 3 + 7);
        assert_eq!(extra(&x, xm), 3 * 9 + 7);
    }

    #[test]
    fn the_memory_image_is_named_after_the_layer() {
        let p = vector();
        let (l, _) = modulated(&p);
        assert_eq!(mod_file(l), format!("{}_mod.hex", l.name));
    }
}
