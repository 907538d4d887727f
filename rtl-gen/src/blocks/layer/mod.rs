//! One learning unit: a hidden LLS layer or the classifier, trained on its own.
//!
//! ```text
//! IDLE ─start→ WAIT (hidden: until the next layer's input buffer is free;
//!                    classifier: until the last prediction was taken)
//!      → FWD   stream W·x through `lanes` MACs, row by row; per finished row:
//!              hidden: h = narrow(act(z)) → next layer, scores += B[:, j]·h
//!              classifier: logit_j = z >> shift, running argmax
//!      → SMAX  softmax error e = p − y (its own unit)
//!      → UPD   per row j: δ_j (hidden: narrow(f'(z_j)·Bᵀe), classifier: e_j), then
//!              W[j][i] = sat(W[j][i] − round(δ_j·x_i >> shift)), `lanes` weights a cycle
//!      → IDLE
//! ```
//! Memories are read synchronously: the issue stage (S0) presents addresses, the next stage
//! sees the data. Every arithmetic step has its own stage so the clock is set by one adder
//! or one multiplier, not a chain (see [`Stages`]):
//!
//! ```text
//! forward  S0 read W, x │ S1 data reg │ S2 W·x → product reg │ [S3 lanes summed] │
//!          acc halves += │ sum (pending carry added) │
//!          hidden: act(z) │ round │ done: h saturated │ proj;
//!          classifier: [sum > max, by halves] │ done: logit, argmax
//! update   hidden: S0 read basis │ S1 terms B·e │ S2 Σ in fours │ S3 Σ │ S4 f'(z)·Σ │
//!                  S5 round, read x │ S6 δ saturated │ S7 δ·x, read W │ S8 round │
//!                  S9 W − step │ S10 saturate, write W
//!          classifier: S2 read x │ S3 δ = e[row] │ S4 δ·x, read W │ S5 │ S6 │ S7 write W
//! ```
//! Weights banked by block RAM ([`super::weights`], ECP5) take more stages to reach the
//! multiplier (`LayerParams::bank_read_stages`) and to be written (`bank_stages`); x is
//! delayed alike and every later stage shifts with them. On the ECP5 the multiplier's
//! operands are registered once more (`LayerParams::mul_stages`), which shifts the
//! product and everything after it by one. With `hardware.bank_weights` the input
//! buffer's write is registered on the way in (`DesignParams::input_write_stages`), and a
//! hidden unit registers its basis address (`LayerParams::basis_addr_stages`): the update
//! reads the basis at S1, and δ and every stage after it shift by one. A banked unit of
//! one lane registers its product again before the accumulate (the `[S3]` stage, as
//! several lanes do: `LayerParams::mac_sum_stages`); a banked unit of more lanes sums its
//! products in a registered tree (`LayerParams::lane_sum_levels`), as any unit of more
//! lanes than one adder takes on its target (`LayerParams::lane_sum_group`).
//!
//! With `hardware.share_multipliers` the unit has no multipliers: each pass first asks the
//! top's pool for them (`pool_req` / `pool_grant`), and the operands go out and the
//! products come back through ports, one register stage more (`mul_stages`).
//!
//! Both passes issue one address a cycle without a gap, so the extra stages cost cycles
//! only at the pass ends. The update reads W\[a\] three stages before it writes it; addresses rise
//! within the pass, so no later read of the pass sees a stale word, and the unit goes idle
//! (the next forward pass may read) only after the last write. The layer keeps its own
//! input until its update is done; the next layer works on this sample meanwhile: no
//! backward locking.

//!
//! The unit is built by one builder per concern, in the order the module declares them:
//! [`interface`] (ports), [`control`] (the state register and the FSM), [`pipeline`] (the
//! issue counters and the per-stage chains), [`input_buffer`], [`weight_store`],
//! [`mac`] (operand registers, multipliers), [`forward_tail`] (activation or argmax),
//! [`projection`] (basis ROM, scores, logits), [`learning_signal`] (softmax or modulation
//! unit, δ), [`accumulate`], [`update`] and [`readback`]. [`schedule`] holds the stage
//! numbers every builder reads.

mod accumulate;
mod control;
mod forward_tail;
mod input_buffer;
mod interface;
mod learning_signal;
mod mac;
mod pipeline;
mod projection;
mod readback;
mod schedule;
#[cfg(test)]
mod testing;
mod update;
mod weight_store;

pub use schedule::{
    defers_first_issue, forward_operand_stage, pass_timing, stages, PassTiming, Stages,
};

use crate::params::{DesignParams, LayerParams};
use crate::verilog::{if_, Expr, Module, Stmt, Ty};

pub fn weight_file(l: &LayerParams, lane: usize) -> String {
    format!("{}_w{lane}.hex", l.name)
}

/// The LFSR power-up states, one 32-bit word per lane (stochastic update rounding).
pub fn lfsr_file(l: &LayerParams) -> String {
    format!("{}_lfsr.hex", l.name)
}

pub fn basis_file(l: &LayerParams) -> String {
    format!("{}_basis.hex", l.name)
}

/// What every builder of the unit reads: the design, the layer, its schedule, the clock
/// and the reset.
struct Unit<'a> {
    p: &'a DesignParams,
    l: &'a LayerParams,
    st: Stages,
    clk: Expr,
    rst: Expr,
    /// The datapath enable where the unit holds its datapath while idle
    /// (`LayerParams::hold_when_idle`).
    hold: Option<Expr>,
}

impl Unit<'_> {
    /// `stmts` under the datapath enable, else as they are.
    fn held(&self, stmts: Vec<Stmt>) -> Vec<Stmt> {
        match &self.hold {
            Some(en) => vec![if_(en.clone(), stmts)],
            None => stmts,
        }
    }
}

/// The forward pass's results a unit passes on: the statements of its done stage (a
/// hidden unit's outputs), its logits (when learning) and the update's δ.
struct Tail {
    done_stmts: Vec<Stmt>,
    logits: Vec<Expr>,
    delta: Option<Expr>,
}

pub fn module(p: &DesignParams, l: &LayerParams, header: &[String]) -> Module {
    let mut m = Module::new(&l.name);
    m.header(header.to_vec());
    m.doc(&describe(p, l));
    let io = interface::declare(&mut m, p, l);
    let mut u = Unit {
        p,
        l,
        st: stages(p, l),
        clk: io.clk.clone(),
        rst: io.rst.clone(),
        hold: None,
    };
    let fsm = control::State::declare(&mut m, &u, &io);
    u.hold = fsm.hold.clone();
    let issue = pipeline::Issue::declare(&mut m, &u);
    let pipe = pipeline::Chains::declare(&mut m, &u, &issue);
    let upd_addr = update::addresses(&mut m, &u, &pipe);
    let input = input_buffer::build(&mut m, &u, &io, &fsm, &issue, &pipe);
    let weights = weight_store::declare(&mut m, &u, &io, &fsm, &issue, &upd_addr);
    let ops = mac::operand_registers(&mut m, &u, &input, &weights);
    // A row's finished sum, registered at Stages::sum (the accumulator's halves are below).
    let acc = m.reg("acc", Ty::s(l.acc_bits));
    let signal = learning_signal::declare(&mut m, &u);
    let tail = forward_tail(&mut m, &u, &io, &fsm, &issue, &pipe, &acc, &signal);
    if let Some(s) = &signal {
        learning_signal::instance(&mut m, &u, s, &fsm.class(), &tail.logits);
    }
    let prods = mac::multipliers(&mut m, &u, &fsm, &issue, &pipe, &tail.delta, &ops);
    accumulate::build(&mut m, &u, &fsm, &pipe, &prods, &acc);
    let learned = update::build(
        &mut m,
        &u,
        &fsm,
        &pipe,
        &tail.delta,
        &upd_addr,
        &prods,
        &ops,
    );
    weight_store::ports(&mut m, &u, &io, weights, &learned.writes);
    readback::build(
        &mut m,
        &u,
        &io,
        &ops.w,
        signal.as_ref(),
        &learned.lfsr_states,
    );
    control::build(
        &mut m,
        &u,
        &io,
        &fsm,
        &issue,
        &pipe,
        &input,
        signal.as_ref(),
        tail,
    );
    m
}

fn describe(p: &DesignParams, l: &LayerParams) -> String {
    format!(
        "{} {} -> {}, {} MAC lane(s), {}.",
        if l.classifier {
            "Classifier"
        } else {
            "Hidden LLS layer"
        },
        l.inputs,
        l.outputs,
        l.lanes,
        if p.learn {
            "learning on chip"
        } else {
            "inference only"
        }
    )
}

/// After the sum: the classifier's running argmax (its δ = e\[row\] declared in between),
/// or a hidden unit's activation, then (when learning) its projection onto the basis, the
/// sign of z kept for f'(z), its logits and its δ. The registers read from memories and
/// the update's δ registers share one clocked block, emitted here.
#[allow(clippy::too_many_arguments)]
fn forward_tail(
    m: &mut Module,
    u: &Unit,
    io: &interface::Ports,
    fsm: &control::State,
    issue: &pipeline::Issue,
    pipe: &pipeline::Chains,
    acc: &Expr,
    signal: &Option<learning_signal::Signal>,
) -> Tail {
    let mut late_ff: Vec<Stmt> = Vec::new();
    let tail = if u.l.classifier {
        let mut argmax = forward_tail::Argmax::begin(m, u, pipe, acc);
        let logits = match signal {
            Some(_) => argmax.logits(m, u),
            None => Vec::new(),
        };
        let delta = signal
            .as_ref()
            .map(|s| learning_signal::classifier_delta(m, u, fsm, pipe, s, &mut late_ff));
        argmax.finish(m, u, pipe);
        Tail {
            done_stmts: Vec::new(),
            logits,
            delta,
        }
    } else {
        let hidden = forward_tail::activation(m, u, pipe, acc, &io.out_ports);
        let (logits, delta) = match signal {
            Some(s) => {
                let proj =
                    projection::build(m, u, fsm, issue, pipe, &io.out_ports[2], &mut late_ff);
                let neg = learning_signal::sign_memory(m, u, pipe, &hidden, &mut late_ff);
                let logits = projection::logits(m, u, &proj.scores);
                let delta =
                    learning_signal::hidden_delta(m, u, fsm, s, &proj.basis, neg, &mut late_ff);
                (logits, Some(delta))
            }
            None => (Vec::new(), None),
        };
        Tail {
            done_stmts: hidden.done_stmts,
            logits,
            delta,
        }
    };
    if !late_ff.is_empty() {
        m.always_ff(&u.clk, late_ff);
    }
    tail
}
