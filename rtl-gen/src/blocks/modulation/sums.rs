//! S2: an output's finished sum `>> frac` (floor: the dropped bits go to an `unused_`
//! wire) into its modulated-logit register (LOGIT) or its gradient register (GRAD).

use crate::params::ModParams;
use crate::verilog::{assign, case, Expr, Module, Stmt, Ty};

use super::issue::Stages;

pub(super) struct Sums {
    /// `mlogit0`..: the modulated logits the softmax reads.
    pub mlogit: Vec<Expr>,
    /// `case (o2)` loading the finished sum into output o2's modulated logit.
    pub store_logit: Stmt,
    /// The same into its gradient.
    pub store_grad: Stmt,
}

/// The "stage S2" section; `grad` is the unit's gradient bus.
pub(super) fn build(
    m: &mut Module,
    c_n: usize,
    mp: &ModParams,
    s: &Stages,
    acc: &Expr,
    grad_bus: &Expr,
) -> Sums {
    m.section("stage S2: finished sums >> frac (floor)");
    let acc_w = acc.width();
    let acc_shr = m.wire_assign("acc_shr", acc.clone().slice(acc_w - 1, mp.frac).as_signed());
    if mp.frac > 0 {
        super::super::discard(m, "acc_frac", acc.clone().slice(mp.frac - 1, 0));
    }
    let mlogit: Vec<Expr> = (0..c_n)
        .map(|c| m.reg(&format!("mlogit{c}"), Ty::s(mp.logit_bits)))
        .collect();
    let grad: Vec<Expr> = (0..c_n)
        .map(|c| m.reg(&format!("grad{c}"), Ty::s(mp.grad_bits)))
        .collect();
    let o_ty = s.o2.ty();
    let store = |regs: &[Expr], bits: u32| {
        case(
            s.o2.clone(),
            (0..c_n)
                .map(|c| {
                    (
                        vec![Expr::lit(c as i128, o_ty)],
                        vec![assign(&regs[c], acc_shr.clone().resize(bits))],
                    )
                })
                .collect(),
            vec![],
        )
    };
    let store_logit = store(&mlogit, mp.logit_bits);
    let store_grad = store(&grad, mp.grad_bits);
    m.assign(
        grad_bus,
        Expr::concat(grad.iter().rev().map(|g| g.clone().as_unsigned()).collect()),
    );
    Sums {
        mlogit,
        store_logit,
        store_grad,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decl, matrix, modulated};
    use super::*;

    #[test]
    fn the_sum_is_floored_into_per_class_registers() {
        let p = matrix();
        let (l, mp) = modulated(&p);
        let c_n = l.classes;
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit());
        let grad_bus = m.output_wire("grad", Ty::u(mp.grad_bits * c_n as u32));
        let acc = m.reg("acc", Ty::s(mp.acc_bits));
        let o_ty = Ty::u(2);
        let s = Stages {
            v1: m.reg("v1", Ty::bit()),
            first1: m.reg("first1", Ty::bit()),
            last1: m.reg("last1", Ty::bit()),
            final1: m.reg("final1", Ty::bit()),
            o1: m.reg("o1", o_ty),
            addr1: m.reg("addr1", Ty::u(4)),
            base_idx1: m.reg("base_idx1", o_ty),
            err_idx1: m.reg("err_idx1", o_ty),
            done2: m.reg("done2", Ty::bit()),
            final2: m.reg("final2", Ty::bit()),
            o2: m.reg("o2", o_ty),
        };
        let sums = build(&mut m, c_n, mp, &s, &acc, &grad_bus);
        assert_eq!(sums.mlogit.len(), c_n);
        m.always_ff(&clk, vec![sums.store_logit, sums.store_grad]);
        let text = m.to_verilog();
        assert_eq!(
            decl(&text, "acc_shr"),
            Some(format!(
                "wire signed [{}:0] acc_shr = $signed(acc[{}:{}]);",
                mp.acc_bits - mp.frac - 1,
                mp.acc_bits - 1,
                mp.frac
            ))
        );
        assert_eq!(
            decl(&text, "unused_acc_frac"),
            Some(format!(
                "wire [{}:0] unused_acc_frac = acc[{}:0];",
                mp.frac - 1,
                mp.frac - 1
            ))
        );
        for c in 0..c_n {
            assert_eq!(
                decl(&text, &format!("mlogit{c}")),
                Some(format!("reg signed [{}:0] mlogit{c};", mp.logit_bits - 1))
            );
            assert_eq!(
                decl(&text, &format!("grad{c}")),
                Some(format!("reg signed [{}:0] grad{c};", mp.grad_bits - 1))
            );
        }
        assert_eq!(text.matches("case (o2)").count(), 2, "{text}");
    }
}
