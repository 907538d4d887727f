//! The multiplier's operands: the base logits (the layer's) and the softmax errors (of
//! the modulated logits), each picked by S1's class index.

use crate::params::LayerParams;
use crate::verilog::{Expr, Module, Ty};

use super::issue::Stages;
use super::Ports;

pub(super) struct Operands {
    /// `logit[base_idx1]`.
    pub base_sel: Expr,
    /// `err[err_idx1]`.
    pub err_sel: Expr,
    /// The softmax unit's `done`.
    pub sm_done: Expr,
}

/// The "operands" section.
pub(super) fn declare(m: &mut Module, l: &LayerParams, s: &Stages, ports: &Ports) -> Operands {
    let c_n = l.classes;
    m.section("operands: base logits, softmax errors");
    let base = super::super::signed_fields(m, "base", &ports.logits, c_n, l.logit_bits);
    let sm_done = m.wire("sm_done", Ty::bit());
    let err = super::super::signed_fields(m, "err", &ports.err, c_n, l.err_bits);
    let base_sel = super::super::select(m, "base_sel", &base, &s.base_idx1);
    let err_sel = super::super::select(m, "err_sel", &err, &s.err_idx1);
    Operands {
        base_sel,
        err_sel,
        sm_done,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decl, modulated, vector};
    use super::super::{fsm, issue};
    use super::*;
    use crate::params::ModParams;

    #[test]
    fn each_operand_is_one_signed_field_of_its_bus() {
        let p = vector();
        let (l, mp): (_, &ModParams) = modulated(&p);
        let (lw, ew, c_n) = (l.logit_bits, l.err_bits, l.classes as u32);
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit());
        let rst = m.input("rst", Ty::bit());
        let ports = Ports {
            start: m.input("start", Ty::bit()),
            label: m.input("label", Ty::u(l.label_bits)),
            logits: m.input("logits", Ty::u(lw * c_n)),
            done: m.output_reg("done", Ty::bit()),
            err: m.output_wire("err", Ty::u(ew * c_n)),
            grad: m.output_wire("grad", Ty::u(mp.grad_bits * c_n)),
            rb_index: m.input("rb_index", Ty::u(2)),
            rb_value: m.output_wire("rb_value", Ty::s(mp.bits)),
        };
        let fsm = fsm::declare(&mut m, clk, rst);
        let s0 = issue::declare_issue(&mut m, &fsm, l.classes, mp);
        let s = issue::declare_stages(&mut m, &s0);
        let ops = declare(&mut m, l, &s, &ports);
        assert_eq!(ops.base_sel.ty(), Ty::s(lw));
        assert_eq!(ops.err_sel.ty(), Ty::s(ew));
        let text = m.to_verilog();
        assert_eq!(
            decl(&text, "base2"),
            Some(format!(
                "wire signed [{}:0] base2 = $signed(logits[{}:{}]);",
                lw - 1,
                3 * lw - 1,
                2 * lw
            ))
        );
        assert_eq!(
            decl(&text, "err_sel"),
            Some(format!("reg signed [{}:0] err_sel;", ew - 1))
        );
        assert!(text.contains("case (err_idx1)"), "{text}");
        assert_eq!(decl(&text, "sm_done").as_deref(), Some("wire sm_done;"));
    }
}
