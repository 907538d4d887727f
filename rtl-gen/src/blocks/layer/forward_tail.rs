//! After a row's sum: the classifier's running argmax (and its logits when learning), or
//! a hidden unit's activation, rounding shift and saturation into h, sent to the next
//! layer at the done stage.

use crate::verilog::{assign, case, if_, Expr, Module, Stmt, Ty};

use super::super::narrowing::{saturate, shift_round};
use super::super::{discard, registered_gt};
use super::pipeline::Chains;
use super::schedule::argmax_split;
use super::Unit;

/// The classifier's running argmax over the rows as they finish; its clocked block is
/// completed by [`Argmax::finish`], so that the logits can join it.
pub(super) struct Argmax {
    ff: Vec<Stmt>,
    best: Expr,
    best_idx: Expr,
    /// The finished sum at the done stage.
    z: Expr,
    /// The row at the done stage is the first, or beats the maximum so far.
    take: Expr,
    row_d: Expr,
}

impl Argmax {
    pub(super) fn begin(m: &mut Module, u: &Unit, pipe: &Chains, acc: &Expr) -> Argmax {
        let l = u.l;
        let acc_w = l.acc_bits;
        m.section("done stage: running argmax (and logits when learning)");
        let best = m.reg("best", Ty::s(acc_w));
        let best_idx = m.reg("best_idx", Ty::u(l.label_bits));
        // The finished sum and whether it beats the maximum of the rows before it.
        let (z, beats) = if argmax_split(l) {
            let z_q = m.reg("sum_q", Ty::s(acc_w));
            // A wide compare is registered as its halves' three results, combined at the
            // done stage (one LUT there).
            let (beats, gt_ff) = registered_gt(m, "sum_gt", "sum", acc, &best);
            m.always_ff(
                &u.clk,
                u.held([vec![assign(&z_q, acc.clone())], gt_ff].concat()),
            );
            (z_q, beats)
        } else {
            (acc.clone(), acc.clone().gt(best.clone()))
        };
        let row_d = pipe.row[u.st.done as usize].clone();
        let take = row_d.clone().eq(Expr::lit(0, row_d.ty())).lor(beats);
        Argmax {
            ff: Vec::new(),
            best,
            best_idx,
            z,
            take,
            row_d,
        }
    }

    /// The logits, registered per row at the done stage: the finished sum shifted right.
    pub(super) fn logits(&mut self, m: &mut Module, u: &Unit) -> Vec<Expr> {
        let l = u.l;
        let logits: Vec<Expr> = (0..l.classes)
            .map(|c| m.reg(&format!("logit{c}"), Ty::s(l.logit_bits)))
            .collect();
        let logit_val = m.wire_assign(
            "logit_val",
            self.z
                .clone()
                .slice(l.acc_bits - 1, l.logit_shift)
                .as_signed(),
        );
        self.ff.push(case(
            self.row_d.clone(),
            (0..l.classes)
                .map(|c| {
                    (
                        vec![Expr::lit(c as i128, self.row_d.ty())],
                        vec![assign(&logits[c], logit_val.clone())],
                    )
                })
                .collect(),
            vec![],
        ));
        logits
    }

    /// On `done` alone (it is only ever set in the forward pass), not inside the state
    /// machine: the maximum's enable is then one LUT.
    pub(super) fn finish(mut self, m: &mut Module, u: &Unit, pipe: &Chains) {
        self.ff.push(if_(
            self.take,
            vec![
                assign(&self.best, self.z),
                assign(&self.best_idx, self.row_d),
            ],
        ));
        m.always_ff(&u.clk, vec![if_(pipe.done.clone(), self.ff)]);
    }
}

/// A hidden unit's done stage and the sign of z it keeps for f'(z).
pub(super) struct Activation {
    /// h, its row and the valid flag onto the output ports.
    pub done_stmts: Vec<Stmt>,
    /// The sign of z at the done stage (when learning).
    pub z_neg: Option<Expr>,
}

/// h = sat(round(act(z) >> act_shift)): the activation, the rounding shift and the
/// saturation a stage each, h registered into `out_data` at the done stage.
pub(super) fn activation(
    m: &mut Module,
    u: &Unit,
    pipe: &Chains,
    acc: &Expr,
    out_ports: &[Expr],
) -> Activation {
    let (p, l) = (u.p, u.l);
    let acc_w = l.acc_bits;
    m.section("after the sum: activation, rounding shift, then h saturated at the done stage");
    let acc_neg = m.wire_assign("acc_neg", acc.clone().bit(acc_w - 1));
    let leak = if l.leaky {
        m.wire_assign("acc_leak", acc.clone().sar(l.leak_shift))
    } else {
        Expr::lit(0, Ty::s(acc_w))
    };
    let act_in = m.wire_assign("act_in", Expr::mux(acc_neg.clone(), leak, acc.clone()));
    // Registered every cycle: they hold a row's value in the cycle its item reaches the
    // next stage, which is all the done stage needs.
    let act_q = m.reg("act_q", Ty::s(acc_w));
    let h_shr = shift_round(m, "h_shr", act_q.clone(), l.act_shift, p.rounding, None);
    let h_shr_q = m.reg("h_shr_q", h_shr.ty());
    let mut tail_ff = vec![assign(&act_q, act_in), assign(&h_shr_q, h_shr)];
    // The sign of z travels along for f'(z) in the update.
    let z_neg = if p.learn {
        let q1 = m.reg("act_neg_q", Ty::bit());
        let q2 = m.reg("h_neg_q", Ty::bit());
        tail_ff.push(assign(&q1, acc_neg));
        tail_ff.push(assign(&q2, q1));
        Some(q2)
    } else {
        discard(m, "acc_sign", acc_neg);
        None
    };
    m.always_ff(&u.clk, u.held(tail_ff));
    let h = saturate(m, "h", h_shr_q, l.act_bits);
    Activation {
        done_stmts: vec![
            assign(&out_ports[0], Expr::bool(true)),
            assign(&out_ports[1], pipe.row[u.st.done as usize].clone()),
            assign(&out_ports[2], h),
        ],
        z_neg,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;

    #[test]
    fn the_classifier_keeps_a_running_maximum_and_its_row() {
        let knobs = Knobs::default();
        let l = knobs.layer(1);
        let unit = knobs.unit(1);
        assert_eq!(unit.width("best"), l.acc_bits);
        assert_eq!(unit.width("best_idx"), l.label_bits);
        assert_eq!(unit.numbered("logit"), l.classes);
        assert!(!unit.has("act_q"));
    }

    #[test]
    fn a_hidden_unit_activates_rounds_and_saturates() {
        let leaky = Knobs::default();
        let unit = leaky.unit(0);
        assert!(unit.has("act_q") && unit.has("h_shr_q") && unit.has("acc_leak"));
        assert!(unit.has("h_neg_q"), "the sign of z travels to the update");
        let relu = Knobs {
            activation: "relu",
            learn: false,
            ..Knobs::default()
        }
        .unit(0);
        assert!(!relu.has("acc_leak") && !relu.has("h_neg_q"));
    }
}
