//! S1's one multiplier and the accumulator: `l·M` (LOGIT), `e·M` (GRAD), `l·e` (UPD).
//! LOGIT and GRAD accumulate the products of an output's terms (the first term loads);
//! UPD's products go to [`super::update`] instead.

use crate::params::ModParams;
use crate::verilog::{assign, if_, if_else, Expr, Module, Ty};

use super::fsm::Fsm;
use super::issue::Stages;
use super::memory::ModMem;
use super::operands::Operands;

pub(super) struct Mul {
    pub prod: Expr,
    pub acc: Expr,
}

/// The "stage S1: one multiplier" section.
pub(super) fn build(
    m: &mut Module,
    mp: &ModParams,
    fsm: &Fsm,
    s: &Stages,
    store: &ModMem,
    ops: &Operands,
) -> Mul {
    use super::super::{discard, sum, widen};
    m.section("stage S1: one multiplier: l*M (LOGIT), e*M (GRAD), l*e (UPD)");
    let (aw, bw) = (mp.mul_a_bits, mp.mul_b_bits);
    let base_a = widen(m, "base_a", ops.base_sel.clone(), aw);
    let err_a = widen(m, "err_a", ops.err_sel.clone(), aw);
    let mod_b = widen(m, "mod_b", store.mod_q.clone(), bw);
    let err_b = widen(m, "err_b", ops.err_sel.clone(), bw);
    let mul_a = m.wire_assign("mul_a", Expr::mux(fsm.in_grad.clone(), err_a, base_a));
    let mul_b = m.wire_assign("mul_b", Expr::mux(fsm.in_upd.clone(), err_b, mod_b));
    let prod = m.wire_assign("prod", mul_a.mul(mul_b));
    let acc_w = mp.acc_bits;
    let acc = m.reg("acc", Ty::s(acc_w));
    let prod_ext = widen(m, "prod_ext", prod.clone(), acc_w.max(prod.width()));
    let prod_acc = if prod_ext.width() > acc_w {
        // Under LLS-M the product is wider than either sum needs (one operand is narrow).
        discard(
            m,
            "prod_high",
            prod_ext.clone().slice(prod_ext.width() - 1, acc_w),
        );
        m.wire_assign("prod_acc", prod_ext.slice(acc_w - 1, 0).as_signed())
    } else {
        prod_ext
    };
    m.always_ff(
        &fsm.clk,
        vec![if_(
            s.v1.clone().land(fsm.in_upd.clone().lnot()),
            vec![if_else(
                s.first1.clone(),
                vec![assign(&acc, prod_acc.clone())],
                vec![assign(&acc, sum(vec![acc.clone(), prod_acc]))],
            )],
        )],
    );
    Mul { prod, acc }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decl, matrix, modulated, vector};
    use super::*;

    /// The whole unit's text (the multiplier needs every concern before it).
    fn unit_text(p: &crate::params::DesignParams) -> (String, ModParams) {
        let (l, mp) = modulated(p);
        (super::super::module(p, l, mp, &[]).to_verilog(), mp.clone())
    }

    #[test]
    fn the_product_and_accumulator_have_the_planned_widths() {
        for p in [vector(), matrix()] {
            let (text, mp) = unit_text(&p);
            assert_eq!(
                decl(&text, "acc"),
                Some(format!("reg signed [{}:0] acc;", mp.acc_bits - 1))
            );
            let prod = decl(&text, "prod").expect("prod");
            // Both operands sign-extended to the product's width.
            let (aw, bw) = (mp.mul_a_bits, mp.mul_b_bits);
            assert_eq!(
                prod,
                format!(
                    "wire signed [{}:0] prod = $signed({{{{{bw}{{mul_a[{}]}}}}, mul_a}}) * \
                     $signed({{{{{aw}{{mul_b[{}]}}}}, mul_b}});",
                    aw + bw - 1,
                    aw - 1,
                    bw - 1
                )
            );
            assert!(text.contains("if (v1 && !in_upd) begin"), "{text}");
            assert!(text.contains("acc <= acc + "), "{text}");
        }
    }

    #[test]
    fn a_product_wider_than_the_accumulator_is_cut_to_it() {
        let p = vector();
        let (l, mp) = modulated(&p);
        let full = mp.mul_a_bits + mp.mul_b_bits;
        // The test presets' accumulators hold the whole product: nothing to cut.
        assert!(full <= mp.acc_bits);
        let text = super::super::module(&p, l, mp, &[]).to_verilog();
        assert!(decl(&text, "prod_acc").is_none(), "{text}");
        let narrow = ModParams {
            acc_bits: full - 4,
            ..mp.clone()
        };
        let text = super::super::module(&p, l, &narrow, &[]).to_verilog();
        assert_eq!(
            decl(&text, "unused_prod_high"),
            Some(format!(
                "wire [3:0] unused_prod_high = prod[{}:{}];",
                full - 1,
                full - 4
            ))
        );
        assert_eq!(
            decl(&text, "prod_acc"),
            Some(format!(
                "wire signed [{}:0] prod_acc = $signed(prod[{}:0]);",
                full - 5,
                full - 5
            ))
        );
        assert!(text.contains("acc <= prod_acc;"), "{text}");
    }
}
