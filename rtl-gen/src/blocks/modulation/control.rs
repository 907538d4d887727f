//! The passes' clocked block: S0's walk and the stage registers every cycle, and per
//! state what ends it: LOGIT's and GRAD's last stored sum, the softmax's `done`, UPD's
//! last write-back.

use crate::verilog::{assign, case, if_, if_else, Expr, Module, Stmt};

use super::fsm::Fsm;
use super::issue::{self, Issue, Stages};
use super::sums::Sums;
use super::Ports;

/// The registers the control loads, by concern.
pub(super) struct Datapath {
    pub s0: Issue,
    pub stages: Stages,
    pub sums: Sums,
    pub sm_done: Expr,
    pub sm_start: Expr,
}

/// The "control" section.
pub(super) fn build(m: &mut Module, fsm: &Fsm, ports: &Ports, d: Datapath) {
    m.section("control");
    let f = Expr::bool(false);
    let mut run = vec![
        assign(&ports.done, f.clone()),
        assign(&d.sm_start, f.clone()),
        issue::advance(fsm, &d.s0),
    ];
    run.extend(issue::pipeline(fsm, &d.s0, &d.stages));
    let reset = vec![
        assign(&fsm.state, fsm.s_idle.clone()),
        assign(&d.s0.issuing, f.clone()),
        assign(&d.stages.v1, f.clone()),
        assign(&d.stages.done2, f.clone()),
        assign(&ports.done, f.clone()),
        assign(&d.sm_start, f),
    ];
    run.push(case(fsm.state.clone(), arms(fsm, ports, d), vec![]));
    m.always_ff(&fsm.clk, vec![if_else(fsm.rst.clone(), reset, run)]);
}

/// Per state: IDLE waits for `start`; LOGIT stores each finished sum and starts the
/// softmax after the last; SMAX waits for it; GRAD stores and then updates; UPD ends on
/// its last write-back, with `done`.
fn arms(fsm: &Fsm, ports: &Ports, d: Datapath) -> Vec<(Vec<Expr>, Vec<Stmt>)> {
    let t = Expr::bool(true);
    let (s, s0) = (&d.stages, &d.s0);
    vec![
        (
            vec![fsm.s_idle.clone()],
            vec![if_(
                ports.start.clone(),
                issue::begin(fsm, s0, &fsm.s_logit),
            )],
        ),
        (
            vec![fsm.s_logit.clone()],
            vec![if_(
                s.done2.clone(),
                vec![
                    d.sums.store_logit,
                    if_(
                        s.final2.clone(),
                        vec![
                            assign(&fsm.state, fsm.s_smax.clone()),
                            assign(&d.sm_start, t.clone()),
                        ],
                    ),
                ],
            )],
        ),
        (
            vec![fsm.s_smax.clone()],
            vec![if_(d.sm_done, issue::begin(fsm, s0, &fsm.s_grad))],
        ),
        (
            vec![fsm.s_grad.clone()],
            vec![if_(
                s.done2.clone(),
                vec![
                    d.sums.store_grad,
                    if_(s.final2.clone(), issue::begin(fsm, s0, &fsm.s_upd)),
                ],
            )],
        ),
        (
            vec![fsm.s_upd.clone()],
            vec![if_(
                s.v1.clone().land(s.final1.clone()),
                vec![
                    assign(&fsm.state, fsm.s_idle.clone()),
                    assign(&ports.done, t),
                ],
            )],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::testing::{matrix, modulated, vector};

    fn control(p: &crate::params::DesignParams) -> String {
        let (l, mp) = modulated(p);
        let text = super::super::module(p, l, mp, &[]).to_verilog();
        let at = text
            .find("// ---- control ----")
            .expect("a control section");
        text[at..].to_string()
    }

    #[test]
    fn reset_clears_the_handshakes_and_the_stage_valids() {
        let text = control(&vector());
        let reset = &text[text.find("if (rst) begin").expect("reset")..];
        let reset = &reset[..reset.find("end else begin").expect("run branch")];
        for r in [
            "state <= S_IDLE;",
            "issuing <= 1'b0;",
            "v1 <= 1'b0;",
            "done2 <= 1'b0;",
            "done <= 1'b0;",
            "sm_start <= 1'b0;",
        ] {
            assert!(reset.contains(r), "{r} missing from\n{reset}");
        }
    }

    #[test]
    fn the_passes_follow_in_order() {
        for p in [vector(), matrix()] {
            let text = control(&p);
            let pos = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s}:\n{text}"));
            // Each pass begins with the next state and issuing from item 0.
            assert!(pos("state <= S_LOGIT;") < pos("state <= S_SMAX;"));
            assert!(pos("sm_start <= 1'b1;") > pos("S_LOGIT: begin"));
            assert!(pos("if (sm_done) begin") < pos("state <= S_UPD;"));
            assert!(text.contains("if (v1 && final1) begin"), "{text}");
            assert_eq!(text.matches("issuing <= 1'b1;").count(), 3, "{text}");
            assert!(text.contains("done <= 1'b1;"), "{text}");
        }
    }
}
