//! A unit's weights in banks, one block-RAM depth each (`hardware.bank_weights`, ECP5:
//! `LayerParams::bank_words`), every lane's word of an address side by side in one bank
//! word.
//!
//! Read as one memory, a lane ends in a multiplexer over all its block RAMs right behind
//! their 5.8 ns clock-to-out. Banked, every access is registered on the way in, and each
//! bank's read is registered beside it before the bank multiplexer:
//!
//! ```text
//! address, write enable, data ─reg─▶ bank k (read register) ─reg p_k─▶ mux by bank ─▶ w_r
//! ```
//!
//! The lanes share the address, so a bank holds all lanes' words of it (`lanes ×
//! weight_bits` bits: one DP16KD per lane on the same control nets, and 52 memories for
//! Verilator to update instead of 196 for mnist). Reads and writes are a `case` on the registered bank index in which only the
//! addressed bank reads or is written: the same Verilog synthesizes to per-bank block RAMs
//! and simulates as a decision tree, not a loop over the banks.

use crate::params::{addr_bits, LayerParams};
use crate::verilog::{assign, case, if_, index_width, Expr, Memory, Module, Stmt, Ty};

use super::{delay, poison_collision};

/// `$readmemh` image of bank `bank`: words `bank · bank_words ..` of every lane, lane 0 in
/// the low bits.
pub fn bank_file(l: &LayerParams, bank: usize) -> String {
    format!("{}_w_b{bank}.hex", l.name)
}

/// Words held by bank `bank` (the last bank may be shorter).
pub fn bank_depth(l: &LayerParams, bank: usize) -> usize {
    let depth = l.outputs * l.words;
    l.bank_words.min(depth - bank * l.bank_words)
}

/// The banked memories and the registers behind them.
pub struct WeightBanks {
    /// Per bank: every lane's word, lane 0 in the low bits.
    mems: Vec<Memory>,
    /// Per bank: the read register (the block RAM's own).
    q: Vec<Expr>,
    /// Per bank: the read registered again beside the bank.
    p: Vec<Expr>,
    /// Per lane: the data register after the bank multiplexer, what the multiplier reads.
    pub data: Vec<Expr>,
}

impl WeightBanks {
    /// Declares the banks (memories `place`d like any other) and their registers.
    pub fn new(
        m: &mut Module,
        p: &crate::params::DesignParams,
        l: &LayerParams,
        lanes: usize,
    ) -> WeightBanks {
        let word = Ty::u(l.weight_bits * lanes as u32);
        let banks = l.weight_banks();
        let mems: Vec<Memory> = (0..banks)
            .map(|k| {
                m.memory(
                    &format!("w_bank{k}"),
                    word,
                    bank_depth(l, k) as u32,
                    Some(&bank_file(l, k)),
                )
            })
            .collect();
        for mem in &mems {
            super::place(m, p, mem, false);
        }
        let q = (0..banks)
            .map(|k| m.reg(&format!("w_q_b{k}"), word))
            .collect();
        let p_regs = (0..banks)
            .map(|k| m.reg(&format!("w_p_b{k}"), word))
            .collect();
        let data = (0..lanes)
            .map(|ln| m.reg(&format!("w_r{ln}"), Ty::s(l.weight_bits)))
            .collect();
        WeightBanks {
            mems,
            q,
            p: p_regs,
            data,
        }
    }

    /// The ports: `raddr` and, when learning, `(we, waddr, data per lane)` at the issue
    /// stage; they are registered first, so reads and writes take effect a cycle later
    /// than an unbanked memory's (`LayerParams::bank_stages`).
    pub fn ports(
        self,
        m: &mut Module,
        clk: &Expr,
        l: &LayerParams,
        raddr: Expr,
        write: Option<(Expr, Expr, Vec<Expr>)>,
    ) {
        let aw = raddr.width();
        let lo = addr_bits(l.bank_words);
        let banks = self.mems.len();
        let bank_ty = Ty::u(aw - lo);
        let raddr_q = m.reg("w_raddr_q", raddr.ty());
        let mut ff = vec![assign(&raddr_q, raddr)];
        let write = write.map(|(we, waddr, data)| {
            let we_q = m.reg("w_we_q", Ty::bit());
            let waddr_q = m.reg("w_waddr_q", waddr.ty());
            // Lane 0 in the low bits, as the bank words hold them.
            let packed = Expr::concat(data.into_iter().rev().collect());
            let data_q = m.reg("w_wdata_q", packed.ty());
            ff.extend([
                assign(&we_q, we),
                assign(&waddr_q, waddr),
                assign(&data_q, packed),
            ]);
            (we_q, waddr_q, data_q)
        });
        m.always_ff(clk, ff);

        let bank_of =
            |m: &mut Module, name: &str, a: &Expr| m.wire_assign(name, a.clone().slice(aw - 1, lo));
        let offset = |a: &Expr, k: usize| {
            let bits = index_width(bank_depth(l, k) as u32);
            a.clone().slice(bits - 1, 0)
        };
        let rbank = bank_of(m, "w_rbank", &raddr_q);
        // The bank index follows the read past the bank's register to the multiplexer.
        let rbank_r = delay(m, clk, "w_rbank_q", rbank.clone(), 2);
        let arm = |k: usize, body: Vec<Stmt>| (vec![Expr::lit(k as i128, bank_ty)], body);

        let reads = (0..banks)
            .map(|k| {
                arm(
                    k,
                    vec![assign(&self.q[k], self.mems[k].read(offset(&raddr_q, k)))],
                )
            })
            .collect();
        let mut body = vec![case(rbank.clone(), reads, vec![])];
        if let Some((we_q, waddr_q, data_q)) = &write {
            let wbank = bank_of(m, "w_wbank", waddr_q);
            // A read of the word written in the same cycle is never used (the blocks'
            // `no_rw_check`); co-simulation poisons one if it happens.
            let collides = waddr_q.clone().eq(raddr_q.clone());
            let writes = (0..banks)
                .map(|k| {
                    m.assume_no_rw_collision(&self.mems[k]);
                    arm(
                        k,
                        vec![
                            self.mems[k].write(offset(waddr_q, k), data_q.clone()),
                            poison_collision(
                                &self.mems[k],
                                &self.q[k],
                                collides.clone(),
                                offset(&raddr_q, k),
                            ),
                        ],
                    )
                })
                .collect();
            body.push(if_(we_q.clone(), vec![case(wbank, writes, vec![])]));
        }
        // Each bank's read registered beside it every cycle: with a load enable, one
        // decoded net per bank would tie the registers of the bank's DP16KDs (one per lane)
        // together and pull them away from the block RAMs.
        body.extend(
            self.p
                .iter()
                .zip(&self.q)
                .map(|(p_reg, q)| assign(p_reg, q.clone())),
        );
        // The bank multiplexer is a tree of 4:1 steps on the bank index's bits, two bits a
        // level (the ECP5's LUT/PFUMX wide multiplexers), not a decode per bank.
        let picked = bank_tree(m, "w_m", &rbank_r, self.p.clone());
        let picked = super::named(m, "w_picked", picked);
        let wb = l.weight_bits;
        for (ln, data) in self.data.iter().enumerate() {
            let lane = picked
                .clone()
                .slice((ln as u32 + 1) * wb - 1, ln as u32 * wb);
            body.push(assign(data, lane.as_signed()));
        }
        m.always_ff(clk, body);
    }
}

/// `items[sel]`: 4:1 steps on two bits of `sel` at a time from the low end, each level's
/// results named `<name>_<level>_<k>` (the last step is returned unnamed).
fn bank_tree(m: &mut Module, name: &str, sel: &Expr, mut items: Vec<Expr>) -> Expr {
    let mut bit = 0;
    let mut level = 0;
    loop {
        let b0 = sel.clone().bit(bit);
        let b1 = (bit + 1 < sel.width()).then(|| sel.clone().bit(bit + 1));
        let step = |g: &[Expr]| match (g, &b1) {
            ([a], _) => a.clone(),
            ([a, b], _) => Expr::mux(b0.clone(), b.clone(), a.clone()),
            ([a, b, c], Some(b1)) => Expr::mux(
                b1.clone(),
                c.clone(),
                Expr::mux(b0.clone(), b.clone(), a.clone()),
            ),
            ([a, b, c, d], Some(b1)) => Expr::mux(
                b1.clone(),
                Expr::mux(b0.clone(), d.clone(), c.clone()),
                Expr::mux(b0.clone(), b.clone(), a.clone()),
            ),
            _ => unreachable!("groups of 4 only with two select bits"),
        };
        let group = if b1.is_some() { 4 } else { 2 };
        if items.len() <= group {
            return step(&items);
        }
        items = items
            .chunks(group)
            .enumerate()
            .map(|(k, g)| match g {
                [one] => one.clone(),
                _ => m.wire_assign(&format!("{name}_{level}_{k}"), step(g)),
            })
            .collect();
        bit += if b1.is_some() { 2 } else { 1 };
        level += 1;
    }
}
