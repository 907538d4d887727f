//! Readback, while idle: the weights through the weight store's read port, then the C
//! softmax errors, the modulation values and the LFSR states.
//!
//! Stages: (1) the address and the memories' read, (2) the memories' data register (w_r,
//! after the wide block-RAM multiplexer), (3) the entry selected into rb_data. A unit of
//! more than `LayerParams::READBACK_LANE_WAYS` lanes picks its lane in registered 8:1
//! steps between (2) and (3) (`LayerParams::readback_lane_stages`). Entries held in
//! registers (errors, LFSR states) are decoded from the address at stage 1 (one hit
//! flip-flop each) and gathered at stage 2, and the region flags are registered from the
//! address too, so that stage 3 is one multiplexer. Readback runs while idle, when those
//! registers hold.

use crate::params::{LayerParams, LFSR_READBACK_BITS, LFSR_READBACK_PIECES};
use crate::verilog::{assign, case, if_, Expr, Module, Stmt, Ty};

use super::super::{delay, discard, one_hot_select, widen};
use super::interface::Ports;
use super::learning_signal::{ModulationPorts, Signal};
use super::Unit;

pub(super) fn build(
    m: &mut Module,
    u: &Unit,
    io: &Ports,
    w_r: &[Expr],
    signal: Option<&Signal>,
    lfsr_states: &[Expr],
) {
    m.section(if u.p.learn {
        "readback: weights, then the C softmax errors"
    } else {
        "readback: weights"
    });
    let weight = weight_entry(m, u, io, w_r);
    let Some(s) = signal else {
        // Inference: only weights; the address bits above the lane select are the word.
        m.assign(&io.rb_next, weight);
        return;
    };
    let rbw = u.p.rb_data_bits;
    let l = u.l;
    let n_w = l.rb_first_error() as i128;
    // Those registers load only while the unit is idle, when readback reads them.
    let en = m.wire_assign("rb_regs_en", io.busy.clone().lnot());
    // Banked weights and a wide lane select arrive later: the register-held entries
    // follow the address delayed alike.
    let held = Held {
        en,
        addr: delay(
            m,
            &u.clk,
            "rb_addr_d",
            io.rb_addr.clone(),
            l.readback_stages(),
        ),
    };
    let rb_e = held.select(
        m,
        u,
        "rb_err",
        s.errs
            .iter()
            .enumerate()
            .map(|(c, e)| (n_w + c as i128, e.clone()))
            .collect(),
    );
    let rb_e_ext = widen(m, "rb_err_ext", rb_e, rbw);
    let is_err = held.at_or_past(m, u, "rb_is_err", n_w);
    let stored = Expr::mux(is_err, rb_e_ext, weight);
    let stored = match &s.modulation {
        Some(mp) => modulation_entry(m, u, io, &held, mp, stored),
        None => stored,
    };
    // Entries past the modulation: the LFSR states, registers selected like the errors.
    let first_lfsr = l.rb_first_lfsr() as i128;
    match lfsr_entry(m, u, &held, lfsr_states, first_lfsr) {
        Some(piece) => {
            let piece = widen(m, "rb_lfsr_ext", piece, rbw).as_signed();
            let is_lfsr = held.at_or_past(m, u, "rb_is_lfsr", first_lfsr);
            m.assign(&io.rb_next, Expr::mux(is_lfsr, piece, stored));
        }
        None => m.assign(&io.rb_next, stored),
    }
}

/// The weight at the readback address: the lane's data register, selected by the
/// address's low bits (delayed as the read), in registered 8:1 steps while more than
/// `READBACK_LANE_WAYS` lanes remain, then one `case` into stage 3.
fn weight_entry(m: &mut Module, u: &Unit, io: &Ports, w_r: &[Expr]) -> Expr {
    let l = u.l;
    let rb_w = m.reg("rb_weight", Ty::s(l.weight_bits));
    if l.lanes > 1 {
        let lane_bits = l.lane_bits();
        let mut lane = delay(
            m,
            &u.clk,
            "rb_lane_q",
            io.rb_addr.clone().slice(lane_bits - 1, 0),
            l.weight_read_stages(),
        );
        let mut items = w_r.to_vec();
        for step in 0..l.readback_lane_stages() {
            items = lane_step(m, u, step, &lane, &items);
            let upper = lane.clone().slice(lane.width() - 1, LANE_STEP_BITS);
            lane = delay(m, &u.clk, &format!("rb_lane_s{step}"), upper, 1);
        }
        m.always_comb(vec![
            assign(&rb_w, items[0].clone()),
            case(lane.clone(), lane_arms(&lane, &rb_w, &items), vec![]),
        ]);
    } else {
        m.always_comb(vec![assign(&rb_w, w_r[0].clone())]);
    }
    widen(m, "rb_weight_ext", rb_w, u.p.rb_data_bits)
}

/// Select bits of one registered lane-select step (`READBACK_LANE_WAYS` = 2^3).
const LANE_STEP_BITS: u32 = 3;

/// One registered step of the lane select: each group of `READBACK_LANE_WAYS` items
/// picked by the select's low bits into `rb_lane_t<step>_<group>`.
fn lane_step(m: &mut Module, u: &Unit, step: u32, sel: &Expr, items: &[Expr]) -> Vec<Expr> {
    debug_assert_eq!(1 << LANE_STEP_BITS, LayerParams::READBACK_LANE_WAYS);
    let low = sel.clone().slice(LANE_STEP_BITS - 1, 0);
    let mut body = Vec::new();
    let picked = items
        .chunks(LayerParams::READBACK_LANE_WAYS)
        .enumerate()
        .map(|(g, group)| {
            let t = m.reg(&format!("rb_lane_t{step}_{g}"), group[0].ty());
            body.push(assign(&t, group[0].clone()));
            body.push(case(low.clone(), lane_arms(&low, &t, group), vec![]));
            t
        })
        .collect();
    m.always_ff(&u.clk, body);
    picked
}

/// `target = items[k]` for `sel == k`, k ≥ 1 (item 0 is the default before the `case`;
/// select values past the items are holes of the lane field and read it too).
fn lane_arms(sel: &Expr, target: &Expr, items: &[Expr]) -> Vec<(Vec<Expr>, Vec<Stmt>)> {
    items
        .iter()
        .enumerate()
        .skip(1)
        .map(|(k, q)| {
            (
                vec![Expr::lit(k as i128, Ty::u(sel.width()))],
                vec![assign(target, q.clone())],
            )
        })
        .collect()
}

/// Entries past the errors address the modulation memory, read like the weights: the
/// address now, the value a cycle later.
fn modulation_entry(
    m: &mut Module,
    u: &Unit,
    io: &Ports,
    held: &Held,
    mp: &ModulationPorts,
    below: Expr,
) -> Expr {
    let l = u.l;
    let first = l.rb_first_modulation() as i128;
    let offset = m.wire_assign(
        "mod_rb_offset",
        io.rb_addr
            .clone()
            .sub(Expr::lit(first, Ty::u(l.rb_addr_bits))),
    );
    let ib = mp.rb_index.width();
    if ib < l.rb_addr_bits {
        discard(
            m,
            "mod_rb_offset_high",
            offset.clone().slice(l.rb_addr_bits - 1, ib),
        );
    }
    m.assign(&mp.rb_index, offset.resize(ib));
    // The unit's read register, then as many more as the weights take.
    let rb_mod = delay(
        m,
        &u.clk,
        "rb_mod_q",
        mp.rb_value.clone(),
        l.weight_read_stages() - 1 + l.readback_lane_stages(),
    );
    let rb_m_ext = widen(m, "rb_mod_ext", rb_mod, u.p.rb_data_bits);
    let is_mod = held.at_or_past(m, u, "rb_is_mod", first);
    Expr::mux(is_mod, rb_m_ext, below)
}

/// The readback piece of an LFSR state that the held address selects: entry
/// `first + lane·pieces + k` is bits `[16k+15:16k]` of that lane's state.
fn lfsr_entry(m: &mut Module, u: &Unit, held: &Held, states: &[Expr], first: i128) -> Option<Expr> {
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
    Some(held.select(m, u, "rb_lfsr", entries))
}

/// The readback address as the register-held entries see it, and their load enable.
struct Held {
    en: Expr,
    addr: Expr,
}

impl Held {
    /// The entry at the address, for entries that live in registers (`(address, value)`
    /// pairs of one type), two stages later like the memories' words: stage 1 registers
    /// one hit bit per entry, stage 2 ORs the value that hit (0 where none did).
    fn select(&self, m: &mut Module, u: &Unit, name: &str, entries: Vec<(i128, Expr)>) -> Expr {
        let ty = entries.first().expect("at least one entry").1.ty();
        let hit = m.reg(&format!("{name}_hit"), Ty::u(entries.len() as u32));
        let hits = Expr::concat(
            entries
                .iter()
                .rev()
                .map(|(at, _)| self.addr.clone().eq(Expr::lit(*at, self.addr.ty())))
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
            &u.clk,
            vec![if_(
                self.en.clone(),
                vec![assign(&hit, hits), assign(&q, gathered)],
            )],
        );
        q
    }

    /// The address is at or past `first` (a region's start), two stages later.
    fn at_or_past(&self, m: &mut Module, u: &Unit, name: &str, first: i128) -> Expr {
        let q1 = m.reg(&format!("{name}_q"), Ty::bit());
        let q2 = m.reg(&format!("{name}_q2"), Ty::bit());
        let past = self.addr.clone().ge(Expr::lit(first, self.addr.ty()));
        m.always_ff(
            &u.clk,
            vec![if_(
                self.en.clone(),
                vec![assign(&q1, past), assign(&q2, q1.clone())],
            )],
        );
        q2
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;
    use crate::params::LFSR_READBACK_PIECES;

    #[test]
    fn inference_reads_back_weights_only() {
        let unit = Knobs {
            learn: false,
            ..Knobs::default()
        }
        .unit(0);
        assert!(unit.has("rb_weight") && !unit.has("rb_err"));
    }

    #[test]
    fn a_learning_unit_reads_back_its_errors_and_lfsr_states_from_registers() {
        let knobs = Knobs {
            update_rounding: "stochastic",
            ..Knobs::default()
        };
        let l = knobs.layer(0);
        let unit = knobs.unit(0);
        assert_eq!(unit.width("rb_err_hit"), l.classes as u32);
        assert_eq!(
            unit.width("rb_lfsr_hit"),
            (l.lanes * LFSR_READBACK_PIECES) as u32
        );
        assert!(unit.has("rb_is_err_q2") && unit.has("rb_is_lfsr_q2"));
        assert!(!unit.has("rb_is_mod_q2"));
    }
}
