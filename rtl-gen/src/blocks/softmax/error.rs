//! The errors of the round whose quotients finished last cycle: `p − 1` for the label,
//! `p` otherwise, where p is a divider's quotient (the remainder signs inverted, off the
//! divider's loop), registered per class under a write mask (each error register's enable
//! is one flip-flop, no class decode).

use crate::params::DesignParams;
use crate::verilog::{assign, if_, Expr, Module, Ty};

use super::divide::{per_divider, Divider};
use super::fsm::Fsm;

/// The registers the control loads at a round's last quotient step.
pub(super) struct ErrorOut {
    /// A bit per class, set on the round's classes (zero otherwise).
    pub write: Expr,
    /// Per divider: whether its class this round is the label.
    pub is_label: Vec<Expr>,
}

/// The "error" section: `err0`..`err{C−1}` and the `err` bus. Class c takes divider
/// c mod d's error.
pub(super) fn build(
    m: &mut Module,
    p: &DesignParams,
    ew: u32,
    fsm: &Fsm,
    div: &Divider,
    err_bus: &Expr,
) -> ErrorOut {
    let (c_n, d) = (fsm.classes, fsm.dividers);
    let prob = p.prob_frac;
    m.section("error of the round whose quotients finished last cycle");
    let write = m.reg("quo_fin_write", Ty::u(c_n as u32));
    let one = Expr::lit(1i128 << prob, Ty::s(ew));
    let mut is_label = Vec::new();
    let mut e_val = Vec::new();
    for j in 0..d {
        let name = |base: &str| per_divider(base, j, d);
        let q_fin = m.wire_assign(
            &name("quo_fin_signs"),
            Expr::concat(vec![div.signs[j].clone(), div.sign_q[j].clone()]),
        );
        let label = m.reg(&name("quo_fin_is_label"), Ty::bit());
        let p_ext = m.wire_assign(&name("prob"), q_fin.not().resize(ew).as_signed());
        e_val.push(m.wire_assign(
            &name("err_val"),
            Expr::mux(label.clone(), p_ext.clone().sub(one.clone()), p_ext),
        ));
        is_label.push(label);
    }
    let err: Vec<Expr> = (0..c_n)
        .map(|c| m.reg(&format!("err{c}"), Ty::s(ew)))
        .collect();
    m.assign(
        err_bus,
        Expr::concat(err.iter().rev().map(|e| e.clone().as_unsigned()).collect()),
    );
    m.always_ff(
        &fsm.clk,
        err.iter()
            .enumerate()
            .map(|(c, e)| {
                if_(
                    write.clone().bit(c as u32),
                    vec![assign(e, e_val[c % d].clone())],
                )
            })
            .collect(),
    );
    ErrorOut { write, is_label }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{classifier, decl, tiny};
    use super::*;

    #[test]
    fn each_class_has_a_signed_error_register_under_its_write_bit() {
        let p = tiny();
        let ew = classifier(&p).err_bits;
        let c_n = p.classes as u32;
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit());
        let rst = m.input("rst", Ty::bit());
        let err_bus = m.output_wire("err", Ty::u(ew * c_n));
        let fsm = super::super::fsm::declare(&mut m, &p, clk, rst);
        // Stand-ins for the divider's signs.
        let div = Divider {
            step: m.reg("div_step", Ty::bit()),
            div_on: m.reg("div_on", Ty::bit()),
            sign_q: vec![m.reg("rem_sign_q", Ty::bit())],
            signs: vec![m.reg("rem_signs", Ty::u(p.prob_frac))],
            next_round: None,
        };
        let out = build(&mut m, &p, ew, &fsm, &div, &err_bus);
        assert_eq!(out.write.width(), c_n);
        let text = m.to_verilog();
        for c in 0..c_n {
            assert_eq!(
                decl(&text, &format!("err{c}")),
                Some(format!("reg signed [{}:0] err{c};", ew - 1)),
                "{text}"
            );
            assert!(
                text.contains(&format!("if (quo_fin_write[{c}]) begin")),
                "{text}"
            );
        }
        assert!(
            text.contains("assign err = {$unsigned(err2), $unsigned(err1), $unsigned(err0)};"),
            "{text}"
        );
        // The label's error subtracts one in Q.P.
        let one = format!("{ew}'sd{}", 1u64 << p.prob_frac);
        assert!(
            text.contains(&format!(
                "err_val = quo_fin_is_label ? (prob - {one}) : prob;"
            )),
            "{text}"
        );
        assert!(
            text.contains("prob = $signed({1'b0, ~quo_fin_signs});"),
            "{text}"
        );
    }
}
