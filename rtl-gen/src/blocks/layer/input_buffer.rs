//! The input buffer: one memory per lane, element i in lane i % lanes, in two banks: the
//! upstream fills one while the unit works from the other.

use crate::params::addr_bits;
use crate::verilog::{assign, if_, if_else, Expr, Memory, Module, Ty};

use super::super::{place, ram_port};
use super::control::State;
use super::interface::Ports;
use super::pipeline::{Chains, Issue};
use super::Unit;

pub(super) struct InputBuffer {
    pub wr_bank: Expr,
    pub rd_bank: Expr,
    /// A whole sample waits in the write bank (`full`): nothing more may be written.
    pub pending: Expr,
    pub pending_label: Expr,
    /// Each lane's registered read.
    pub x_q: Vec<Expr>,
    /// The read address is registered per lane (one of x's delay stages).
    pub raddr_registered: bool,
}

pub(super) fn build(
    m: &mut Module,
    u: &Unit,
    io: &Ports,
    fsm: &State,
    issue: &Issue,
    pipe: &Chains,
) -> InputBuffer {
    let l = u.l;
    let lanes = l.lanes;
    m.section("input buffer: one memory per lane, element i in lane i % lanes");
    // Two banks: the upstream fills one while this unit works from the other. `full`: a
    // whole sample waits in the write bank, so nothing more may be written.
    let wr_bank = m.reg("wr_bank", Ty::bit());
    let rd_bank = m.reg("rd_bank", Ty::bit());
    let pending = m.reg("pending", Ty::bit());
    let pending_label = m.reg("pending_label", Ty::u(l.tag_bits()));
    m.assign(&io.full, pending.clone());
    let (in_lane, in_word) = split_addr(m, u, io);
    let x_word = match pipe.word.get(1..).and_then(|w| w.last()) {
        Some(w2) => m.wire_assign(
            "x_word",
            Expr::mux(fsm.updating.clone(), w2.clone(), issue.word0.clone()),
        ),
        None => issue.word0.clone(),
    };
    let (x_depth, x_wr, x_rd) = if l.words == 1 {
        (2, wr_bank.clone(), rd_bank.clone())
    } else {
        (
            2u32 << addr_bits(l.words),
            Expr::concat(vec![wr_bank.clone(), in_word]),
            Expr::concat(vec![rd_bank.clone(), x_word]),
        )
    };
    let x_mem: Vec<Memory> = (0..lanes)
        .map(|ln| m.memory(&format!("x_lane{ln}"), Ty::s(l.act_bits), x_depth, None))
        .collect();
    for mem in &x_mem {
        place(m, u.p, mem, false);
    }
    let x_q: Vec<Expr> = (0..lanes)
        .map(|ln| m.reg(&format!("x_q{ln}"), Ty::s(l.act_bits)))
        .collect();
    let raddr_registered = l.bank_read_stages() > 0;
    let x_raddr = read_addresses(m, u, &x_rd, raddr_registered);
    let mut x_writes = Vec::new();
    for (ln, mem) in x_mem.iter().enumerate() {
        let hit = match &in_lane {
            Some(lane) => io
                .in_we
                .clone()
                .land(lane.clone().eq(Expr::lit(ln as i128, lane.ty()))),
            None => io.in_we.clone(),
        };
        let (we, waddr, wdata) = write_port(m, u, io, ln, hit, &x_wr);
        x_writes.extend(ram_port(
            m,
            mem,
            we,
            waddr,
            wdata,
            &x_q[ln],
            x_raddr[ln].clone(),
        ));
    }
    m.always_ff(&u.clk, x_writes);
    InputBuffer {
        wr_bank,
        rd_bank,
        pending,
        pending_label,
        x_q,
        raddr_registered,
    }
}

/// Banked weights are read several stages before x is needed, so x's read address can
/// take one of those stages: registered per lane beside its block RAM (kept apart, as the
/// weight banks' copies), so that no select drives every lane's address pins across the
/// die in one cycle. x is then delayed one stage less ([`super::mac::operand_registers`]).
fn read_addresses(m: &mut Module, u: &Unit, x_rd: &Expr, registered: bool) -> Vec<Expr> {
    if !registered {
        return vec![x_rd.clone(); u.l.lanes];
    }
    let regs: Vec<Expr> = (0..u.l.lanes)
        .map(|ln| m.reg(&format!("x_ra{ln}"), x_rd.ty()))
        .collect();
    let ff = regs.iter().map(|r| assign(r, x_rd.clone())).collect();
    m.always_ff_kept(&u.clk, ff);
    regs
}

/// Lane `ln`'s write (enable, address, data): the stream's own, or registered beside the
/// lane's memory (`DesignParams::input_write_stages`, kept per lane as the weight banks'
/// copies). The address holds the write bank, so a write still lands in the bank it was
/// sent to when `start` swaps the banks meanwhile. The enable clears under reset: nothing
/// sent before it lands after it.
fn write_port(
    m: &mut Module,
    u: &Unit,
    io: &Ports,
    ln: usize,
    hit: Expr,
    x_wr: &Expr,
) -> (Expr, Expr, Expr) {
    if u.p.input_write_stages == 0 {
        return (hit, x_wr.clone(), io.in_data.clone());
    }
    let we = m.reg(&format!("x_we{ln}"), Ty::bit());
    let wa = m.reg(&format!("x_wa{ln}"), x_wr.ty());
    let wd = m.reg(&format!("x_wd{ln}"), Ty::s(u.l.act_bits));
    m.always_ff_kept(
        &u.clk,
        vec![
            assign(&we, Expr::mux(u.rst.clone(), Expr::bool(false), hit)),
            assign(&wa, x_wr.clone()),
            assign(&wd, io.in_data.clone()),
        ],
    );
    (we, wa, wd)
}

/// The (lane, word) of the element the stream writes, by the layer's
/// [`LaneMap`](golden_model::spec::lanes::LaneMap) (`None` for the lane of a one-lane
/// unit). With a power-of-two lane count they are the flat address's bit fields
/// ([`LaneMap::packed`](golden_model::spec::lanes::LaneMap::packed) is the address
/// itself). With other counts, counters: the stream writes a sample's elements in order
/// from address 0, so the element after (lane, word) is (lane + 1, word), or (0, word + 1)
/// past the last lane; address 0 starts them again, whatever came before it.
fn split_addr(m: &mut Module, u: &Unit, io: &Ports) -> (Option<Expr>, Expr) {
    let l = u.l;
    let (lanes, words) = (l.lanes, l.words);
    let addr = &io.in_addr;
    let aw = addr.width();
    if lanes == 1 {
        return (None, addr.clone());
    }
    let lane_bits = l.lane_bits();
    let word_ty = Ty::u(addr_bits(words));
    if !lanes.is_power_of_two() {
        return counted_split(m, u, io, Ty::u(lane_bits), word_ty);
    }
    let lane = m.wire_assign("in_lane", addr.clone().slice(lane_bits - 1, 0));
    let word = if words == 1 {
        Expr::lit(0, word_ty)
    } else {
        m.wire_assign("in_word", addr.clone().slice(aw - 1, lane_bits))
    };
    (Some(lane), word)
}

/// [`split_addr`] by counting the stream's writes: `in_lane` / `in_word` are the written
/// element's place, `in_lane_n` / `in_word_n` the next one's.
fn counted_split(
    m: &mut Module,
    u: &Unit,
    io: &Ports,
    lane_ty: Ty,
    word_ty: Ty,
) -> (Option<Expr>, Expr) {
    let l = u.l;
    let first = m.wire_assign(
        "in_first",
        io.in_addr.clone().eq(Expr::lit(0, io.in_addr.ty())),
    );
    let lane_n = m.reg("in_lane_n", lane_ty);
    let word_n = m.reg("in_word_n", word_ty);
    let lane = m.wire_assign(
        "in_lane",
        Expr::mux(first.clone(), Expr::lit(0, lane_ty), lane_n.clone()),
    );
    let word = m.wire_assign(
        "in_word",
        Expr::mux(first, Expr::lit(0, word_ty), word_n.clone()),
    );
    let last_lane = m.wire_assign(
        "in_last_lane",
        lane.clone().eq(Expr::lit(l.lanes as i128 - 1, lane_ty)),
    );
    let step = vec![if_else(
        last_lane,
        vec![
            assign(&lane_n, Expr::lit(0, lane_ty)),
            assign(
                &word_n,
                word.clone()
                    .add(Expr::lit(1, word_ty))
                    .resize(word_ty.width),
            ),
        ],
        vec![
            assign(
                &lane_n,
                lane.clone()
                    .add(Expr::lit(1, lane_ty))
                    .resize(lane_ty.width),
            ),
            assign(&word_n, word.clone()),
        ],
    )];
    m.always_ff(
        &u.clk,
        vec![if_else(
            u.rst.clone(),
            vec![
                assign(&lane_n, Expr::lit(0, lane_ty)),
                assign(&word_n, Expr::lit(0, word_ty)),
            ],
            vec![if_(io.in_we.clone(), step)],
        )],
    );
    (Some(lane), word)
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;

    #[test]
    fn one_memory_per_lane_holds_both_banks_of_its_elements() {
        for lanes in [1, 2, 4] {
            let knobs = Knobs {
                lanes,
                ..Knobs::default()
            };
            let l = knobs.layer(0);
            let unit = knobs.unit(0);
            assert_eq!(unit.numbered("x_lane"), lanes);
            let x = unit.get("x_lane0").unwrap();
            assert_eq!(x.width, l.act_bits);
            assert_eq!(x.depth, Some(2 << crate::params::addr_bits(l.words)));
            // Element i is in lane i % lanes: the address's low bits select the lane.
            match lanes {
                1 => assert!(!unit.has("in_lane")),
                2 => assert!(unit.text.contains("in_lane = in_addr[0];")),
                _ => assert!(unit.text.contains("in_lane = in_addr[1:0];")),
            }
        }
    }

    #[test]
    fn banked_units_register_the_read_address_and_the_write_per_lane() {
        let banked = Knobs::banked();
        let unit = banked.unit(0);
        assert_eq!(unit.numbered("x_ra"), 2);
        assert_eq!(unit.numbered("x_we"), 2);
        let plain = Knobs::default().unit(0);
        assert_eq!(plain.numbered("x_ra") + plain.numbered("x_we"), 0);
    }
}
