//! The non-restoring divider: `q = floor(E_c · 2^P / sum)`, one quotient bit a cycle.
//!
//! The partial remainder r_k (two's complement, rw = sum_bits + 1 bits) is
//! r_k = 2·r_{k-1} − sum after a non-negative one, 2·r_{k-1} + sum after a negative one
//! (a class's first step: E − sum): the same r_k as the restoring divider's trial
//! subtraction, so the same quotient bits (r_k ≥ 0), but one add a step.
//! |r_k| < sum < 2^(rw−1), so the arithmetic wraps modulo 2^rw harmlessly. The add's
//! three operands are registers, loaded from the step before: the loop is the carry
//! chain, its sign bit and one LUT a bit (step, sum bit, sign, load value).

use crate::params::DesignParams;
use crate::verilog::{assign, if_, Expr, Memory, Module, Stmt, Ty};

use super::exp::ExpSum;
use super::fsm::Fsm;

/// The dividers' flags, which the control drives, and their quotients, as remainder signs.
pub(super) struct Divider {
    /// This cycle is a quotient step of a round that is not at its last one.
    pub step: Expr,
    /// The dividers' registers load this cycle.
    pub div_on: Expr,
    /// Per divider: the last remainder's sign.
    pub sign_q: Vec<Expr>,
    /// Per divider: the P signs before it, the oldest in the MSB.
    pub signs: Vec<Expr>,
    /// Several dividers over several rounds: one-hot on the round whose E the next first
    /// step loads (round 0 while idle, round r + 1 from round r's first step on).
    pub next_round: Option<Expr>,
}

/// `name` for divider `j` of `d`: as is with one divider, `name_j` with several.
pub(super) fn per_divider(name: &str, j: usize, d: usize) -> String {
    if d == 1 {
        name.to_string()
    } else {
        format!("{name}_{j}")
    }
}

/// The "non-restoring division" section: `DesignParams::softmax_dividers` dividers on one
/// sum, divider j on classes j, j + d, … a round at a time.
pub(super) fn build(m: &mut Module, p: &DesignParams, fsm: &Fsm, exp: &ExpSum) -> Divider {
    m.section("non-restoring division: q = floor(E_c * 2^P / sum)");
    let rw = p.sum_bits + 1;
    // div_step: state == S_DIV && iter != P, kept as a register so that the operands' next
    // values decode nothing behind the carry chain. Otherwise the operands load a round's
    // first step (E_c − sum), which the entry and each round end need and all other cycles
    // ignore.
    let step = m.reg("div_step", Ty::bit());
    // div_on: a flip-flop on the divider registers' clock enables, so they hold, and a
    // simulator skips them, for all but the C/d·(P+1) cycles of a sample that divide.
    let div_on = m.reg("div_on", Ty::bit());
    // −sum for a first step: at the entry the sum may take its last E at that very edge
    // (exp_valid), at a round end it is complete.
    let first_b = m.wire_assign(
        "div_b_first",
        Expr::mux(
            exp.exp_valid.clone(),
            exp.total_next.clone(),
            exp.total.clone(),
        )
        .resize(rw)
        .not(),
    );
    let rounds = fsm.classes / fsm.dividers;
    let mut div = Divider {
        step,
        div_on,
        sign_q: Vec::new(),
        signs: Vec::new(),
        // The memory's read (one divider) follows the class counter instead.
        next_round: (exp.mem.is_none() && rounds > 1)
            .then(|| m.reg("div_next_round", Ty::u(rounds as u32))),
    };
    let ex_sel_q = match &exp.mem {
        Some(mem) => vec![read_port(m, p, fsm, exp, mem)],
        None => class_registers(m, p, fsm, exp, div.next_round.as_ref()),
    };
    let mut loads = Vec::new();
    for (j, e) in ex_sel_q.into_iter().enumerate() {
        loads.extend(one_divider(m, fsm, exp, &first_b, e, j, &mut div));
    }
    m.always_ff(&fsm.clk, vec![if_(div.div_on.clone(), loads)]);
    div
}

/// Divider `j`'s registers and their loads: its remainder's add and the signs it shifts.
fn one_divider(
    m: &mut Module,
    fsm: &Fsm,
    exp: &ExpSum,
    first_b: &Expr,
    ex_sel_q: Expr,
    j: usize,
    div: &mut Divider,
) -> Vec<Stmt> {
    let (prob, rw, d) = (fsm.prob, first_b.width(), fsm.dividers);
    let name = |base: &str| per_divider(base, j, d);
    // div_a: E, or 2·r_{k-1}; div_b: the sum, or its complement when subtracting; div_sub:
    // the carry-in, 1 when subtracting.
    let div_a = m.reg(&name("div_a"), Ty::u(rw));
    let div_b = m.reg(&name("div_b"), Ty::u(rw));
    let sub = m.reg(&name("div_sub"), Ty::bit());
    // The signs of the partial remainders, i.e. the quotient bits inverted. The sign leaves
    // the chain into one register beside it (rem_sign_q, so the loop's only other loads are
    // the operands) and is shifted on from there every cycle: the cycle after a round's last
    // step, rem_signs and rem_sign_q hold its P+1 signs.
    let sign_q = m.reg(&name("rem_sign_q"), Ty::bit());
    let signs = m.reg(&name("rem_signs"), Ty::u(prob));
    let rem_next = m.wire_assign(
        &name("rem_next"),
        div_a.clone().add(div_b.clone()).add(sub.clone().resize(rw)),
    );
    let rem_neg = m.wire_assign(&name("rem_neg"), rem_next.clone().bit(rw - 1));
    let step = div.step.clone();
    let loads = vec![
        assign(
            &div_a,
            Expr::mux(
                step.clone(),
                Expr::concat(vec![
                    rem_next.clone().slice(rw - 2, 0),
                    Expr::lit(0, Ty::u(1)),
                ]),
                ex_sel_q.resize(rw),
            ),
        ),
        assign(
            &div_b,
            Expr::mux(
                step.clone(),
                exp.total
                    .clone()
                    .resize(rw)
                    .xor(Expr::repeat(rw, rem_neg.clone().lnot())),
                first_b.clone(),
            ),
        ),
        assign(&sub, step.land(rem_neg.clone()).lnot()),
        assign(&sign_q, rem_neg),
        assign(
            &signs,
            Expr::concat(vec![signs.clone().slice(prob - 2, 0), sign_q.clone()]),
        ),
    ];
    div.sign_q.push(sign_q);
    div.signs.push(signs);
    loads
}

/// One divider's `exp_sel_q`: E of the class whose division starts after this cycle
/// (class 0 outside the division), from `exp_mem`, whose write port the lookup drives. The
/// read is issued a cycle ahead: the next class at the one-but-last quotient step.
fn read_port(m: &mut Module, p: &DesignParams, fsm: &Fsm, exp: &ExpSum, mem: &Memory) -> Expr {
    let idx = m.wire_assign(
        "exp_sel_idx",
        Expr::mux(
            fsm.state.clone().eq(fsm.s_div.clone()),
            Expr::mux(
                fsm.iter.clone().eq(fsm.iter_lit(fsm.prob - 1)),
                fsm.cnt_inc(),
                fsm.cnt.clone(),
            ),
            fsm.cnt_lit(0),
        ),
    );
    let ex_sel_q = m.reg("exp_sel_q", Ty::u(p.exp_bits));
    let port = super::super::ram_port(
        m,
        mem,
        exp.exp_valid.clone(),
        exp.exp_class.clone(),
        exp.exp_q.clone(),
        &ex_sel_q,
        idx,
    );
    m.always_ff(&fsm.clk, port);
    ex_sel_q
}

/// Several dividers: `E_c` in a register per class, loaded as the lookup passes it, and
/// divider j's operand: class j, or, over several rounds, class j + r·d of the round
/// `next_round` holds (an AND-OR of its rounds' registers).
fn class_registers(
    m: &mut Module,
    p: &DesignParams,
    fsm: &Fsm,
    exp: &ExpSum,
    next_round: Option<&Expr>,
) -> Vec<Expr> {
    let (c_n, d) = (fsm.classes, fsm.dividers);
    let e: Vec<Expr> = (0..c_n)
        .map(|c| m.reg(&format!("exp_c{c}"), Ty::u(p.exp_bits)))
        .collect();
    m.always_ff(
        &fsm.clk,
        e.iter()
            .enumerate()
            .map(|(c, e_c)| {
                let mine = exp
                    .exp_valid
                    .clone()
                    .land(exp.exp_class.clone().eq(fsm.cnt_lit(c)));
                if_(mine, vec![assign(e_c, exp.exp_q.clone())])
            })
            .collect(),
    );
    (0..d)
        .map(|j| match next_round {
            None => e[j].clone(),
            Some(round) => {
                let classes = (j..c_n).step_by(d).map(|c| e[c].clone()).collect();
                m.wire_assign(
                    &per_divider("exp_sel", j, d),
                    super::super::one_hot_select(round, classes),
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{classifier, decl, tiny};
    use super::super::{exp, fsm, select};
    use super::*;

    fn built() -> (DesignParams, Divider, String) {
        let p = tiny();
        let lw = classifier(&p).softmax_logit_bits();
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit());
        let rst = m.input("rst", Ty::bit());
        let logits = m.input("logits", Ty::u(lw * p.classes as u32));
        let fsm = fsm::declare(&mut m, &p, clk, rst);
        let sel = select::declare(&mut m, &fsm, &logits, lw);
        let exp = exp::build(&mut m, &p, &fsm, &sel);
        let div = build(&mut m, &p, &fsm, &exp);
        let text = m.to_verilog();
        (p, div, text)
    }

    #[test]
    fn the_remainder_is_one_bit_wider_than_the_sum() {
        let (p, _, text) = built();
        let top = p.sum_bits;
        for r in ["div_a", "div_b"] {
            assert_eq!(
                decl(&text, r),
                Some(format!("reg [{top}:0] {r};")),
                "{text}"
            );
        }
        assert_eq!(
            decl(&text, "rem_neg"),
            Some(format!("wire rem_neg = rem_next[{top}];"))
        );
    }

    #[test]
    fn the_signs_hold_the_p_plus_one_quotient_bits() {
        let (p, div, text) = built();
        assert_eq!(
            div.signs[0].width() + div.sign_q[0].width(),
            p.prob_frac + 1
        );
        assert_eq!(
            decl(&text, "rem_signs"),
            Some(format!("reg [{}:0] rem_signs;", p.prob_frac - 1))
        );
        // Shifted on from rem_sign_q, all under the divider's enable.
        assert!(
            text.contains(&format!(
                "rem_signs <= {{rem_signs[{}:0], rem_sign_q}};",
                p.prob_frac - 2
            )),
            "{text}"
        );
        assert!(text.contains("if (div_on) begin"), "{text}");
    }

    #[test]
    fn the_next_class_is_read_at_the_one_but_last_step() {
        let (p, _, text) = built();
        let last_but_one = format!("iter == 4'd{}", p.prob_frac - 1);
        assert!(text.contains(&last_but_one), "{text}");
        assert!(
            text.contains("exp_sel_q <= exp_mem[exp_sel_idx];"),
            "{text}"
        );
        assert!(text.contains("exp_mem[exp_class] <= exp_q;"), "{text}");
    }
}
