//! The weights: one memory per lane, word j·words + w holding W\[j\]\[w·lanes + lane\], or
//! banked by block RAM ([`super::super::weights`], ECP5). One read port serves the forward
//! pass, the update and (while idle) readback; one write port the update.

use crate::params::addr_bits;
use crate::verilog::{assign, Expr, Memory, Module, Ty};

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
    let fwd_raddr = Expr::mux(issue.issuing.clone(), issue.addr0.clone(), rb_word);
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
    }
}

/// The memories' ports: the update's writes (when learning) and the reads.
pub(super) fn ports(m: &mut Module, u: &Unit, store: WeightStore, writes: &[WeightWrite]) {
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
