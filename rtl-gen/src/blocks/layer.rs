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
//! several lanes do: `LayerParams::mac_sum_stages`); a banked unit of more than four
//! lanes sums its products in two stages.
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

use golden_model::spec::numeric::width::ceil_log2;

use crate::params::{
    addr_bits, DesignParams, LayerParams, LFSR_READBACK_BITS, LFSR_READBACK_PIECES,
    READBACK_LATENCY,
};
use crate::verilog::{assign, case, if_, if_else, Expr, Memory, Module, Stmt, Ty};

use super::weights::WeightBanks;
use super::{
    delay, discard, named, one_hot_select, place, ram_port, registered_gt, saturate, shift_round,
    shift_round_bias, signed_fields, sum, widen, Bias,
};

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

/// Pipeline stage numbers (S0 is the issue stage: counters, memory addresses).
#[derive(Clone, Copy, Debug)]
pub struct Stages {
    /// Forward: the stage whose edge accumulates into the split accumulator (S1 registers
    /// the memories' data again, S2 multiplies into the product register; with
    /// `LayerParams::mac_sum_stages` S3 (and S4) sum the lanes into a register first).
    pub acc: u32,
    /// Forward: the stage that registers a finished row's sum `acc`, its two halves and
    /// the pending carry added (acc + 1).
    pub sum: u32,
    /// Forward: a finished row leaves the unit (hidden: h registered for the next layer,
    /// two stages after the activation and the rounding; classifier: logit and argmax from
    /// `acc`).
    pub done: u32,
    /// Hidden unit that learns: the basis projection of the registered h into the scores.
    pub proj: Option<u32>,
    /// Update: the stage that multiplies δ·x (hidden: S1 the terms of Bᵀe, S2 partial
    /// sums, S3 their sum, S4–S6 δ; classifier: S3 δ = e\[row\]), or later where the
    /// weight read is longer ([`LayerParams::weight_read_stages`], when x is read).
    pub delta: Option<u32>,
    /// Update: the stage that writes the weight back (after the rounded step, the
    /// registered difference and the weight read; banked weights register the write on
    /// the way in, `bank_stages` later than the new word is ready: `Stages::new_word`).
    pub write: Option<u32>,
}

/// Whether the classifier compares a finished sum with the running maximum a stage before
/// it updates the maximum: rows are then at least two cycles apart (`words` ≥ 2), so the
/// compare always sees the previous row's update, and the wide compare gets a stage of
/// its own. With one word a row the compare and the update share the done stage.
fn argmax_split(l: &LayerParams) -> bool {
    l.classifier && l.words > 1
}

/// The update's multiply stage (see [`Stages::delta`]): the classifier's δ is a registered
/// error (S3); a hidden unit's goes through f'(z), the rounding shift and the saturation,
/// a stage each after Σ B·e (S4–S6).
///
/// x is read for the update `weight_read_stages` before the multiply, so the multiply
/// waits for a read path longer than its own δ path (a classifier with banked weights).
fn delta_stage(l: &LayerParams) -> u32 {
    let delta_path = if l.classifier {
        4
    } else {
        7 + l.basis_addr_stages
    };
    delta_path.max(l.weight_read_stages())
}

pub fn stages(p: &DesignParams, l: &LayerParams) -> Stages {
    // Banked weights reach w_r later (`LayerParams::bank_read_stages`).
    // Registered multiplier operands (`mul_stages`) delay the product alike.
    let acc = 3 + l.mac_sum_stages + l.bank_read_stages() + l.mul_stages;
    let sum = acc + 1;
    // A hidden row's finished sum goes through the activation (sum+1), the rounding shift
    // (sum+2) and the saturation into h (done): one wide carry chain a stage.
    let done = match (l.classifier, argmax_split(l)) {
        (false, _) => sum + 3,
        (true, true) => sum + 2,
        (true, false) => sum + 1,
    };
    Stages {
        acc,
        sum,
        done,
        proj: (p.learn && !l.classifier).then_some(done + 1),
        delta: p.learn.then_some(delta_stage(l)),
        write: p
            .learn
            .then_some(delta_stage(l) + 3 + l.mul_stages + l.bank_stages()),
    }
}

impl Stages {
    /// Update: the stage that presents the saturated new weight to the memory port.
    fn new_word(&self, l: &LayerParams) -> Option<u32> {
        self.write.map(|w| w - l.bank_stages())
    }

    fn last(&self) -> u32 {
        self.done
            .max(self.proj.unwrap_or(0))
            .max(self.write.unwrap_or(0))
    }
}

/// A unit's schedule around its two passes, in clock edges, for the cycle model. A pass
/// "begins" at the edge that raises `issuing`: the edge that asks for it, or, with shared
/// multipliers, the edge after the arbiter's grant.
#[derive(Clone, Debug)]
pub struct PassTiming {
    /// Items a pass issues, one a cycle (rows × words).
    pub rows: u64,
    /// From the edge that samples `start` to the forward pass's request: the hidden unit
    /// goes IDLE→WAIT→FWD (1), the classifier IDLE→FWD (0).
    pub fwd_request: u64,
    /// From the forward begin to the edge that raises the successor's `start` (hidden):
    /// `rows` issued, the last reaches the done stage, `out_start` registered.
    pub fwd_end: u64,
    /// From the forward begin to the update's request (when learning): the forward end,
    /// the classifier's WAIT (1), the last row's projection (hidden), the softmax start
    /// (1) and its latency (or the modulation unit's). Without learning, to idle.
    pub after_fwd: u64,
    /// From the update begin to idle: `rows` issued, the last reaches the write stage.
    pub upd_end: Option<u64>,
    /// The stage at which each pass's operands reach the multiplier (the pool registers
    /// them there): an item before or at it holds a shared pool.
    pub fwd_operand_stage: u64,
    pub upd_operand_stage: Option<u64>,
}

pub fn pass_timing(p: &DesignParams, l: &LayerParams) -> PassTiming {
    let rows = l.lane_words() as u64;
    let st = stages(p, l);
    let fwd_end = 1 + rows + st.done as u64;
    let wait = u64::from(l.classifier);
    let after_fwd = match st.write {
        Some(_) => {
            let proj = st.proj.map_or(0, |q| (q - st.done) as u64);
            let error = match &l.modulation {
                Some(mp) => super::modulation::latency(p, mp),
                None => 1 + super::softmax::latency(p),
            };
            fwd_end + wait + proj + error
        }
        None => fwd_end + wait,
    };
    PassTiming {
        rows,
        fwd_request: 1 - wait,
        fwd_end,
        after_fwd,
        upd_end: st.write.map(|w| rows + w as u64),
        fwd_operand_stage: forward_operand_stage(l) as u64,
        upd_operand_stage: st.delta.map(u64::from),
    }
}

struct Ports {
    clk: Expr,
    rst: Expr,
}

pub fn module(p: &DesignParams, l: &LayerParams, header: &[String]) -> Module {
    let mut m = Module::new(&l.name);
    m.header(header.to_vec());
    m.doc(&format!(
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
    ));
    let a = l.act_bits;
    let wb = l.weight_bits;
    let lanes = l.lanes;
    let lane_bits = ceil_log2(lanes);
    let in_aw = addr_bits(l.inputs);
    let out_aw = addr_bits(l.outputs);
    let word_aw = addr_bits(l.words);
    let w_depth = l.lane_words();
    let w_aw = addr_bits(w_depth);
    let lb = l.label_bits;

    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let ports = Ports {
        clk: clk.clone(),
        rst: rst.clone(),
    };
    let in_we = m.input("in_we", Ty::bit());
    let in_addr = m.input("in_addr", Ty::u(in_aw));
    let in_data = m.input("in_data", Ty::s(a));
    let start = m.input("start", Ty::bit());
    let start_label = m.input("start_label", Ty::u(lb));
    let busy = m.output_wire("busy", Ty::bit());
    let full = m.output_wire("full", Ty::bit());
    let (down, out_ports) = if l.classifier {
        let pred_valid = m.output_reg("pred_valid", Ty::bit());
        let pred = m.output_reg("pred", Ty::u(lb));
        let pred_label = m.output_reg("pred_label", Ty::u(lb));
        let pred_ready = m.input("pred_ready", Ty::bit());
        (pred_ready, vec![pred_valid, pred, pred_label])
    } else {
        let out_we = m.output_reg("out_we", Ty::bit());
        let out_addr = m.output_reg("out_addr", Ty::u(out_aw));
        let out_data = m.output_reg("out_data", Ty::s(a));
        let out_start = m.output_reg("out_start", Ty::bit());
        let out_label = m.output_reg("out_label", Ty::u(lb));
        let down_full = m.input("down_full", Ty::bit());
        (
            down_full,
            vec![out_we, out_addr, out_data, out_start, out_label],
        )
    };
    let rb_addr = m.input("rb_addr", Ty::u(l.rb_addr_bits));
    let rb_data = m.output_reg("rb_data", Ty::s(p.rb_data_bits));
    // The selected entry, registered into rb_data (readback stage 3), after as many
    // registers as the design's slowest (banked) unit takes more.
    let rb_next = m.wire("rb_next", Ty::s(p.rb_data_bits));
    let rb_pad = p.rb_latency - READBACK_LATENCY - l.bank_read_stages();
    let rb_padded = delay(&mut m, &clk, "rb_pad", rb_next.clone(), rb_pad);
    m.always_ff(&clk, vec![assign(&rb_data, rb_padded)]);

    m.section("control state");
    let st_ty = Ty::u(3);
    let s_idle = m.localparam("S_IDLE", Expr::lit(0, st_ty));
    let s_wait = m.localparam("S_WAIT", Expr::lit(1, st_ty));
    let s_fwd = m.localparam("S_FWD", Expr::lit(2, st_ty));
    let learn = p.learn;
    let s_smax = learn.then(|| m.localparam("S_SMAX", Expr::lit(3, st_ty)));
    let s_upd = learn.then(|| m.localparam("S_UPD", Expr::lit(4, st_ty)));
    let state = m.reg("state", st_ty);
    let label = m.reg("label", Ty::u(lb));
    // Shared multipliers: a pass asks the top for the pool (`pool_req`) and issues once
    // granted (see `super::top`'s arbiter).
    let mul_handshake = p.mul_pool.map(|_| {
        (
            m.output_reg("pool_req", Ty::bit()),
            m.input("pool_grant", Ty::bit()),
        )
    });
    // `DesignParams::idle_flag_registered`: `active` is state != S_IDLE kept as its own
    // flip-flop (set and cleared with the state; 0 at power-up, as the state).
    let active_reg = p.idle_flag_registered.then(|| m.reg("active", Ty::bit()));
    let (active, idle) = match &active_reg {
        Some(r) => (r.clone(), r.clone().lnot()),
        None => (
            state.clone().ne(s_idle.clone()),
            state.clone().eq(s_idle.clone()),
        ),
    };
    m.assign(&busy, active.clone());
    // `LayerParams::hold_when_idle`: the datapath's registers load only while active.
    let hold = l
        .hold_when_idle
        .then(|| m.wire_assign("datapath_en", active.clone()));
    // Inference-only designs have no update phase: the forward MAC always accumulates.
    // `updating` is state == S_UPD kept as its own flip-flop (set and cleared with the
    // state): it steers the address and operand multiplexers, which then decode no state.
    let updating = match &s_upd {
        Some(_) => m.reg("updating", Ty::bit()),
        None => Expr::bool(false),
    };

    m.section("issue stage S0: row / word counters");
    let issuing = m.reg("issuing", Ty::bit());
    let row0 = m.reg("row0", Ty::u(out_aw));
    let word0 = m.reg("word0", Ty::u(word_aw));
    let addr0 = m.reg("addr0", Ty::u(w_aw));
    // `DesignParams::issue_flags_registered`: the row's last word is a register (set by
    // the control block), and the last row's last word is the pass's last item.
    let word_last_reg = p.issue_flags_registered && l.words > 1;
    let compares = (!word_last_reg).then(|| {
        (
            m.wire_assign(
                "word_last0",
                word0
                    .clone()
                    .eq(Expr::lit(l.words as i128 - 1, Ty::u(word_aw))),
            ),
            m.wire_assign(
                "row_last0",
                row0.clone()
                    .eq(Expr::lit(l.outputs as i128 - 1, Ty::u(out_aw))),
            ),
        )
    });
    // Whether S0 issues the pass's last item: a flip-flop set from the address the item
    // before, so that `issuing` ends on a register rather than on the counters' compares.
    // A one-item pass has no such register: its first item is its last.
    let issue_last_reg = (w_depth > 1).then(|| m.reg("issue_last", Ty::bit()));
    let issue_last = issue_last_reg.clone().unwrap_or_else(|| Expr::bool(true));
    let (word_last0, row_last0) =
        compares.unwrap_or_else(|| (m.reg("word_last0", Ty::bit()), issue_last.clone()));

    let st = stages(p, l);
    m.section("pipeline registers: item flags and row per stage (index = stage)");
    let v = chain(
        &mut m,
        "v",
        issuing.clone(),
        (st.done - 1).max(st.write.unwrap_or(0)),
    );
    let first = chain(
        &mut m,
        "first",
        word0.clone().eq(Expr::lit(0, Ty::u(word_aw))),
        st.acc,
    );
    let last = chain(&mut m, "last", word_last0.clone(), st.done - 1);
    let fin = chain(&mut m, "final", issue_last.clone(), st.last());
    let row = chain(
        &mut m,
        "row",
        row0.clone(),
        st.done.max(st.delta.map_or(0, |d| d - 1)),
    );
    // The update reads x as many stages before δ is ready as a weight read takes (memory,
    // [bank registers], data register): x keeps in step with the weights.
    let word = match st.delta {
        Some(dq) if l.words > 1 => {
            chain(&mut m, "word", word0.clone(), dq - l.weight_read_stages())
        }
        _ => vec![word0.clone()],
    };
    let done = m.reg(&format!("done{}", st.done), Ty::bit());
    let done_p = st.proj.map(|q| m.reg(&format!("done{q}"), Ty::bit()));
    // Update weight addresses: rows and words are visited in order without a gap, so the
    // address at a stage counts that stage's valid items from the pass start.
    let upd_addr = st.new_word(l).map(|w| {
        // Read so that the word is in w_r at the difference stage (w − 1), then one
        // register per stage up to the write.
        let read = w - 1 - l.weight_read_stages();
        let regs: Vec<Expr> = (read..=w)
            .map(|k| m.reg(&format!("addr{k}"), Ty::u(w_aw)))
            .collect();
        let rd = regs[0].clone();
        let mut ff = vec![if_else(
            v[read as usize].clone(),
            vec![assign(&rd, rd.clone().add(Expr::lit(1, Ty::u(w_aw))))],
            vec![assign(&rd, Expr::lit(0, Ty::u(w_aw)))],
        )];
        ff.extend(regs.windows(2).map(|p| assign(&p[1], p[0].clone())));
        m.always_ff(&clk, ff);
        (rd, regs[regs.len() - 1].clone())
    });

    m.section("input buffer: one memory per lane, element i in lane i % lanes");
    // Two banks: the upstream fills one while this unit works from the other. `full`: a
    // whole sample waits in the write bank, so nothing more may be written.
    let wr_bank = m.reg("wr_bank", Ty::bit());
    let rd_bank = m.reg("rd_bank", Ty::bit());
    let pending = m.reg("pending", Ty::bit());
    let pending_label = m.reg("pending_label", Ty::u(lb));
    m.assign(&full, pending.clone());
    let (in_lane, in_word) = split_addr(&mut m, "in", &in_addr, lanes, lane_bits, l.words, word_aw);
    let x_word = match word.get(1..).and_then(|w| w.last()) {
        Some(w2) => m.wire_assign(
            "x_word",
            Expr::mux(updating.clone(), w2.clone(), word0.clone()),
        ),
        None => word0.clone(),
    };
    let (x_depth, x_wr, x_rd) = if l.words == 1 {
        (2, wr_bank.clone(), rd_bank.clone())
    } else {
        (
            2u32 << word_aw,
            Expr::concat(vec![wr_bank.clone(), in_word.clone()]),
            Expr::concat(vec![rd_bank.clone(), x_word]),
        )
    };
    let x_mem: Vec<Memory> = (0..lanes)
        .map(|ln| m.memory(&format!("x_lane{ln}"), Ty::s(a), x_depth, None))
        .collect();
    for mem in &x_mem {
        place(&mut m, p, mem, false);
    }
    let x_q: Vec<Expr> = (0..lanes)
        .map(|ln| m.reg(&format!("x_q{ln}"), Ty::s(a)))
        .collect();
    // Banked weights are read several stages before x is needed, so x's read address can
    // take one of those stages: registered per lane beside its block RAM (kept apart, as
    // the weight banks' copies), the shared select no longer drives every lane's address
    // pins across the die in the same cycle. x is then delayed one stage less below.
    let x_raddr_registered = l.bank_read_stages() > 0;
    let x_raddr: Vec<Expr> = if x_raddr_registered {
        let regs: Vec<Expr> = (0..lanes)
            .map(|ln| m.reg(&format!("x_ra{ln}"), x_rd.ty()))
            .collect();
        let ff = regs.iter().map(|r| assign(r, x_rd.clone())).collect();
        m.always_ff_kept(&clk, ff);
        regs
    } else {
        vec![x_rd.clone(); lanes]
    };
    let mut x_writes = Vec::new();
    for (ln, mem) in x_mem.iter().enumerate() {
        let hit = match &in_lane {
            Some(lane) => in_we
                .clone()
                .land(lane.clone().eq(Expr::lit(ln as i128, Ty::u(lane_bits)))),
            None => in_we.clone(),
        };
        let (we, waddr, wdata) = if p.input_write_stages == 0 {
            (hit, x_wr.clone(), in_data.clone())
        } else {
            // Registered beside each lane's memory (kept per lane, as the weight banks'
            // copies). The address holds the write bank, so a write still lands in the
            // bank it was sent to when `start` swaps the banks meanwhile. The enable
            // clears under reset: nothing sent before it lands after it.
            let we = m.reg(&format!("x_we{ln}"), Ty::bit());
            let wa = m.reg(&format!("x_wa{ln}"), x_wr.ty());
            let wd = m.reg(&format!("x_wd{ln}"), Ty::s(a));
            m.always_ff_kept(
                &clk,
                vec![
                    assign(&we, Expr::mux(rst.clone(), Expr::bool(false), hit)),
                    assign(&wa, x_wr.clone()),
                    assign(&wd, in_data.clone()),
                ],
            );
            (we, wa, wd)
        };
        x_writes.extend(ram_port(
            &mut m,
            mem,
            we,
            waddr,
            wdata,
            &x_q[ln],
            x_raddr[ln].clone(),
        ));
    }
    m.always_ff(&clk, x_writes);

    let banked = l.bank_stages() > 0;
    m.section(if banked {
        "weight memories: one per lane, word j*words + w holds W[j][w*lanes + lane], in banks"
    } else {
        "weight memories: one per lane, word j*words + w holds W[j][w*lanes + lane]"
    });
    let (w_mem, w_banks): (Vec<Memory>, Option<WeightBanks>) = if banked {
        (Vec::new(), Some(WeightBanks::new(&mut m, p, l, lanes)))
    } else {
        let mems = (0..lanes)
            .map(|ln| {
                m.memory(
                    &format!("w_lane{ln}"),
                    Ty::s(wb),
                    w_depth as u32,
                    Some(&weight_file(l, ln)),
                )
            })
            .collect();
        (mems, None)
    };
    for mem in &w_mem {
        place(&mut m, p, mem, false);
    }
    let w_q: Vec<Expr> = (0..w_mem.len())
        .map(|ln| m.reg(&format!("w_q{ln}"), Ty::s(wb)))
        .collect();
    // Readback (when idle) reads the same port: word = rb_addr / lanes.
    let rb_word = if w_aw + lane_bits <= l.rb_addr_bits {
        rb_addr.clone().slice(w_aw + lane_bits - 1, lane_bits)
    } else {
        rb_addr.clone().resize(w_aw)
    };
    let rb_word = m.wire_assign("rb_word", rb_word);
    let fwd_raddr = Expr::mux(issuing.clone(), addr0.clone(), rb_word);
    let w_raddr = m.wire_assign(
        "w_raddr",
        match &upd_addr {
            Some((rd, _)) => Expr::mux(updating.clone(), rd.clone(), fwd_raddr),
            None => fwd_raddr,
        },
    );

    // The memories' data registered once more (wide weight memories end in a multiplexer
    // over many block RAMs); readback uses the first register.
    let mut data_ff = Vec::new();
    let mut data_reg = |m: &mut Module, name: &str, q: &Expr| {
        let r = m.reg(name, q.ty());
        data_ff.push(assign(&r, q.clone()));
        r
    };
    // Banked weights take longer to read: x is delayed alike (less its address register).
    let x_d: Vec<Expr> = (0..lanes)
        .map(|ln| {
            delay(
                &mut m,
                &clk,
                &format!("x_d{ln}"),
                x_q[ln].clone(),
                l.bank_read_stages() - u32::from(x_raddr_registered),
            )
        })
        .collect();
    let x_r: Vec<Expr> = (0..lanes)
        .map(|ln| data_reg(&mut m, &format!("x_r{ln}"), &x_d[ln]))
        .collect();
    let w_r: Vec<Expr> = match &w_banks {
        Some(b) => b.data.clone(),
        None => (0..lanes)
            .map(|ln| data_reg(&mut m, &format!("w_r{ln}"), &w_q[ln]))
            .collect(),
    };
    m.always_ff(&clk, data_ff);
    let acc_w = l.acc_bits;
    // A row's finished sum, registered at Stages::sum (the accumulator's halves are below).
    let acc = m.reg("acc", Ty::s(acc_w));

    // The softmax unit and its error outputs exist only when the design learns.
    let c_n = l.classes;
    let lw = l.logit_bits;
    let sm = learn.then(|| {
        m.section(if l.modulation.is_some() {
            "softmax error unit, behind the modulation unit"
        } else {
            "softmax error unit"
        });
        let start = m.reg("sm_start", Ty::bit());
        let done = m.wire("sm_done", Ty::bit());
        let bus = m.wire("err", Ty::u(l.err_bits * c_n as u32));
        let errs = error_wires(&mut m, &bus, l);
        (start, done, bus, errs)
    });
    // LLS-M/MxM: the modulated error g the basis projects back, and the unit's readback.
    let modulation = l.modulation.as_ref().map(|mp| {
        let bus = m.wire("grad", Ty::u(mp.grad_bits * c_n as u32));
        let grads = signed_fields(&mut m, "grad", &bus, c_n, mp.grad_bits);
        let rb_index = m.wire("mod_rb_index", Ty::u(addr_bits(mp.entries)));
        let rb_value = m.wire("mod_rb_value", Ty::s(mp.bits));
        (mp, bus, grads, rb_index, rb_value)
    });
    let row_d = row[st.done as usize].clone();
    let mut done_stmts: Vec<Stmt> = Vec::new();
    let mut logit_regs: Vec<Expr> = Vec::new();
    let mut delta: Option<Expr> = None;
    let mut extra_mem_ff: Vec<Stmt> = Vec::new();
    if l.classifier {
        m.section("done stage: running argmax (and logits when learning)");
        let mut argmax_ff = Vec::new();
        let best = m.reg("best", Ty::s(acc_w));
        let best_idx = m.reg("best_idx", Ty::u(lb));
        // The finished sum and whether it beats the maximum of the rows before it.
        let (z, beats) = if argmax_split(l) {
            let z_q = m.reg("sum_q", Ty::s(acc_w));
            // A wide compare is registered as its halves' three results, combined at the
            // done stage (one LUT there).
            let (beats, gt_ff) = registered_gt(&mut m, "sum_gt", "sum", &acc, &best);
            m.always_ff(
                &clk,
                held(&hold, [vec![assign(&z_q, acc.clone())], gt_ff].concat()),
            );
            (z_q, beats)
        } else {
            (acc.clone(), acc.clone().gt(best.clone()))
        };
        let take = row_d.clone().eq(Expr::lit(0, Ty::u(out_aw))).lor(beats);
        if let Some((_, _, _, errs)) = &sm {
            logit_regs = (0..c_n)
                .map(|c| m.reg(&format!("logit{c}"), Ty::s(lw)))
                .collect();
            let logit_val = m.wire_assign(
                "logit_val",
                z.clone().slice(acc_w - 1, l.logit_shift).as_signed(),
            );
            argmax_ff.push(case(
                row_d.clone(),
                (0..c_n)
                    .map(|c| {
                        (
                            vec![Expr::lit(c as i128, Ty::u(out_aw))],
                            vec![assign(&logit_regs[c], logit_val.clone())],
                        )
                    })
                    .collect(),
                vec![],
            ));
            m.section("update: delta = e[row], registered for the multiply stage");
            let d = m.reg("delta", Ty::s(l.err_bits));
            let d_q = m.reg("delta_q", Ty::s(l.err_bits));
            extra_mem_ff.push(assign(&d_q, d.clone()));
            m.always_comb(vec![
                assign(&d, Expr::lit(0, Ty::s(l.err_bits))),
                case(
                    row[st.delta.expect("learning") as usize - 1].clone(),
                    (0..c_n)
                        .map(|c| {
                            (
                                vec![Expr::lit(c as i128, Ty::u(out_aw))],
                                vec![assign(&d, errs[c].clone())],
                            )
                        })
                        .collect(),
                    vec![],
                ),
            ]);
            delta = Some(d_q);
        }
        argmax_ff.push(if_(
            take,
            vec![assign(&best, z), assign(&best_idx, row_d.clone())],
        ));
        // On `done` alone (it is only ever set in the forward pass), not inside the state
        // machine: the maximum's enable is then one LUT.
        m.always_ff(&clk, vec![if_(done.clone(), argmax_ff)]);
    } else {
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
        let h_shr = shift_round(&mut m, "h_shr", act_q.clone(), l.act_shift, p.half_up);
        let h_shr_q = m.reg("h_shr_q", h_shr.ty());
        let mut tail_ff = vec![assign(&act_q, act_in), assign(&h_shr_q, h_shr)];
        // The sign of z travels along for f'(z) in the update.
        let z_neg = if learn {
            let q1 = m.reg("act_neg_q", Ty::bit());
            let q2 = m.reg("h_neg_q", Ty::bit());
            tail_ff.push(assign(&q1, acc_neg));
            tail_ff.push(assign(&q2, q1));
            Some(q2)
        } else {
            discard(&mut m, "acc_sign", acc_neg);
            None
        };
        m.always_ff(&clk, held(&hold, tail_ff));
        let h = saturate(&mut m, "h", h_shr_q, a);
        done_stmts.push(assign(&out_ports[0], Expr::bool(true)));
        done_stmts.push(assign(&out_ports[1], row_d.clone()));
        done_stmts.push(assign(&out_ports[2], h));
        if let Some((_, _, _, errs)) = &sm {
            m.section("basis ROM and projection stage: scores += B[:, row]·h (h from out_data)");
            // Basis ROM: address t → column t, class 0 in the LSBs.
            let bb = l.basis_bits;
            let rom = m.memory(
                "basis_rom",
                Ty::u(bb * c_n as u32),
                l.outputs as u32,
                Some(&basis_file(l)),
            );
            place(&mut m, p, &rom, true);
            let rom_q = m.reg("basis_q", Ty::u(bb * c_n as u32));
            // The update reads the basis from S0's row, the projection from the done
            // stage's. A registered address is picked that many stages earlier: the
            // update's read then lands later (its δ path is longer, `delta_stage`), the
            // projection's at the same stage. `updating` rises with the update's first item
            // and falls after its last write, long after the last projection.
            let n = l.basis_addr_stages;
            let fwd_row = row[(st.done - n) as usize].clone();
            let mut rom_addr = m.wire_assign(
                "basis_addr",
                Expr::mux(updating.clone(), row0.clone(), fwd_row),
            );
            for k in 1..=n {
                let q = m.reg(&format!("basis_addr_q{k}"), rom_addr.ty());
                extra_mem_ff.push(assign(&q, rom_addr));
                rom_addr = q;
            }
            extra_mem_ff.push(assign(&rom_q, rom.read(rom_addr)));
            let b = signed_fields(&mut m, "b", &rom_q, c_n, bb);
            let sw = l.score_bits;
            let scores: Vec<Expr> = (0..c_n)
                .map(|c| m.reg(&format!("score{c}"), Ty::s(sw)))
                .collect();
            let h_q = out_ports[2].clone();
            // A square basis adds h, −h or 0: as (h ^ sign) + sign, one carry chain from
            // registers (no negation in front of it). `terms[c]` is then the term and its
            // carry-in.
            let terms: Vec<(Expr, Option<Expr>)> = if l.square {
                let h_ext = widen(&mut m, "proj_h", h_q, sw);
                let h_ext = named(&mut m, "proj_h", h_ext);
                b.iter()
                    .enumerate()
                    .map(|(c, bc)| {
                        let bt = bc.ty();
                        let neg = m
                            .wire_assign(&format!("proj_sub{c}"), bc.clone().eq(Expr::lit(-1, bt)));
                        let keep = bc.clone().ne(Expr::lit(0, bt));
                        let flipped = h_ext
                            .clone()
                            .as_unsigned()
                            .xor(Expr::repeat(sw, neg.clone()))
                            .and(Expr::repeat(sw, keep));
                        let term = m.wire_assign(&format!("proj_term{c}"), flipped.as_signed());
                        let cin =
                            m.wire_assign(&format!("proj_cin{c}"), neg.resize(sw).as_signed());
                        (term, Some(cin))
                    })
                    .collect()
            } else {
                basis_terms(&mut m, "proj", &b, &[h_q], sw, false, None)
                    .into_iter()
                    .map(|t| (t, None))
                    .collect()
            };
            // Cleared while idle (the softmax has long read them), summed at the projection
            // stage whatever the state: the FSM is on to the softmax by the last row.
            let done_p = done_p.as_ref().expect("a learning hidden unit projects");
            m.always_ff(
                &clk,
                vec![if_else(
                    idle.clone(),
                    scores
                        .iter()
                        .map(|s| assign(s, Expr::lit(0, Ty::s(sw))))
                        .collect(),
                    vec![if_(
                        done_p.clone(),
                        (0..c_n)
                            .map(|c| {
                                let (term, cin) = &terms[c];
                                let sum = scores[c].clone().add(term.clone());
                                let sum = match cin {
                                    Some(cin) => sum.add(cin.clone()),
                                    None => sum,
                                };
                                assign(&scores[c], sum)
                            })
                            .collect(),
                    )],
                )],
            );
            let neg_mem = m.memory("neg_mem", Ty::bit(), l.outputs as u32, None);
            place(&mut m, p, &neg_mem, false);
            let neg_q = m.reg("neg_q", Ty::bit());
            // f'(z) is applied three stages before δ (S4): the sign is read a stage earlier.
            let neg_row = row[st.delta.expect("learning") as usize - 4].clone();
            extra_mem_ff.extend(ram_port(
                &mut m,
                &neg_mem,
                done.clone(),
                row_d.clone(),
                z_neg.clone().expect("a learning unit keeps the sign"),
                &neg_q,
                neg_row,
            ));
            m.section("logits = scores >> shift (floor)");
            logit_regs = scores
                .iter()
                .enumerate()
                .map(|(c, s)| {
                    if l.logit_shift > 0 {
                        discard(
                            &mut m,
                            &format!("score{c}_frac"),
                            s.clone().slice(l.logit_shift - 1, 0),
                        );
                    }
                    m.wire_assign(
                        &format!("logit{c}"),
                        s.clone().slice(sw - 1, l.logit_shift).as_signed(),
                    )
                })
                .collect();
            // δ for the row: S1 the terms B[c][row]·e_c, S2/S3 their sum, S4 f'(z)·sum, S5
            // the rounding shift, S6 saturated: ready at S7 (each a stage later per
            // registered basis address).
            m.section(&format!(
                "update stages S{}-S{}: delta = narrow(f'(z) * B^T e)",
                1 + l.basis_addr_stages,
                6 + l.basis_addr_stages
            ));
            // Its registers load only while updating, the phase that uses δ: the same
            // values there, and nothing for a simulator to do through the forward pass.
            let mut back_ff = Vec::new();
            let back_err = modulation
                .as_ref()
                .map_or(errs, |(_, _, grads, _, _)| grads);
            let back = basis_terms(
                &mut m,
                "back",
                &b,
                back_err,
                l.back_bits,
                l.square,
                Some(&mut back_ff),
            );
            // Each term B[c][row]·e_c registered (the basis bits fan out to every term's
            // select), then up to four terms per partial sum (two adder levels), registered.
            let back: Vec<Expr> = back
                .into_iter()
                .enumerate()
                .map(|(c, t)| {
                    let q = m.reg(&format!("back_term_q{c}"), t.ty());
                    back_ff.push(assign(&q, t));
                    q
                })
                .collect();
            let parts: Vec<Expr> = back
                .chunks(4)
                .enumerate()
                .map(|(k, chunk)| {
                    let part = m.wire_assign(&format!("back_part{k}"), sum(chunk.to_vec()));
                    let q = m.reg(&format!("back_part_q{k}"), Ty::s(l.back_bits));
                    back_ff.push(assign(&q, part));
                    q
                })
                .collect();
            let back_sum = m.wire_assign("back_sum", sum(parts));
            let g = m.reg("back_sum_q", Ty::s(l.back_bits));
            back_ff.push(assign(&g, back_sum));
            let g_leak = if l.leaky {
                m.wire_assign("back_leak", g.clone().sar(l.leak_shift))
            } else {
                Expr::lit(0, Ty::s(l.back_bits))
            };
            let gd = m.wire_assign("back_act", Expr::mux(neg_q, g_leak, g));
            let gd_q = m.reg("back_act_q", gd.ty());
            back_ff.push(assign(&gd_q, gd));
            let shr = shift_round(&mut m, "delta_shr", gd_q, l.back_shift, p.half_up);
            let shr_q = m.reg("delta_shr_q", shr.ty());
            back_ff.push(assign(&shr_q, shr));
            let d = saturate(&mut m, "delta", shr_q, l.delta_bits);
            let d_q = m.reg("delta_q", Ty::s(l.delta_bits));
            back_ff.push(assign(&d_q, d));
            extra_mem_ff.push(if_(updating.clone(), back_ff));
            delta = Some(d_q);
        }
    }
    if !extra_mem_ff.is_empty() {
        m.always_ff(&clk, extra_mem_ff);
    }
    if let Some((start, done, bus, _)) = &sm {
        let logits_bus = m.wire_assign(
            "logits",
            Expr::concat(
                logit_regs
                    .iter()
                    .rev()
                    .map(|e| e.clone().as_unsigned())
                    .collect(),
            ),
        );
        let mut conns = vec![
            ("clk".into(), clk.clone()),
            ("rst".into(), rst.clone()),
            ("start".into(), start.clone()),
            ("label".into(), label.clone()),
            ("logits".into(), logits_bus),
            ("done".into(), done.clone()),
            ("err".into(), bus.clone()),
        ];
        match &modulation {
            Some((_, grad, _, rb_index, rb_value)) => {
                conns.extend([
                    ("grad".into(), grad.clone()),
                    ("rb_index".into(), rb_index.clone()),
                    ("rb_value".into(), rb_value.clone()),
                ]);
                m.instance(&format!("{}_modulation", l.name), "modulation", conns);
            }
            None => m.instance(&format!("{}_softmax", l.name), "softmax", conns),
        }
    }

    // One multiplier per lane serves both phases (they never overlap): W·x in the forward
    // pass (S2), δ·x in the update (S4), so a unit needs `lanes` DSP tiles, not twice that.
    // The product is registered (the DSP's output register) before anything adds to it.
    m.section(match p.mul_pool {
        Some(_) => "multiplier operands to the shared pool, its products back",
        None => "one shared multiplier per lane: W*x forward (S2), delta*x update (S4)",
    });
    let mul_w = l.mul_a_bits;
    assert_eq!(
        delta.as_ref().map_or(wb, |d| d.width().max(wb)),
        mul_w,
        "LayerParams::mul_a_bits disagrees with the operands built here"
    );
    let delta_ext = delta
        .as_ref()
        .map(|d| widen(&mut m, "delta_ext", d.clone(), mul_w));
    let operands: Vec<Expr> = (0..lanes)
        .map(|ln| match &delta_ext {
            Some(d_ext) => {
                let w_ext = widen(&mut m, &format!("w_r{ln}_ext"), w_r[ln].clone(), mul_w);
                m.wire_assign(
                    &format!("mul_a{ln}"),
                    Expr::mux(updating.clone(), d_ext.clone(), w_ext),
                )
            }
            None => w_r[ln].clone(),
        })
        .collect();
    let prods: Vec<Expr> = match p.mul_pool {
        Some(_) => {
            let (req, grant) = mul_handshake.as_ref().expect("a pool has a handshake");
            let handshake = (req, grant);
            pool_ports(
                &mut m, p, l, &st, &clk, handshake, &issuing, &updating, &v, operands, &x_r,
            )
        }
        None => own_multipliers(&mut m, l, &clk, &hold, operands, &x_r),
    };
    m.section("forward accumulate");
    // Two sum stages: S2 adds groups of MAC_SUM_GROUP, each exact in its own width, and
    // the next stage adds the groups' sums as one sum stage adds the products.
    let terms: Vec<Expr> = if l.mac_sum_stages == 2 {
        let group_w = prods[0].width() + ceil_log2(LayerParams::MAC_SUM_GROUP);
        let mut ff = Vec::new();
        let groups = prods
            .chunks(LayerParams::MAC_SUM_GROUP)
            .enumerate()
            .map(|(g, group)| {
                let q = m.reg(&format!("mac_group_q{g}"), Ty::s(group_w));
                ff.push(assign(
                    &q,
                    sum(group.iter().map(|p| p.clone().resize(group_w)).collect()),
                ));
                q
            })
            .collect::<Vec<_>>();
        m.always_ff(&clk, held(&hold, ff));
        let sum_w = (group_w + ceil_log2(groups.len())).min(acc_w);
        groups.into_iter().map(|q| q.resize(sum_w)).collect()
    } else {
        prods
            .iter()
            .enumerate()
            .map(|(ln, p)| widen(&mut m, &format!("prod_q{ln}_ext"), p.clone(), acc_w))
            .collect()
    };
    // Several lanes (or one, banked): S2 adds them into a register, S3 accumulates.
    let mac_sum = if l.mac_sum_stages > 0 {
        let sum_w = m.wire_assign("mac_sum", sum(terms));
        let q = m.reg("mac_q", Ty::s(acc_w));
        m.always_ff(&clk, held(&hold, vec![assign(&q, sum_w.resize(acc_w))]));
        q
    } else {
        terms.into_iter().next().expect("one lane")
    };
    let acc_v = v[st.acc as usize].clone();
    let mac_en = if learn {
        acc_v.land(updating.clone().lnot())
    } else {
        acc_v
    };
    // The sum is kept in two halves so that each carry chain in the loop is half as long:
    // the low half's carry enters the high half a cycle later, and the stage after the
    // last term (Stages::sum) adds the one still pending. A row's first term starts from
    // zero (the select sits before the chains, on registers); the carry pending then
    // belongs to the row before, which the sum stage is reading in that very cycle.
    let lo_w = acc_w / 2;
    let hi_w = acc_w - lo_w;
    let term = named(&mut m, "acc_term", mac_sum);
    let acc_lo = m.reg("acc_lo", Ty::u(lo_w));
    let acc_hi = m.reg("acc_hi", Ty::u(hi_w));
    let acc_carry = m.reg("acc_carry", Ty::bit());
    let first_term = first[st.acc as usize].clone();
    let lo_next = m.wire_assign(
        "acc_lo_next",
        Expr::mux(
            first_term.clone(),
            Expr::lit(0, Ty::u(lo_w)),
            acc_lo.clone(),
        )
        .resize(lo_w + 1)
        .add(term.clone().slice(lo_w - 1, 0).resize(lo_w + 1)),
    );
    let carry_in = m.wire_assign(
        "acc_carry_in",
        acc_carry.clone().land(first_term.clone().lnot()),
    );
    let hi_next = m.wire_assign(
        "acc_hi_next",
        Expr::mux(first_term, Expr::lit(0, Ty::u(hi_w)), acc_hi.clone())
            .add(term.slice(acc_w - 1, lo_w))
            .add(carry_in.resize(hi_w)),
    );
    m.always_ff(
        &clk,
        held(
            &hold,
            vec![
                if_(
                    mac_en,
                    vec![
                        assign(&acc_lo, lo_next.clone().slice(lo_w - 1, 0)),
                        assign(&acc_carry, lo_next.bit(lo_w)),
                        assign(&acc_hi, hi_next),
                    ],
                ),
                assign(
                    &acc,
                    Expr::concat(vec![acc_hi.add(acc_carry.resize(hi_w)), acc_lo]).as_signed(),
                ),
            ],
        ),
    );

    let mut w_ff = Vec::new();
    // (write enable, address, data) of each lane's weight memory, when learning.
    let mut w_writes = Vec::new();
    let mut lfsr_states = Vec::new();
    if let (Some(_), Some((_, w_addr)), Some(ws)) = (&delta, &upd_addr, st.new_word(l)) {
        m.section(&format!(
            "update: S{} step = round(delta * x >> shift), S{} W - step, S{ws} saturated",
            ws - 2,
            ws - 1
        ));
        let w_we = m.wire_assign("w_we", v[ws as usize].clone().land(updating.clone()));
        // The step is rounded two stages before the write: a stochastic lane's LFSR steps
        // with each item there.
        let step_en = v[ws as usize - 2].clone().land(updating.clone());
        lfsr_states = lfsrs(&mut m, l, &clk, step_en);
        let mut step_ff = Vec::new();
        for (ln, prod) in prods.iter().enumerate() {
            let bias = match lfsr_states.get(ln) {
                Some(state) => Bias::Random(state.clone()),
                None => Bias::half_up(p.half_up),
            };
            let step = shift_round_bias(
                &mut m,
                &format!("upd_step{ln}"),
                prod.clone(),
                l.update_shift,
                bias,
            );
            let step_q = m.reg(&format!("upd_step_q{ln}"), step.ty());
            step_ff.push(assign(&step_q, step));
            let dw = step_q.width().max(wb) + 1;
            let w_ext = widen(&mut m, &format!("w_ext{ln}"), w_r[ln].clone(), dw);
            let s_ext = widen(&mut m, &format!("upd_step_q{ln}_ext"), step_q, dw);
            let diff = m.wire_assign(&format!("w_diff{ln}"), w_ext.sub(s_ext));
            let diff_q = m.reg(&format!("w_diff_q{ln}"), diff.ty());
            step_ff.push(assign(&diff_q, diff));
            let w_new = saturate(&mut m, &format!("w_new{ln}"), diff_q, wb);
            w_writes.push((w_we.clone(), w_addr.clone(), w_new));
        }
        m.always_ff(&clk, held(&hold, step_ff));
    }
    if let Some(banks) = w_banks {
        let write = w_writes.first().map(|(we, waddr, _)| {
            let data = w_writes.iter().map(|(_, _, d)| d.clone()).collect();
            (we.clone(), waddr.clone(), data)
        });
        banks.ports(&mut m, &clk, l, w_raddr.clone(), write);
    }
    for ln in 0..w_mem.len() {
        match w_writes.get(ln) {
            Some((we, waddr, wdata)) => w_ff.extend(ram_port(
                &mut m,
                &w_mem[ln],
                we.clone(),
                waddr.clone(),
                wdata.clone(),
                &w_q[ln],
                w_raddr.clone(),
            )),
            None => w_ff.push(assign(&w_q[ln], w_mem[ln].read(w_raddr.clone()))),
        }
    }
    if !w_ff.is_empty() {
        m.always_ff(&clk, w_ff);
    }

    m.section(if learn {
        "readback: weights, then the C softmax errors"
    } else {
        "readback: weights"
    });
    // Readback stages: (1) the address and the memories' read, (2) the memories' data
    // register (w_r, after the wide block-RAM multiplexer), (3) the entry selected into
    // rb_data. Entries held in registers (errors, LFSR states) are decoded from the address
    // at stage 1 (one hit flip-flop each) and gathered at stage 2, and the region flags are
    // registered from the address too, so that stage 3 is one multiplexer. Readback runs
    // while idle, when those registers hold.
    let rbw = p.rb_data_bits;
    let rb_w = m.reg("rb_weight", Ty::s(wb));
    let mut lane_arms = Vec::new();
    if lanes > 1 {
        let rb_lane = delay(
            &mut m,
            &clk,
            "rb_lane_q",
            rb_addr.clone().slice(lane_bits - 1, 0),
            l.weight_read_stages(),
        );
        for (ln, q) in w_r.iter().enumerate().skip(1) {
            lane_arms.push((
                vec![Expr::lit(ln as i128, Ty::u(lane_bits))],
                vec![assign(&rb_w, q.clone())],
            ));
        }
        m.always_comb(vec![
            assign(&rb_w, w_r[0].clone()),
            case(rb_lane, lane_arms, vec![]),
        ]);
    } else {
        m.always_comb(vec![assign(&rb_w, w_r[0].clone())]);
    }
    let rb_w_ext = widen(&mut m, "rb_weight_ext", rb_w, rbw);
    if let Some((_, _, _, errs)) = &sm {
        let n_w = (l.inputs * l.outputs) as i128;
        let rb_ty = Ty::u(l.rb_addr_bits);
        // Those registers load only while the unit is idle, when readback reads them.
        let rb_en = m.wire_assign("rb_regs_en", busy.clone().lnot());
        // Banked weights arrive later: the register-held entries follow the address
        // delayed alike.
        let rb_addr_held = delay(
            &mut m,
            &clk,
            "rb_addr_d",
            rb_addr.clone(),
            l.bank_read_stages(),
        );
        let rb_e = select_by_address(
            &mut m,
            &clk,
            &rb_en,
            "rb_err",
            &rb_addr_held,
            errs.iter()
                .enumerate()
                .map(|(c, e)| (n_w + c as i128, e.clone()))
                .collect(),
        );
        let rb_e_ext = widen(&mut m, "rb_err_ext", rb_e, rbw);
        let is_err = at_or_past(&mut m, &clk, &rb_en, "rb_is_err", &rb_addr_held, n_w);
        let rb_we = Expr::mux(is_err, rb_e_ext, rb_w_ext);
        let rb_stored = match &modulation {
            Some((_, _, _, rb_index, rb_value)) => {
                // Entries past the errors address the modulation memory, read like the
                // weights: the address now, the value a cycle later.
                let first = l.rb_first_modulation() as i128;
                let offset = m.wire_assign(
                    "mod_rb_offset",
                    rb_addr.clone().sub(Expr::lit(first, rb_ty)),
                );
                let ib = rb_index.width();
                if ib < l.rb_addr_bits {
                    discard(
                        &mut m,
                        "mod_rb_offset_high",
                        offset.clone().slice(l.rb_addr_bits - 1, ib),
                    );
                }
                m.assign(rb_index, offset.resize(ib));
                // The unit's read register, then as many more as the weights take.
                let rb_mod = delay(
                    &mut m,
                    &clk,
                    "rb_mod_q",
                    rb_value.clone(),
                    l.weight_read_stages() - 1,
                );
                let rb_m_ext = widen(&mut m, "rb_mod_ext", rb_mod, rbw);
                let is_mod = at_or_past(&mut m, &clk, &rb_en, "rb_is_mod", &rb_addr_held, first);
                Expr::mux(is_mod, rb_m_ext, rb_we)
            }
            None => rb_we,
        };
        // Entries past the modulation: the LFSR states, registers selected like the errors.
        let first_lfsr = l.rb_first_lfsr() as i128;
        match lfsr_readback(
            &mut m,
            &clk,
            &rb_en,
            &lfsr_states,
            &rb_addr_held,
            first_lfsr,
        ) {
            Some(piece) => {
                let piece = widen(&mut m, "rb_lfsr_ext", piece, rbw).as_signed();
                let is_lfsr = at_or_past(
                    &mut m,
                    &clk,
                    &rb_en,
                    "rb_is_lfsr",
                    &rb_addr_held,
                    first_lfsr,
                );
                m.assign(&rb_next, Expr::mux(is_lfsr, piece, rb_stored));
            }
            None => m.assign(&rb_next, rb_stored),
        }
    } else {
        // Inference: only weights; the address bits above the lane select are the word.
        m.assign(&rb_next, rb_w_ext);
    }

    m.section("control");
    let (sm_start, sm_done) = match sm {
        Some((start, done, _, _)) => (Some(start), Some(done)),
        None => (None, None),
    };
    control(
        &mut m,
        l,
        &ports,
        &Control {
            start,
            hold: hold.clone(),
            updating: updating.clone(),
            active,
            active_reg: active_reg.is_some(),
            idle,
            start_label,
            wr_bank,
            rd_bank,
            pending,
            pending_label,
            down,
            out_ports,
            state,
            label,
            s_idle,
            s_wait,
            s_fwd,
            s_smax,
            s_upd,
            issuing,
            row0,
            word0,
            addr0,
            word_last0,
            word_last_reg,
            row_last0,
            st,
            chains: vec![v.clone(), first, last.clone(), fin.clone(), row, word],
            v,
            last,
            fin,
            done,
            done_p,
            sm_start,
            sm_done,
            done_stmts,
            issue_last: issue_last_reg,
            mul_handshake,
        },
    );
    m
}

/// Each lane's own multiplier, its operands registered first where `mul_stages` says, its
/// product registered: the products at the accumulate stage.
fn own_multipliers(
    m: &mut Module,
    l: &LayerParams,
    clk: &Expr,
    hold: &Option<Expr>,
    operands: Vec<Expr>,
    x_r: &[Expr],
) -> Vec<Expr> {
    let mut prod_ff = Vec::new();
    let prods = operands
        .into_iter()
        .enumerate()
        .map(|(ln, a)| {
            // Operands registered beside the DSP where the target wants it (`mul_stages`).
            let (a, x) = if l.mul_stages > 0 {
                let a_q = m.reg(&format!("mul_a_q{ln}"), a.ty());
                let x_q = m.reg(&format!("mul_x_q{ln}"), x_r[ln].ty());
                prod_ff.push(assign(&a_q, a));
                prod_ff.push(assign(&x_q, x_r[ln].clone()));
                (a_q, x_q)
            } else {
                (a, x_r[ln].clone())
            };
            let prod = m.wire_assign(&format!("prod{ln}"), a.mul(x));
            let q = m.reg(&format!("prod_q{ln}"), prod.ty());
            prod_ff.push(assign(&q, prod));
            q
        })
        .collect();
    m.always_ff(clk, held(hold, prod_ff));
    prods
}

/// Shared multipliers (`DesignParams::mul_pool`): the operands leave on `pool_a<ln>` /
/// `pool_x<ln>` with `pool_valid` high while an item is at the operand stage (the top
/// registers them there, as `mul_stages` counts); the registered products come back on
/// `pool_p<ln>`, pool-wide, and are cut to this unit's exact product width. `pool_hold`
/// tells the arbiter that an item of this pass may not have passed its operand stage.
#[allow(clippy::too_many_arguments)]
fn pool_ports(
    m: &mut Module,
    p: &DesignParams,
    l: &LayerParams,
    st: &Stages,
    clk: &Expr,
    handshake: (&Expr, &Expr),
    issuing: &Expr,
    updating: &Expr,
    v: &[Expr],
    operands: Vec<Expr>,
    x_r: &[Expr],
) -> Vec<Expr> {
    let (pool_a, pool_x) = p.mul_pool_operand_bits();
    let fwd = forward_operand_stage(l) as usize;
    let held = |to: usize| {
        v[1..=to]
            .iter()
            .fold(issuing.clone(), |acc, e| acc.lor(e.clone()))
    };
    let (valid, hold) = match st.delta {
        Some(upd) => {
            let upd = upd as usize;
            (
                Expr::mux(updating.clone(), v[upd].clone(), v[fwd].clone()),
                Expr::mux(updating.clone(), held(upd), held(fwd)),
            )
        }
        None => (v[fwd].clone(), held(fwd)),
    };
    let valid_port = m.output_wire("pool_valid", Ty::bit());
    m.assign(&valid_port, valid);
    // Registered, so that the arbiter reads flip-flops only: a cycle late, it still
    // covers the item a grant starts this cycle, and one stage past the operand stage.
    let (req, grant) = handshake;
    let hold_port = m.output_reg("pool_hold", Ty::bit());
    m.always_ff(
        clk,
        vec![assign(
            &hold_port,
            hold.lor(req.clone().land(grant.clone())),
        )],
    );
    operands
        .into_iter()
        .enumerate()
        .map(|(ln, a)| {
            let a_port = m.output_wire(&format!("pool_a{ln}"), a.ty());
            m.assign(&a_port, a.clone());
            let x_port = m.output_wire(&format!("pool_x{ln}"), x_r[ln].ty());
            m.assign(&x_port, x_r[ln].clone());
            let pool = m.input(&format!("pool_p{ln}"), Ty::s(pool_a + pool_x));
            let bits = a.width() + x_r[ln].width();
            let cut = if bits < pool_a + pool_x {
                pool.slice(bits - 1, 0).as_signed()
            } else {
                pool
            };
            m.wire_assign(&format!("prod_q{ln}"), cut)
        })
        .collect()
}

/// The forward pass's operand stage: w_r and x_r hold the item (memory register, data
/// register, and the banks' stages).
pub fn forward_operand_stage(l: &LayerParams) -> u32 {
    2 + l.bank_read_stages()
}

/// The readback piece of an LFSR state that the (delayed) address `rb_q` selects:
/// entry `first + lane·pieces + k` is bits `[16k+15:16k]` of that lane's state.
fn lfsr_readback(
    m: &mut Module,
    clk: &Expr,
    en: &Expr,
    states: &[Expr],
    rb_addr: &Expr,
    first: i128,
) -> Option<Expr> {
    if states.is_empty() {
        return None;
    }
    let piece_bits = LFSR_READBACK_BITS;
    let mut entries = Vec::new();
    for (ln, state) in states.iter().enumerate() {
        for k in 0..LFSR_READBACK_PIECES {
            let at = first + (ln * LFSR_READBACK_PIECES + k) as i128;
            let lo = k as u32 * piece_bits;
            entries.push((at, state.clone().slice(lo + piece_bits - 1, lo)));
        }
    }
    Some(select_by_address(m, clk, en, "rb_lfsr", rb_addr, entries))
}

/// The entry at readback address `addr`, for entries that live in registers (`(address,
/// value)` pairs of one type), two stages later like the memories' words: stage 1
/// registers one hit bit per entry, stage 2 ORs the value that hit (0 where none did).
/// Both load only while `en`.
fn select_by_address(
    m: &mut Module,
    clk: &Expr,
    en: &Expr,
    name: &str,
    addr: &Expr,
    entries: Vec<(i128, Expr)>,
) -> Expr {
    let ty = entries.first().expect("at least one entry").1.ty();
    let hit = m.reg(&format!("{name}_hit"), Ty::u(entries.len() as u32));
    let hits = Expr::concat(
        entries
            .iter()
            .rev()
            .map(|(at, _)| addr.clone().eq(Expr::lit(*at, addr.ty())))
            .collect(),
    );
    let q = m.reg(name, ty);
    let gathered = one_hot_select(&hit, entries.into_iter().map(|(_, v)| v).collect());
    let gathered = if ty.signed {
        gathered.as_signed()
    } else {
        gathered
    };
    m.always_ff(
        clk,
        vec![if_(
            en.clone(),
            vec![assign(&hit, hits), assign(&q, gathered)],
        )],
    );
    q
}

/// The readback address `addr` is at or past `first` (a region's start), two stages later;
/// loads only while `en`.
fn at_or_past(m: &mut Module, clk: &Expr, en: &Expr, name: &str, addr: &Expr, first: i128) -> Expr {
    let q1 = m.reg(&format!("{name}_q"), Ty::bit());
    let q2 = m.reg(&format!("{name}_q2"), Ty::bit());
    let past = addr.clone().ge(Expr::lit(first, addr.ty()));
    m.always_ff(
        clk,
        vec![if_(
            en.clone(),
            vec![assign(&q1, past), assign(&q2, q1.clone())],
        )],
    );
    q2
}

/// Stochastic update rounding: one LFSR per lane (`golden_model::spec::numeric::lfsr`), stepped
/// once per weight that lane updates, its pre-step state the rounding bias. The state is
/// learned-state like the weights: it powers up from its image ([`lfsr_file`], so a
/// checkpoint resumes exactly) and `rst` keeps it.
fn lfsrs(m: &mut Module, l: &LayerParams, clk: &Expr, step: Expr) -> Vec<Expr> {
    if l.lfsr_seeds.is_empty() {
        return Vec::new();
    }
    let step = m.wire_assign("lfsr_step", step);
    m.section("stochastic rounding: one 32-bit Galois LFSR per lane, taps 0x80200003");
    let ty = Ty::u(32);
    let lanes = l.lfsr_seeds.len();
    let mem = m.memory("lfsr", ty, lanes as u32, Some(&lfsr_file(l)));
    m.keep_as_memory(&mem);
    let taps = Expr::lit(golden_model::spec::numeric::lfsr::TAPS as i128, ty);
    let states: Vec<Expr> = (0..lanes)
        .map(|ln| {
            let at = Expr::lit(ln as i128, Ty::u(mem.addr_width()));
            m.wire_assign(&format!("lfsr{ln}"), mem.read(at))
        })
        .collect();
    let next: Vec<Stmt> = states
        .iter()
        .enumerate()
        .map(|(ln, s)| {
            let at = Expr::lit(ln as i128, Ty::u(mem.addr_width()));
            mem.write(
                at,
                s.clone()
                    .shr(1)
                    .xor(Expr::mux(s.clone().bit(0), taps.clone(), Expr::lit(0, ty))),
            )
        })
        .collect();
    m.always_ff(clk, vec![if_(step.clone(), next)]);
    states
}

/// Splits a flat element address into (lane, word) for the lane memories.
fn split_addr(
    m: &mut Module,
    prefix: &str,
    addr: &Expr,
    lanes: usize,
    lane_bits: u32,
    words: usize,
    word_aw: u32,
) -> (Option<Expr>, Expr) {
    let aw = addr.width();
    if lanes == 1 {
        return (None, addr.clone());
    }
    let lane = m.wire_assign(
        &format!("{prefix}_lane"),
        addr.clone().slice(lane_bits - 1, 0),
    );
    let word = if words == 1 {
        Expr::lit(0, Ty::u(word_aw))
    } else {
        m.wire_assign(
            &format!("{prefix}_word"),
            addr.clone().slice(aw - 1, lane_bits),
        )
    };
    (Some(lane), word)
}

/// The softmax errors e_c as signed wires, sliced from the unit's bus.
fn error_wires(m: &mut Module, bus: &Expr, l: &LayerParams) -> Vec<Expr> {
    signed_fields(m, "err", bus, l.classes, l.err_bits)
}

/// `B[c]·v` for each class, widened to `width`: add/subtract for the square basis
/// (entries −1/0/+1, no multiplier), a product for the sine basis. With `neg_ff` the
/// negated values are registered there (for values that hold still, like the errors).
fn basis_terms(
    m: &mut Module,
    prefix: &str,
    b: &[Expr],
    v: &[Expr],
    width: u32,
    square: bool,
    mut neg_ff: Option<&mut Vec<Stmt>>,
) -> Vec<Expr> {
    b.iter()
        .enumerate()
        .map(|(c, bc)| {
            let vc = if v.len() == 1 { &v[0] } else { &v[c] };
            if square {
                let pos = widen(m, &format!("{prefix}_pos{c}"), vc.clone(), width);
                let pos = named(m, &format!("{prefix}_pos{c}"), pos);
                let neg_val = Expr::lit(0, Ty::s(width)).sub(pos.clone());
                let neg = match neg_ff.as_deref_mut() {
                    Some(ff) => {
                        let q = m.reg(&format!("{prefix}_neg{c}"), Ty::s(width));
                        ff.push(assign(&q, neg_val));
                        q
                    }
                    None => m.wire_assign(&format!("{prefix}_neg{c}"), neg_val),
                };
                let bt = bc.ty();
                m.wire_assign(
                    &format!("{prefix}_term{c}"),
                    Expr::mux(
                        bc.clone().eq(Expr::lit(1, bt)),
                        pos,
                        Expr::mux(
                            bc.clone().eq(Expr::lit(-1, bt)),
                            neg,
                            Expr::lit(0, Ty::s(width)),
                        ),
                    ),
                )
            } else {
                let prod = m.wire_assign(&format!("{prefix}_prod{c}"), bc.clone().mul(vc.clone()));
                let ext = widen(m, &format!("{prefix}_term{c}_ext"), prod, width);
                named(m, &format!("{prefix}_term{c}"), ext)
            }
        })
        .collect()
}

struct Control {
    start: Expr,
    /// The datapath enable where the unit holds its datapath while idle.
    hold: Option<Expr>,
    /// The S_UPD flag (a constant 0 without an update phase).
    updating: Expr,
    /// state != S_IDLE: the `active` register where `active_reg` (kept in step by `goto`
    /// and `accept`), else the compare.
    active: Expr,
    active_reg: bool,
    /// state == S_IDLE, the same way.
    idle: Expr,
    start_label: Expr,
    wr_bank: Expr,
    rd_bank: Expr,
    pending: Expr,
    pending_label: Expr,
    down: Expr,
    out_ports: Vec<Expr>,
    state: Expr,
    label: Expr,
    s_idle: Expr,
    s_wait: Expr,
    s_fwd: Expr,
    s_smax: Option<Expr>,
    s_upd: Option<Expr>,
    issuing: Expr,
    row0: Expr,
    word0: Expr,
    addr0: Expr,
    word_last0: Expr,
    /// `word_last0` is a register the S0 counters' assignments keep in step with `word0`.
    word_last_reg: bool,
    /// Whether row0 is the last row, read only on a row's last word.
    row_last0: Expr,
    st: Stages,
    /// Per-stage shift chains: element k holds stage k's copy, element 0 is the source.
    chains: Vec<Vec<Expr>>,
    v: Vec<Expr>,
    last: Vec<Expr>,
    fin: Vec<Expr>,
    done: Expr,
    done_p: Option<Expr>,
    sm_start: Option<Expr>,
    sm_done: Option<Expr>,
    done_stmts: Vec<Stmt>,
    /// The register "S0 issues the last item"; `None` in a one-item pass, whose first
    /// item is its last.
    issue_last: Option<Expr>,
    /// Shared multipliers: (`pool_req`, `pool_grant`).
    mul_handshake: Option<(Expr, Expr)>,
}

fn control(m: &mut Module, l: &LayerParams, ports: &Ports, c: &Control) {
    let out_aw = c.row0.width();
    let word_aw = c.word0.width();
    let w_aw = c.addr0.width();
    let f = Expr::bool(false);
    let t = Expr::bool(true);
    // After the forward pass: the softmax when learning, else back to idle.
    let after_fwd = c.s_smax.clone().unwrap_or_else(|| c.s_idle.clone());
    let start_softmax: Vec<Stmt> = c.sm_start.iter().map(|s| assign(s, t.clone())).collect();
    // The S0 counters are 0 whenever nothing is issued (reset, and back to 0 after the last
    // item), so starting a pass sets one bit: the stream's handshakes and the softmax's
    // done reach no counter.
    // A registered `word_last0` follows word0: it is 0 wherever word0 returns to 0 (rows
    // of more than one word), and set as word0 steps onto a row's last word.
    let word_last_is = |value: &dyn Fn() -> Expr| -> Vec<Stmt> {
        if c.word_last_reg {
            vec![assign(&c.word_last0, value())]
        } else {
            Vec::new()
        }
    };
    let zero_counters = [
        vec![
            assign(&c.row0, Expr::lit(0, Ty::u(out_aw))),
            assign(&c.word0, Expr::lit(0, Ty::u(word_aw))),
            assign(&c.addr0, Expr::lit(0, Ty::u(w_aw))),
        ],
        word_last_is(&|| f.clone()),
    ]
    .concat();
    let n_items = l.lane_words();
    let mut start_issue = vec![assign(&c.issuing, t.clone())];
    start_issue.extend(c.issue_last.iter().map(|r| assign(r, f.clone())));
    // With shared multipliers a pass first asks for the pool; it issues once granted.
    let begin_issue = match &c.mul_handshake {
        Some((req, _)) => vec![assign(req, t.clone())],
        None => start_issue.clone(),
    };
    // S0 counters advance while issuing.
    let mut advance_stmts = vec![
        assign(&c.addr0, c.addr0.clone().add(Expr::lit(1, Ty::u(w_aw)))),
        if_(
            c.issue_last.clone().unwrap_or_else(|| t.clone()),
            vec![assign(&c.issuing, f.clone())],
        ),
    ];
    advance_stmts.extend(c.issue_last.iter().map(|r| {
        assign(
            r,
            c.addr0
                .clone()
                .eq(Expr::lit(n_items as i128 - 2, Ty::u(w_aw))),
        )
    }));
    let advance = if_(
        c.issuing.clone(),
        [
            advance_stmts,
            vec![if_else(
                c.word_last0.clone(),
                [
                    vec![
                        assign(&c.word0, Expr::lit(0, Ty::u(word_aw))),
                        assign(&c.row0, c.row0.clone().add(Expr::lit(1, Ty::u(out_aw)))),
                    ],
                    word_last_is(&|| f.clone()),
                    // word0 and word_last0 are cleared just above.
                    vec![if_(
                        c.row_last0.clone(),
                        vec![
                            assign(&c.row0, Expr::lit(0, Ty::u(out_aw))),
                            assign(&c.addr0, Expr::lit(0, Ty::u(w_aw))),
                        ],
                    )],
                ]
                .concat(),
                [
                    vec![assign(
                        &c.word0,
                        c.word0.clone().add(Expr::lit(1, Ty::u(word_aw))),
                    )],
                    word_last_is(&|| {
                        c.word0
                            .clone()
                            .eq(Expr::lit(l.words as i128 - 2, Ty::u(word_aw)))
                    }),
                ]
                .concat(),
            )],
        ]
        .concat(),
    );
    let chain_ff: Vec<Stmt> = c
        .chains
        .iter()
        .flat_map(|ch| ch.windows(2).map(|w| assign(&w[1], w[0].clone())))
        .collect();
    let mut pipeline: Vec<Stmt> = held(&c.hold, chain_ff);
    // The forward pass's last word of a row leaves the stage before `done`.
    let pre = c.st.done as usize - 1;
    pipeline.push(assign(
        &c.done,
        c.v[pre]
            .clone()
            .land(c.last[pre].clone())
            .land(c.state.clone().eq(c.s_fwd.clone())),
    ));
    if let Some(done_p) = &c.done_p {
        pipeline.push(assign(done_p, c.done.clone()));
    }
    let mut out_defaults: Vec<Stmt> = Vec::new();
    let fsm_fwd_end: Vec<Stmt>;
    let idle_arm: Vec<Stmt>;
    let wait_arm: Vec<Stmt>;
    if l.classifier {
        let (pred_valid, pred) = (&c.out_ports[0], &c.out_ports[1]);
        let best_idx = Expr::ident("best_idx", Ty::u(l.label_bits));
        // A prediction waits in pred/pred_valid until the consumer takes it.
        out_defaults.push(if_(
            pred_valid.clone().land(c.down.clone()),
            vec![assign(pred_valid, f.clone())],
        ));
        fsm_fwd_end = goto(c, &c.s_wait);
        // Classifier: IDLE → FWD directly; WAIT, after FWD, publishes the prediction once
        // the previous one was taken.
        idle_arm = accept(c, [goto(c, &c.s_fwd), begin_issue.clone()].concat());
        wait_arm = vec![if_(
            pred_valid.clone().lnot(),
            [
                vec![
                    assign(pred_valid, t.clone()),
                    assign(pred, best_idx),
                    assign(&c.out_ports[2], c.label.clone()),
                ],
                goto(c, &after_fwd),
                start_softmax.clone(),
            ]
            .concat(),
        )];
    } else {
        out_defaults.push(assign(&c.out_ports[0], f.clone()));
        out_defaults.push(assign(&c.out_ports[3], f.clone()));
        // The softmax starts once the last row's projection is in the scores (below).
        fsm_fwd_end = [
            goto(c, &after_fwd),
            vec![
                assign(&c.out_ports[3], t.clone()),
                assign(&c.out_ports[4], c.label.clone()),
            ],
        ]
        .concat();
        idle_arm = accept(c, goto(c, &c.s_wait));
        // Hidden: WAIT until the next layer's input buffer is free.
        wait_arm = vec![if_(
            c.down.clone().lnot(),
            [goto(c, &c.s_fwd), begin_issue.clone()].concat(),
        )];
    }
    let d = c.st.done as usize;
    let mut done_arm = c.done_stmts.clone();
    done_arm.push(if_(c.fin[d].clone(), fsm_fwd_end));
    // FWD's only event: `done` rises only in FWD (it is registered with the state), so it
    // is tested on its own, outside the state decode, and the output registers it loads
    // hang off two flip-flops (done, fin).
    let fwd_done = if_(c.done.clone(), done_arm);
    // With the `active` register, IDLE is tested on it, outside the state decode (as
    // FWD's `done`).
    let (idle_if, mut arms) = match c.active_reg {
        true => (Some(if_(c.idle.clone(), idle_arm)), Vec::new()),
        false => (None, vec![(vec![c.s_idle.clone()], idle_arm)]),
    };
    arms.push((vec![c.s_wait.clone()], wait_arm));
    if let (Some(s_smax), Some(s_upd), Some(sm_done), Some(ws)) =
        (&c.s_smax, &c.s_upd, &c.sm_done, c.st.write)
    {
        let ws = ws as usize;
        arms.push((
            vec![s_smax.clone()],
            vec![if_(
                sm_done.clone(),
                [
                    goto(c, s_upd),
                    vec![assign(&c.updating, t.clone())],
                    begin_issue,
                ]
                .concat(),
            )],
        ));
        arms.push((
            vec![s_upd.clone()],
            vec![if_(
                c.v[ws].clone().land(c.fin[ws].clone()),
                [goto(c, &c.s_idle), vec![assign(&c.updating, f.clone())]].concat(),
            )],
        ));
    }
    let mut reset = vec![
        assign(&c.wr_bank, f.clone()),
        assign(&c.pending, f.clone()),
        assign(&c.state, c.s_idle.clone()),
        assign(&c.issuing, f.clone()),
        assign(&c.done, f.clone()),
        assign(&c.out_ports[0], f.clone()),
    ];
    if c.active_reg {
        reset.push(assign(&c.active, f.clone()));
    }
    reset.extend(zero_counters);
    if c.s_upd.is_some() {
        reset.push(assign(&c.updating, f.clone()));
    }
    reset.extend(c.v.iter().skip(1).map(|v| assign(v, f.clone())));
    reset.extend(c.done_p.iter().map(|d| assign(d, f.clone())));
    let mut run = Vec::new();
    if let Some(sm_start) = &c.sm_start {
        reset.push(assign(sm_start, f.clone()));
        run.push(assign(sm_start, f.clone()));
    }
    if !l.classifier {
        reset.push(assign(&c.out_ports[3], f.clone()));
    }
    if let (Some(done_p), Some(q)) = (&c.done_p, c.st.proj) {
        // The last row's projection completes the scores: the softmax may start.
        run.push(if_(
            done_p.clone().land(c.fin[q as usize].clone()),
            start_softmax.clone(),
        ));
    }
    run.extend(out_defaults);
    // A sample that arrives while busy waits in the other bank.
    run.push(if_(
        c.start.clone(),
        vec![
            assign(&c.wr_bank, c.wr_bank.clone().lnot()),
            if_(
                c.active.clone(),
                vec![
                    assign(&c.pending, t.clone()),
                    assign(&c.pending_label, c.start_label.clone()),
                ],
            ),
        ],
    ));
    reset.extend(c.issue_last.iter().map(|r| assign(r, f.clone())));
    if let Some((req, grant)) = &c.mul_handshake {
        reset.push(assign(req, f.clone()));
        run.push(if_(
            req.clone().land(grant.clone()),
            [start_issue, vec![assign(req, f.clone())]].concat(),
        ));
    }
    run.push(advance);
    run.extend(pipeline);
    run.push(fwd_done);
    run.extend(idle_if);
    run.push(case(c.state.clone(), arms, vec![]));
    m.always_ff(&ports.clk, vec![if_else(ports.rst.clone(), reset, run)]);
}

/// `state <= to`, clearing the `active` flag that mirrors it when `to` is S_IDLE (`accept`,
/// the only way out of S_IDLE, sets it).
/// `stmts` under the datapath enable `hold` (`LayerParams::hold_when_idle`), else as
/// they are.
fn held(hold: &Option<Expr>, stmts: Vec<Stmt>) -> Vec<Stmt> {
    match hold {
        Some(en) => vec![if_(en.clone(), stmts)],
        None => stmts,
    }
}

fn goto(c: &Control, to: &Expr) -> Vec<Stmt> {
    let mut stmts = vec![assign(&c.state, to.clone())];
    if c.active_reg && to == &c.s_idle {
        stmts.push(assign(&c.active, Expr::bool(false)));
    }
    stmts
}

/// IDLE: take a sample that starts now (it is in the write bank) or one that waited (in
/// the other bank), then `begin` (which leaves S_IDLE).
fn accept(c: &Control, begin: Vec<Stmt>) -> Vec<Stmt> {
    let begin = match c.active_reg {
        true => [vec![assign(&c.active, Expr::bool(true))], begin].concat(),
        false => begin,
    };
    vec![if_else(
        c.start.clone(),
        [
            vec![
                assign(&c.label, c.start_label.clone()),
                assign(&c.rd_bank, c.wr_bank.clone()),
            ],
            begin.clone(),
        ]
        .concat(),
        vec![if_(
            c.pending.clone(),
            [
                vec![
                    assign(&c.label, c.pending_label.clone()),
                    assign(&c.rd_bank, c.wr_bank.clone().lnot()),
                    assign(&c.pending, Expr::bool(false)),
                ],
                begin,
            ]
            .concat(),
        )],
    )]
}

/// A shift chain of `n` registers `<name>1 … <name>n` behind `src`: element k is the value
/// at stage k, element 0 the source (the assignments are made in the control block).
fn chain(m: &mut Module, name: &str, src: Expr, n: u32) -> Vec<Expr> {
    let ty = src.ty();
    let mut v = vec![src];
    v.extend((1..=n).map(|k| m.reg(&format!("{name}{k}"), ty)));
    v
}
