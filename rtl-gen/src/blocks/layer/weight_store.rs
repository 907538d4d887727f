//! The weights: one memory per lane, word j·words + w holding W\[j\]\[w·lanes + lane\], or
//! banked by block RAM ([`super::super::weights`], ECP5). One read port serves the forward
//! pass, the update and (while idle) readback; one write port the update and (while idle)
//! the weight load, which addresses a weight as readback does.

use crate::params::addr_bits;
use crate::verilog::{assign, if_, Expr, Memory, Module, Ty};

use super::super::weights::WeightBanks;
use super::super::{place, ram_port};
use super::control::State;
use super::interface::Ports;
use super::pipeline::Issue;
use super::update::{UpdateAddresses, WeightWrite};
use super::{weight_file, Unit};

pub(super) struct WeightStore {
    /// One memory per lane (empty when banked).
    mems: Vec<Memory>,
    banks: Option<WeightBanks>,
    /// Each lane memory's registered read.
    pub q: Vec<Expr>,
    pub raddr: Expr,
    /// The word and the lane of readback entry `rb_addr` (the lane 0 with one lane).
    rb_word: Expr,
    rb_lane: Option<Expr>,
}

impl WeightStore {
    /// The weight words registered into the data stage (w_r): the banks' own stages, or
    /// none yet for lane memories.
    pub(super) fn banked_data(&self) -> Option<Vec<Expr>> {
        self.banks.as_ref().map(|b| b.data.clone())
    }
}

pub(super) fn declare(
    m: &mut Module,
    u: &Unit,
    io: &Ports,
    fsm: &State,
    issue: &Issue,
    upd_addr: &Option<UpdateAddresses>,
) -> WeightStore {
    let l = u.l;
    let lanes = l.lanes;
    let banked = l.bank_stages() > 0;
    m.section(if banked {
        "weight memories: one per lane, word j*words + w holds W[j][w*lanes + lane], in banks"
    } else {
        "weight memories: one per lane, word j*words + w holds W[j][w*lanes + lane]"
    });
    let (mems, banks): (Vec<Memory>, Option<WeightBanks>) = if banked {
        (Vec::new(), Some(WeightBanks::new(m, u.p, l, lanes)))
    } else {
        let mems = (0..lanes)
            .map(|ln| {
                m.memory(
                    &format!("w_lane{ln}"),
                    Ty::s(l.weight_bits),
                    l.lane_words() as u32,
                    Some(&weight_file(l, ln)),
                )
            })
            .collect();
        (mems, None)
    };
    for mem in &mems {
        place(m, u.p, mem, false);
    }
    let q: Vec<Expr> = (0..mems.len())
        .map(|ln| m.reg(&format!("w_q{ln}"), Ty::s(l.weight_bits)))
        .collect();
    // Readback (when idle) reads the same port: the readback address is a weight's packed
    // address (`LaneMap::packed`), its low `lane_bits` the lane, the rest the word.
    let w_aw = addr_bits(l.lane_words());
    let lane_bits = l.lane_bits();
    let rb_word = if w_aw + lane_bits <= l.rb_addr_bits {
        io.rb_addr.clone().slice(w_aw + lane_bits - 1, lane_bits)
    } else {
        io.rb_addr.clone().resize(w_aw)
    };
    let rb_word = m.wire_assign("rb_word", rb_word);
    let rb_lane =
        (lanes > 1).then(|| m.wire_assign("rb_lane", io.rb_addr.clone().resize(lane_bits)));
    let fwd_raddr = Expr::mux(issue.issuing.clone(), issue.addr0.clone(), rb_word.clone());
    let raddr = m.wire_assign(
        "w_raddr",
        match upd_addr {
            Some(a) => Expr::mux(fsm.updating.clone(), a.read.clone(), fwd_raddr),
            None => fwd_raddr,
        },
    );
    WeightStore {
        mems,
        banks,
        q,
        raddr,
        rb_word,
        rb_lane,
    }
}

/// The update's writes (none in an inference design) with the weight load folded in:
/// `load_data` into the weight at `rb_addr` while the unit is idle (the update writes
/// only while it learns); an address past the weights takes nothing. A lane memory takes
/// its own lane's word at once; a bank word
/// holds every lane, so the entries of a word, sent lane 0 first, shift into a register
/// and the whole word is written after its last lane (the host link sends whole words
/// to a banked unit).
fn with_load(
    m: &mut Module,
    u: &Unit,
    io: &Ports,
    store: &WeightStore,
    writes: &[WeightWrite],
) -> Vec<WeightWrite> {
    let l = u.l;
    m.section("weight load, while idle: a weight at its readback address");
    let span = l.rb_weight_entries();
    let load = if span < 1 << l.rb_addr_bits {
        let in_span = io
            .rb_addr
            .clone()
            .lt(Expr::lit(span as i128, Ty::u(l.rb_addr_bits)));
        m.wire_assign("load_here", io.load_we.clone().land(in_span))
    } else {
        io.load_we.clone()
    };
    let update = |ln: usize| writes.get(ln);
    let merge = |we: Expr, addr: Expr, data: Expr, ln: usize| match update(ln) {
        Some(w) => WeightWrite {
            we: w.we.clone().lor(we.clone()),
            // The lanes share the update's address: one multiplexer for all.
            addr: Expr::mux(load.clone(), addr, w.addr.clone()),
            data: Expr::mux(load.clone(), data, w.data.clone()),
        },
        None => WeightWrite { we, addr, data },
    };
    if store.banks.is_none() {
        return (0..l.lanes)
            .map(|ln| {
                let here = match &store.rb_lane {
                    Some(lane) => load
                        .clone()
                        .land(lane.clone().eq(Expr::lit(ln as i128, Ty::u(l.lane_bits())))),
                    None => load.clone(),
                };
                let we = m.wire_assign(&format!("load_we{ln}"), here);
                merge(we, store.rb_word.clone(), io.load_data.clone(), ln)
            })
            .collect();
    }
    let shift: Vec<Expr> = (0..l.lanes)
        .map(|ln| m.reg(&format!("load_sr{ln}"), Ty::s(l.weight_bits)))
        .collect();
    let commit = m.reg("load_commit", Ty::bit());
    let word = m.reg("load_word", store.rb_word.ty());
    let last_lane = match &store.rb_lane {
        Some(lane) => lane
            .clone()
            .eq(Expr::lit(l.lanes as i128 - 1, Ty::u(l.lane_bits()))),
        None => Expr::bool(true),
    };
    let mut shifted: Vec<_> = shift
        .windows(2)
        .map(|w| assign(&w[0], w[1].clone()))
        .collect();
    shifted.push(assign(&shift[l.lanes - 1], io.load_data.clone()));
    m.always_ff(
        &u.clk,
        vec![
            assign(&commit, load.clone().land(last_lane)),
            assign(&word, store.rb_word.clone()),
            if_(load, shifted),
        ],
    );
    // The update's write selects on its own enable, the load's on the commit.
    (0..l.lanes)
        .map(|ln| match update(ln) {
            Some(w) => WeightWrite {
                we: w.we.clone().lor(commit.clone()),
                addr: Expr::mux(commit.clone(), word.clone(), w.addr.clone()),
                data: Expr::mux(commit.clone(), shift[ln].clone(), w.data.clone()),
            },
            None => WeightWrite {
                we: commit.clone(),
                addr: word.clone(),
                data: shift[ln].clone(),
            },
        })
        .collect()
}

/// The memories' ports: the update's writes (when learning), the weight load and the
/// reads.
pub(super) fn ports(
    m: &mut Module,
    u: &Unit,
    io: &Ports,
    store: WeightStore,
    writes: &[WeightWrite],
) {
    let writes = &with_load(m, u, io, &store, writes);
    if let Some(banks) = store.banks {
        let write = writes.first().map(|w| {
            let data = writes.iter().map(|w| w.data.clone()).collect();
            (w.we.clone(), w.addr.clone(), data)
        });
        banks.ports(m, &u.clk, u.l, store.raddr.clone(), write);
    }
    let mut w_ff = Vec::new();
    for (ln, mem) in store.mems.iter().enumerate() {
        match writes.get(ln) {
            Some(w) => w_ff.extend(ram_port(
                m,
                mem,
                w.we.clone(),
                w.addr.clone(),
                w.data.clone(),
                &store.q[ln],
                store.raddr.clone(),
            )),
            None => w_ff.push(assign(&store.q[ln], mem.read(store.raddr.clone()))),
        }
    }
    if !w_ff.is_empty() {
        m.always_ff(&u.clk, w_ff);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;
    use super::super::weight_file;

    #[test]
    fn each_lane_holds_its_share_of_every_row() {
        let knobs = Knobs::default();
        let l = knobs.layer(0);
        let unit = knobs.unit(0);
        assert_eq!(unit.numbered("w_lane"), l.lanes);
        let w = unit.get("w_lane1").unwrap();
        assert_eq!(
            (w.width, w.depth),
            (l.weight_bits, Some(l.lane_words() as u32))
        );
        assert_eq!(l.lane_words() * l.lanes, l.inputs * l.outputs);
        assert!(unit
            .text
            .contains(&format!("$readmemh(\"{}\", w_lane1)", weight_file(&l, 1))));
    }

    #[test]
    fn banked_weights_replace_the_lane_memories() {
        let knobs = Knobs::banked();
        let l = knobs.layer(0);
        let unit = knobs.unit(0);
        assert_eq!(unit.numbered("w_lane"), 0);
        assert_eq!(unit.numbered("w_bank"), l.weight_banks());
        assert_eq!(
            unit.width("w_bank0"),
            l.weight_bits * l.lanes as u32,
            "a bank word holds every lane's weight"
        );
    }
}
