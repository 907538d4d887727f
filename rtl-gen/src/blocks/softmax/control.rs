//! The state machine's clocked block: IDLE → MAX (two cycles a logit) → EXP (the lookup
//! window and the dividers' entry) → DIV (P + 1 quotient steps a round of d classes) →
//! IDLE, and the max scan's block before it.

use crate::verilog::{assign, case, if_, if_else, Expr, Module, Stmt, Ty};

use super::divide::Divider;
use super::error::ErrorOut;
use super::exp::ExpSum;
use super::fsm::Fsm;
use super::select::{self, LogitSelect};
use super::Ports;

/// The registers the control loads, by concern.
pub(super) struct Datapath {
    pub sel: LogitSelect,
    pub exp: ExpSum,
    pub div: Divider,
    pub err: ErrorOut,
}

/// The "control" section.
pub(super) fn build(m: &mut Module, fsm: &Fsm, ports: &Ports, d: &Datapath) {
    m.section("control");
    select::max_scan(m, fsm, &d.sel);
    let body = if_else(
        fsm.rst.clone(),
        reset(fsm, ports, d),
        [
            tags_and_sum(fsm, ports, d),
            vec![case(
                fsm.state.clone(),
                vec![
                    (
                        // cnt is 0 while idle, so logit_sel_q holds logit 0.
                        vec![fsm.s_idle.clone()],
                        vec![if_(
                            ports.start.clone(),
                            vec![assign(&fsm.state, fsm.s_max.clone())],
                        )],
                    ),
                    (vec![fsm.s_max.clone()], max_phase(fsm, d)),
                    (vec![fsm.s_exp.clone()], exp_phase(fsm, d)),
                    (vec![fsm.s_div.clone()], div_phase(fsm, ports, d)),
                ],
                vec![],
            )],
        ]
        .concat(),
    );
    m.always_ff(&fsm.clk, vec![body]);
}

fn reset(fsm: &Fsm, ports: &Ports, d: &Datapath) -> Vec<Stmt> {
    let mut stmts = round_select(&d.div, 0);
    stmts.extend([
        assign(&fsm.state, fsm.s_idle.clone()),
        assign(&d.sel.max_phase, Expr::bool(false)),
        assign(&ports.done, Expr::bool(false)),
        assign(&d.exp.look_valid, Expr::bool(false)),
        assign(&d.exp.exp_valid, Expr::bool(false)),
        assign(&d.err.write, Expr::lit(0, d.err.write.ty())),
        assign(&fsm.cnt, fsm.cnt_lit(0)),
        assign(&d.sel.onehot, d.sel.onehot_lit(0)),
        assign(&fsm.iter, fsm.iter_lit(0)),
        assign(&d.div.step, Expr::bool(false)),
        assign(&d.div.div_on, Expr::bool(false)),
    ]);
    stmts
}

/// `div_next_round` (several dividers over several rounds) set to round `r`.
fn round_select(div: &Divider, r: u32) -> Vec<Stmt> {
    div.next_round
        .iter()
        .map(|round| assign(round, Expr::lit(1 << r, round.ty())))
        .collect()
}

/// Every cycle: the lookup's valid and class tag a stage on, the sum, the error write
/// (one cycle), `done` behind the last class's write.
fn tags_and_sum(fsm: &Fsm, ports: &Ports, d: &Datapath) -> Vec<Stmt> {
    let write = &d.err.write;
    vec![
        assign(&d.exp.look_valid, Expr::bool(false)),
        assign(&d.exp.exp_valid, d.exp.look_valid.clone()),
        assign(&d.exp.exp_class, d.exp.look_class.clone()),
        assign(write, Expr::lit(0, write.ty())),
        if_(
            d.exp.exp_valid.clone(),
            vec![assign(&d.exp.total, d.exp.total_next.clone())],
        ),
        assign(&ports.done, write.clone().bit(fsm.classes as u32 - 1)),
    ]
}

/// Into the next phase (or idle): its state, the class counter and select back to 0.
fn enter(fsm: &Fsm, sel: &LogitSelect, next: &Expr) -> Vec<Stmt> {
    vec![
        assign(&fsm.state, next.clone()),
        assign(&fsm.cnt, fsm.cnt_lit(0)),
        assign(&sel.onehot, sel.onehot_lit(0)),
    ]
}

/// The class counter and its one-hot select on to the next class.
fn next_class(fsm: &Fsm, sel: &LogitSelect) -> Vec<Stmt> {
    vec![
        assign(&fsm.cnt, fsm.cnt_inc()),
        assign(&sel.onehot, sel.onehot_inc()),
    ]
}

/// The class counter and its one-hot select on to the next round's first class (a
/// single round ends the division: the select stays).
fn next_round(fsm: &Fsm, sel: &LogitSelect) -> Vec<Stmt> {
    let d = fsm.dividers;
    let mut stmts = vec![assign(&fsm.cnt, fsm.cnt_plus(d))];
    if d < fsm.classes {
        stmts.push(assign(&sel.onehot, sel.onehot.clone().shl(d as u32)));
    }
    stmts
}

/// Logit e: compared while cnt = e (max_phase low; the select moves on, logit_sel_q keeps
/// logit e a cycle more), taken while cnt = e + 1 (logit 0 against the least value first).
fn max_phase(fsm: &Fsm, d: &Datapath) -> Vec<Stmt> {
    let phase = &d.sel.max_phase;
    vec![
        assign(phase, phase.clone().lnot()),
        if_else(
            phase.clone(),
            vec![if_(
                fsm.cnt.clone().eq(fsm.cnt_lit(fsm.classes)),
                [
                    enter(fsm, &d.sel, &fsm.s_exp),
                    vec![assign(&d.exp.total, Expr::lit(0, d.exp.total.ty()))],
                ]
                .concat(),
            )],
            next_class(fsm, &d.sel),
        ),
    ]
}

/// cnt = k in 1..=C subtracts class k − 1's logit from the max; its index is clamped at
/// k + 1, its E read at k + 2 (k + 2 and k + 3 with a two-stage lookup) and summed a cycle
/// after (tagged from k + 1 on, or k + 2). The division enters [`Fsm::entry_wait`] cycles
/// after the last.
fn exp_phase(fsm: &Fsm, d: &Datapath) -> Vec<Stmt> {
    let (c_n, look, wait) = (fsm.classes, fsm.look, fsm.entry_wait());
    let cnt = &fsm.cnt;
    let in_window = cnt
        .clone()
        .ge(fsm.cnt_lit(1 + look))
        .land(cnt.clone().le(fsm.cnt_lit(c_n + look)));
    let entry = [
        enter(fsm, &d.sel, &fsm.s_div),
        vec![
            assign(&fsm.iter, fsm.iter_lit(0)),
            // Into the division: round 0's first steps are loaded at this edge, their
            // quotient steps follow.
            assign(&d.div.step, Expr::bool(true)),
        ],
        round_select(&d.div, 1),
    ]
    .concat();
    let lookup = [
        vec![
            // The cycle before the entry: the divider's registers load from the entry on.
            if_(
                cnt.clone().eq(fsm.cnt_lit(c_n + 1 + look + wait)),
                vec![assign(&d.div.div_on, Expr::bool(true))],
            ),
            if_(
                in_window,
                vec![
                    assign(&d.exp.look_valid, Expr::bool(true)),
                    assign(&d.exp.look_class, cnt.clone().sub(fsm.cnt_lit(1 + look))),
                ],
            ),
        ],
        next_class(fsm, &d.sel),
    ]
    .concat();
    vec![if_else(
        cnt.clone().eq(fsm.cnt_lit(c_n + 2 + look + wait)),
        entry,
        lookup,
    )]
}

/// A quotient step; the next cycle steps unless it ends the round. A round's last step
/// writes its d errors, and the next round's first step is loaded (div_a, div_b and
/// div_sub load it as div_step is low).
fn div_phase(fsm: &Fsm, ports: &Ports, d: &Datapath) -> Vec<Stmt> {
    let it = &fsm.iter;
    let n = fsm.dividers;
    // The round's classes: the select's bit and the d − 1 above it.
    let round = (1..n).fold(d.sel.onehot.clone(), |acc, j| {
        acc.or(d.sel.onehot.clone().shl(j as u32))
    });
    let labels = d.err.is_label.iter().enumerate().map(|(j, is_label)| {
        let class = if j == 0 {
            fsm.cnt.clone()
        } else {
            fsm.cnt_plus(j)
        };
        assign(is_label, class.eq(label_ext(&ports.label, fsm.cnt_ty)))
    });
    let class_end = [
        vec![assign(&d.err.write, round)],
        labels.collect(),
        vec![assign(it, fsm.iter_lit(0))],
        next_round(fsm, &d.sel),
        d.div
            .next_round
            .iter()
            .map(|round| assign(round, round.clone().shl(1)))
            .collect(),
        vec![if_(
            fsm.cnt.clone().eq(fsm.cnt_lit(fsm.classes - n)),
            [
                enter(fsm, &d.sel, &fsm.s_idle),
                vec![
                    assign(&d.div.step, Expr::bool(false)),
                    assign(&d.div.div_on, Expr::bool(false)),
                ],
                round_select(&d.div, 0),
            ]
            .concat(),
        )],
    ]
    .concat();
    vec![
        assign(&d.div.step, it.clone().ne(fsm.iter_lit(fsm.prob - 1))),
        assign(it, it.clone().add(fsm.iter_lit(1))),
        if_(it.clone().eq(fsm.iter_lit(fsm.prob)), class_end),
    ]
}

/// The label compared against the class counter, which may be one bit wider.
fn label_ext(label: &Expr, cnt_ty: Ty) -> Expr {
    if label.width() == cnt_ty.width {
        label.clone()
    } else {
        label.clone().resize(cnt_ty.width)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{classifier, tiny};
    use super::*;

    /// The whole unit for tiny-m (3 classes, one lookup stage, P = 14, 3-bit `cnt`).
    fn text() -> String {
        let p = tiny();
        assert_eq!((p.classes, p.exp_lookup_stages, p.prob_frac), (3, 1, 14));
        let text = super::super::module(&p, classifier(&p), &[]).to_verilog();
        let at = text
            .find("// ---- control ----")
            .expect("a control section");
        text[at..].to_string()
    }

    #[test]
    fn reset_clears_every_flag_and_counter() {
        let text = text();
        let reset = &text[text.find("if (rst) begin").expect("reset")..];
        let reset = &reset[..reset.find("end else begin").expect("run branch")];
        for r in [
            "state <= S_IDLE;",
            "max_phase <= 1'b0;",
            "done <= 1'b0;",
            "look_valid <= 1'b0;",
            "exp_valid <= 1'b0;",
            "quo_fin_write <= 3'd0;",
            "cnt <= 3'd0;",
            "logit_sel_onehot <= 3'd1;",
            "iter <= 4'd0;",
            "div_step <= 1'b0;",
            "div_on <= 1'b0;",
        ] {
            assert!(reset.contains(r), "{r} missing from\n{reset}");
        }
    }

    #[test]
    fn the_phases_end_on_their_counts() {
        let text = text();
        // MAX ends at cnt = C, EXP at C + 2 + 1, a class at iter = P.
        assert!(text.contains("if (cnt == 3'd3) begin"), "{text}");
        assert!(text.contains("if (cnt == 3'd6) begin"), "{text}");
        assert!(text.contains("if (iter == 4'd14) begin"), "{text}");
        // The divider turns on the cycle before the entry; the lookup window is 2..=4.
        assert!(text.contains("if (cnt == 3'd5) begin"), "{text}");
        assert!(
            text.contains("if ((cnt >= 3'd2) && (cnt <= 3'd4)) begin"),
            "{text}"
        );
        assert!(text.contains("done <= quo_fin_write[2];"), "{text}");
        // The label (2 bits) against the 3-bit class counter.
        assert!(
            text.contains("quo_fin_is_label <= cnt == {1'b0, label};"),
            "{text}"
        );
    }

    #[test]
    fn the_label_is_widened_to_the_counter() {
        let label = Expr::ident("label", Ty::u(2));
        assert_eq!(label_ext(&label, Ty::u(2)).width(), 2);
        assert_eq!(label_ext(&label, Ty::u(3)).width(), 3);
    }
}
