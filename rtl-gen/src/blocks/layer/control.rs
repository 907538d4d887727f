//! The unit's control: the state register (IDLE → WAIT → FWD → SMAX → UPD → IDLE, the
//! module doc's diagram) and the one clocked block that steps it, the S0 counters, the
//! stage chains and the output handshakes.

use crate::verilog::{assign, case, if_, if_else, Expr, Module, Stmt, Ty};

use super::input_buffer::InputBuffer;
use super::interface::Ports;
use super::learning_signal::Signal;
use super::pipeline::{Chains, Issue};
use super::{Tail, Unit};

/// The state register, its decoded flags and the shared-pool handshake.
pub(super) struct State {
    pub state: Expr,
    /// The sample's label, with its halvings η above it where the design has a
    /// learning-rate schedule ([`State::class`], [`State::halvings`]).
    pub label: Expr,
    /// `LayerParams::label_bits`: the class's bits of `label`.
    label_bits: u32,
    pub s_idle: Expr,
    pub s_wait: Expr,
    pub s_fwd: Expr,
    pub s_smax: Option<Expr>,
    pub s_upd: Option<Expr>,
    /// Shared multipliers: (`pool_req`, `pool_grant`).
    pub mul_handshake: Option<(Expr, Expr)>,
    /// state != S_IDLE: the `active` register where `active_reg` (kept in step by `goto`
    /// and `accept`), else the compare.
    pub active: Expr,
    pub active_reg: bool,
    /// state == S_IDLE, the same way.
    pub idle: Expr,
    /// The datapath enable where the unit holds its datapath while idle.
    pub hold: Option<Expr>,
    /// The S_UPD flag (a constant 0 without an update phase).
    pub updating: Expr,
}

impl State {
    pub(super) fn declare(m: &mut Module, u: &Unit, io: &Ports) -> State {
        m.section("control state");
        let st_ty = Ty::u(3);
        let s_idle = m.localparam("S_IDLE", Expr::lit(0, st_ty));
        let s_wait = m.localparam("S_WAIT", Expr::lit(1, st_ty));
        let s_fwd = m.localparam("S_FWD", Expr::lit(2, st_ty));
        let learn = u.p.learn;
        let s_smax = learn.then(|| m.localparam("S_SMAX", Expr::lit(3, st_ty)));
        let s_upd = learn.then(|| m.localparam("S_UPD", Expr::lit(4, st_ty)));
        let state = m.reg("state", st_ty);
        // The sample's label, and its learning-rate halvings above it.
        let label = m.reg("label", Ty::u(u.l.tag_bits()));
        // Shared multipliers: a pass asks the top for the pool (`pool_req`) and issues once
        // granted (see `super::top`'s arbiter).
        let mul_handshake = u.p.mul_pool.map(|_| {
            (
                m.output_reg("pool_req", Ty::bit()),
                m.input("pool_grant", Ty::bit()),
            )
        });
        // `DesignParams::idle_flag_registered`: `active` is state != S_IDLE kept as its own
        // flip-flop (set and cleared with the state; 0 at power-up, as the state).
        let active_reg = u.p.idle_flag_registered.then(|| m.reg("active", Ty::bit()));
        let (active, idle) = match &active_reg {
            Some(r) => (r.clone(), r.clone().lnot()),
            None => (
                state.clone().ne(s_idle.clone()),
                state.clone().eq(s_idle.clone()),
            ),
        };
        m.assign(&io.busy, active.clone());
        // `LayerParams::hold_when_idle`: the datapath's registers load only while active.
        let hold =
            u.l.hold_when_idle
                .then(|| m.wire_assign("datapath_en", active.clone()));
        // Inference-only designs have no update phase: the forward MAC always accumulates.
        // `updating` is state == S_UPD kept as its own flip-flop (set and cleared with the
        // state): it steers the address and operand multiplexers, which then decode no state.
        let updating = match &s_upd {
            Some(_) => m.reg("updating", Ty::bit()),
            None => Expr::bool(false),
        };
        State {
            state,
            label,
            label_bits: u.l.label_bits,
            s_idle,
            s_wait,
            s_fwd,
            s_smax,
            s_upd,
            mul_handshake,
            active,
            active_reg: active_reg.is_some(),
            idle,
            hold,
            updating,
        }
    }

    /// The sample's class (the label without its halvings).
    pub(super) fn class(&self) -> Expr {
        if self.label.width() == self.label_bits {
            self.label.clone()
        } else {
            self.label.clone().slice(self.label_bits - 1, 0)
        }
    }

    /// The sample's learning-rate halvings η; `None` without a schedule.
    pub(super) fn halvings(&self) -> Option<Expr> {
        (self.label.width() > self.label_bits).then(|| {
            self.label
                .clone()
                .slice(self.label.width() - 1, self.label_bits)
        })
    }

    /// `state <= to`, clearing the `active` flag that mirrors it when `to` is S_IDLE
    /// (`accept`, the only way out of S_IDLE, sets it).
    fn goto(&self, to: &Expr) -> Vec<Stmt> {
        let mut stmts = vec![assign(&self.state, to.clone())];
        if self.active_reg && to == &self.s_idle {
            stmts.push(assign(&self.active, Expr::bool(false)));
        }
        stmts
    }

    /// After the forward pass: the softmax when learning, else back to idle.
    fn after_forward(&self) -> Expr {
        self.s_smax.clone().unwrap_or_else(|| self.s_idle.clone())
    }
}

/// Everything the control block reads and drives.
struct Fsm<'a> {
    u: &'a Unit<'a>,
    io: &'a Ports,
    s: &'a State,
    issue: &'a Issue,
    pipe: &'a Chains,
    input: &'a InputBuffer,
    /// The softmax (or modulation) unit's `start` and `done`, when learning.
    softmax: Option<(Expr, Expr)>,
}

/// The control block: under reset every flag and counter cleared, else the handshakes,
/// the S0 counters, the stage chains, the done stage and the state transitions.
#[allow(clippy::too_many_arguments)]
pub(super) fn build(
    m: &mut Module,
    u: &Unit,
    io: &Ports,
    s: &State,
    issue: &Issue,
    pipe: &Chains,
    input: &InputBuffer,
    signal: Option<&Signal>,
    tail: Tail,
) {
    m.section("control");
    let c = Fsm {
        u,
        io,
        s,
        issue,
        pipe,
        input,
        softmax: signal.map(|s| (s.start.clone(), s.done.clone())),
    };
    let reset = c.reset();
    let run = c.run(tail.done_stmts);
    m.always_ff(&u.clk, vec![if_else(u.rst.clone(), reset, run)]);
}

impl Fsm<'_> {
    fn start_softmax(&self) -> Vec<Stmt> {
        self.softmax
            .iter()
            .map(|(start, _)| assign(start, Expr::bool(true)))
            .collect()
    }

    /// With shared multipliers a pass first asks for the pool; it issues once granted.
    fn begin_issue(&self) -> Vec<Stmt> {
        match &self.s.mul_handshake {
            Some((req, _)) => vec![assign(req, Expr::bool(true))],
            None => self.issue.start(),
        }
    }

    /// The classifier's forward pass on accepting a sample: [`Self::begin_issue`], its
    /// first item deferred a cycle where the input's last write is still landing.
    fn begin_classifier_forward(&self) -> Vec<Stmt> {
        match &self.s.mul_handshake {
            Some(_) => self.begin_issue(),
            None => self.issue.start_forward(),
        }
    }

    fn reset(&self) -> Vec<Stmt> {
        let f = Expr::bool(false);
        let (s, io, pipe) = (self.s, self.io, self.pipe);
        let mut reset = vec![
            assign(&self.input.wr_bank, f.clone()),
            assign(&self.input.pending, f.clone()),
            assign(&s.state, s.s_idle.clone()),
            assign(&self.issue.issuing, f.clone()),
            assign(&pipe.done, f.clone()),
            assign(&io.out_ports[0], f.clone()),
        ];
        if s.active_reg {
            reset.push(assign(&s.active, f.clone()));
        }
        reset.extend(self.issue.zero());
        if s.s_upd.is_some() {
            reset.push(assign(&s.updating, f.clone()));
        }
        reset.extend(pipe.v.iter().skip(1).map(|v| assign(v, f.clone())));
        reset.extend(pipe.done_p.iter().map(|d| assign(d, f.clone())));
        if let Some((sm_start, _)) = &self.softmax {
            reset.push(assign(sm_start, f.clone()));
        }
        if !self.u.l.classifier {
            reset.push(assign(&io.out_ports[3], f.clone()));
        }
        reset.extend(self.issue.issue_last.iter().map(|r| assign(r, f.clone())));
        reset.extend(self.issue.deferred.iter().map(|r| assign(r, f.clone())));
        if let Some((req, _)) = &s.mul_handshake {
            reset.push(assign(req, f.clone()));
        }
        reset
    }

    fn run(&self, done_stmts: Vec<Stmt>) -> Vec<Stmt> {
        let f = Expr::bool(false);
        let t = Expr::bool(true);
        let (s, io, pipe) = (self.s, self.io, self.pipe);
        let mut run = Vec::new();
        if let Some((sm_start, _)) = &self.softmax {
            run.push(assign(sm_start, f.clone()));
        }
        if let (Some(done_p), Some(q)) = (&pipe.done_p, self.u.st.proj) {
            // The last row's projection completes the scores: the softmax may start.
            run.push(if_(
                done_p.clone().land(pipe.fin[q as usize].clone()),
                self.start_softmax(),
            ));
        }
        let arms = self.downstream_arms();
        run.extend(arms.out_defaults);
        // A sample that arrives while busy waits in the other bank.
        let input = self.input;
        run.push(if_(
            io.start.clone(),
            vec![
                assign(&input.wr_bank, input.wr_bank.clone().lnot()),
                if_(
                    s.active.clone(),
                    vec![
                        assign(&input.pending, t.clone()),
                        assign(&input.pending_label, io.start_label.clone()),
                    ],
                ),
            ],
        ));
        if let Some((req, grant)) = &s.mul_handshake {
            run.push(if_(
                req.clone().land(grant.clone()),
                [self.issue.start(), vec![assign(req, f.clone())]].concat(),
            ));
        }
        run.extend(self.issue.issue_deferred());
        run.push(self.issue.advance(self.u.l));
        run.extend(pipe.shift(self.u, &s.state, &s.s_fwd));
        let d = self.u.st.done as usize;
        let mut done_arm = done_stmts;
        done_arm.push(if_(pipe.fin[d].clone(), arms.fwd_end));
        // FWD's only event: `done` rises only in FWD (it is registered with the state), so
        // it is tested on its own, outside the state decode, and the output registers it
        // loads hang off two flip-flops (done, fin).
        run.push(if_(pipe.done.clone(), done_arm));
        // With the `active` register, IDLE is tested on it, outside the state decode (as
        // FWD's `done`).
        let (idle_if, mut cases) = match s.active_reg {
            true => (Some(if_(s.idle.clone(), arms.idle)), Vec::new()),
            false => (None, vec![(vec![s.s_idle.clone()], arms.idle)]),
        };
        cases.push((vec![s.s_wait.clone()], arms.wait));
        cases.extend(self.learning_arms());
        run.extend(idle_if);
        run.push(case(s.state.clone(), cases, vec![]));
        run
    }

    /// SMAX waits for the softmax error, then starts the update; UPD ends with its last
    /// write.
    fn learning_arms(&self) -> Vec<(Vec<Expr>, Vec<Stmt>)> {
        let s = self.s;
        let (Some(s_smax), Some(s_upd), Some((_, sm_done)), Some(ws)) =
            (&s.s_smax, &s.s_upd, &self.softmax, self.u.st.write)
        else {
            return Vec::new();
        };
        let ws = ws as usize;
        vec![
            (
                vec![s_smax.clone()],
                vec![if_(
                    sm_done.clone(),
                    [
                        s.goto(s_upd),
                        vec![assign(&s.updating, Expr::bool(true))],
                        self.begin_issue(),
                    ]
                    .concat(),
                )],
            ),
            (
                vec![s_upd.clone()],
                vec![if_(
                    self.pipe.v[ws].clone().land(self.pipe.fin[ws].clone()),
                    [
                        s.goto(&s.s_idle),
                        vec![assign(&s.updating, Expr::bool(false))],
                    ]
                    .concat(),
                )],
            ),
        ]
    }

    /// The arms that differ between the classifier, which publishes a prediction, and a
    /// hidden unit, which streams its h to the next layer.
    fn downstream_arms(&self) -> DownstreamArms {
        let f = Expr::bool(false);
        let t = Expr::bool(true);
        let (s, io) = (self.s, self.io);
        let after_fwd = s.after_forward();
        if self.u.l.classifier {
            let (pred_valid, pred) = (&io.out_ports[0], &io.out_ports[1]);
            let best_idx = Expr::ident("best_idx", Ty::u(self.u.l.label_bits));
            // Classifier: IDLE → FWD directly; WAIT, after FWD, publishes the prediction
            // once the previous one was taken.
            DownstreamArms {
                // A prediction waits in pred/pred_valid until the consumer takes it.
                out_defaults: vec![if_(
                    pred_valid.clone().land(io.down.clone()),
                    vec![assign(pred_valid, f.clone())],
                )],
                fwd_end: s.goto(&s.s_wait),
                idle: self.accept([s.goto(&s.s_fwd), self.begin_classifier_forward()].concat()),
                wait: vec![if_(
                    pred_valid.clone().lnot(),
                    [
                        vec![
                            assign(pred_valid, t.clone()),
                            assign(pred, best_idx),
                            assign(&io.out_ports[2], s.class()),
                        ],
                        s.goto(&after_fwd),
                        self.start_softmax(),
                    ]
                    .concat(),
                )],
            }
        } else {
            DownstreamArms {
                out_defaults: vec![
                    assign(&io.out_ports[0], f.clone()),
                    assign(&io.out_ports[3], f.clone()),
                ],
                // The softmax starts once the last row's projection is in the scores.
                fwd_end: [
                    s.goto(&after_fwd),
                    vec![
                        assign(&io.out_ports[3], t.clone()),
                        assign(&io.out_ports[4], s.label.clone()),
                    ],
                ]
                .concat(),
                idle: self.accept(s.goto(&s.s_wait)),
                // Hidden: WAIT until the next layer's input buffer is free.
                wait: vec![if_(
                    io.down.clone().lnot(),
                    [s.goto(&s.s_fwd), self.begin_issue()].concat(),
                )],
            }
        }
    }

    /// IDLE: take a sample that starts now (it is in the write bank) or one that waited
    /// (in the other bank), then `begin` (which leaves S_IDLE).
    fn accept(&self, begin: Vec<Stmt>) -> Vec<Stmt> {
        let (s, io, input) = (self.s, self.io, self.input);
        let begin = match s.active_reg {
            true => [vec![assign(&s.active, Expr::bool(true))], begin].concat(),
            false => begin,
        };
        vec![if_else(
            io.start.clone(),
            [
                vec![
                    assign(&s.label, io.start_label.clone()),
                    assign(&input.rd_bank, input.wr_bank.clone()),
                ],
                begin.clone(),
            ]
            .concat(),
            vec![if_(
                input.pending.clone(),
                [
                    vec![
                        assign(&s.label, input.pending_label.clone()),
                        assign(&input.rd_bank, input.wr_bank.clone().lnot()),
                        assign(&input.pending, Expr::bool(false)),
                    ],
                    begin,
                ]
                .concat(),
            )],
        )]
    }
}

struct DownstreamArms {
    /// Output handshakes cleared (or kept) every cycle before the events below.
    out_defaults: Vec<Stmt>,
    /// The done stage of the pass's last row.
    fwd_end: Vec<Stmt>,
    idle: Vec<Stmt>,
    wait: Vec<Stmt>,
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;

    #[test]
    fn only_a_learning_unit_has_the_softmax_and_update_states() {
        let learning = Knobs::default().unit(0);
        for name in ["S_SMAX", "S_UPD", "updating", "sm_start"] {
            assert!(learning.has(name), "{name}");
        }
        let inference = Knobs {
            learn: false,
            ..Knobs::default()
        }
        .unit(0);
        for name in ["S_SMAX", "S_UPD", "updating", "sm_start"] {
            assert!(!inference.has(name), "{name}");
        }
        assert!(inference.has("S_IDLE") && inference.has("S_FWD"));
    }

    #[test]
    fn shared_multipliers_ask_for_the_pool_before_a_pass() {
        let shared = Knobs {
            share_multipliers: true,
            ..Knobs::default()
        }
        .unit(0);
        assert_eq!(shared.get("pool_req").unwrap().kind, "output");
        assert_eq!(shared.get("pool_grant").unwrap().kind, "input");
        assert!(shared.text.contains("if (pool_req && pool_grant)"));
        assert!(!Knobs::default().unit(0).has("pool_req"));
    }

    #[test]
    fn the_idle_flag_is_a_register_where_the_design_asks_for_it() {
        for knobs in [Knobs::default(), Knobs::banked()] {
            let registered = knobs.design().idle_flag_registered;
            assert_eq!(knobs.unit(0).has("active"), registered);
        }
    }
}
