//! A unit's weights in banks, one block-RAM depth each (`hardware.bank_weights`, ECP5:
//! `LayerParams::bank_words`), every lane's word of an address side by side in one bank
//! word.
//!
//! Read as one memory, a lane ends in a multiplexer over all its block RAMs right behind
//! their 5.8 ns clock-to-out, and one address net reaches every block RAM of the die.
//! Banked, no net both crosses the die and carries logic or a block RAM's output:
//!
//! ```text
//! address, write enable, data ─reg─▶ copy per bank: offset, decoded enables ─reg─▶
//!   bank k (its read register) ─reg p_k─reg o_k─▶ 4:1 step ─reg t_g─▶ rest of the mux ─▶ w_r
//! ```
//!
//! The copies are kept apart (`(* keep *)`: yosys would merge identical registers), so
//! the placer can put each beside its bank. The 4:1 step is registered only where more
//! steps follow (`LayerParams::bank_mux_stages`).
//!
//! The lanes share the address, so a bank holds all lanes' words of it (`lanes ×
//! weight_bits` bits: one DP16KD per lane on the same control nets, and 52 memories for
//! Verilator to update instead of 196 for mnist). A bank reads only when its decoded read
//! enable is set and takes its write copy only for its own writes, which keeps both the
//! block RAMs and the simulator idle elsewhere.

use crate::params::{addr_bits, LayerParams};
use crate::verilog::{assign, if_, index_width, Expr, Memory, Module, Ty};

use super::{delay, poison_collision};

/// `$readmemh` image of bank `bank`: words `bank · bank_words ..` of every lane, lane 0 in
/// the low bits.
pub fn bank_file(l: &LayerParams, bank: usize) -> String {
    format!("{}_w_b{bank}.hex", l.name)
}

/// Words held by bank `bank` (the last bank may be shorter).
pub fn bank_depth(l: &LayerParams, bank: usize) -> usize {
    let depth = l.lane_words();
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
    /// Per bank: `p` registered once more, what the bank multiplexer reads.
    out: Vec<Expr>,
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
        let out = (0..banks)
            .map(|k| m.reg(&format!("w_o_b{k}"), word))
            .collect();
        let data = (0..lanes)
            .map(|ln| m.reg(&format!("w_r{ln}"), Ty::s(l.weight_bits)))
            .collect();
        WeightBanks {
            mems,
            q,
            p: p_regs,
            out,
            data,
        }
    }

    /// The ports: `raddr` and, when learning, `(we, waddr, data per lane)` at the issue
    /// stage. They are registered once, then copied beside each bank, so reads and writes
    /// take effect `bank_stages` later than an unbanked memory's.
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
        let is_bank = |bank: &Expr, k: usize| bank.clone().eq(Expr::lit(k as i128, bank_ty));
        let rbank = bank_of(m, "w_rbank", &raddr_q);
        let wbank = write
            .as_ref()
            .map(|(_, waddr_q, _)| bank_of(m, "w_wbank", waddr_q));
        for (k, mem) in self.mems.iter().enumerate() {
            let offset_ty = Ty::u(index_width(bank_depth(l, k) as u32));
            let offset = |a: &Expr| a.clone().slice(offset_ty.width - 1, 0);
            // The bank's copy of the registered accesses, kept apart from the other banks'
            // identical copies: each sits beside its own block RAMs.
            let ra = m.reg(&format!("w_ra_b{k}"), offset_ty);
            let re = m.reg(&format!("w_re_b{k}"), Ty::bit());
            let mut copy = vec![
                assign(&ra, offset(&raddr_q)),
                assign(&re, is_bank(&rbank, k)),
            ];
            let mut bank = vec![if_(
                re.clone(),
                vec![assign(&self.q[k], mem.read(ra.clone()))],
            )];
            if let (Some((we_q, waddr_q, data_q)), Some(wbank)) = (&write, &wbank) {
                let we = m.reg(&format!("w_we_b{k}"), Ty::bit());
                let wa = m.reg(&format!("w_wa_b{k}"), offset_ty);
                let wd = m.reg(&format!("w_wd_b{k}"), data_q.ty());
                let writes_here = we_q.clone().land(is_bank(wbank, k));
                copy.extend([
                    assign(&we, writes_here.clone()),
                    // Loaded only for this bank's writes: the simulator copies one bank's
                    // word a write, not every bank's every cycle.
                    if_(
                        writes_here,
                        vec![assign(&wa, offset(waddr_q)), assign(&wd, data_q.clone())],
                    ),
                ]);
                // A read of the word written in the same cycle is never used (the blocks'
                // `no_rw_check`); co-simulation poisons one if it happens.
                m.assume_no_rw_collision(mem);
                let collides = re.clone().land(wa.clone().eq(ra.clone()));
                bank.push(if_(
                    we,
                    vec![
                        mem.write(wa, wd),
                        poison_collision(mem, &self.q[k], collides, ra.clone()),
                    ],
                ));
            }
            m.always_ff_kept(clk, copy);
            // The read registered beside the bank every cycle: with a load enable, one
            // decoded net per bank would tie the registers of the bank's DP16KDs (one per
            // lane) together and pull them away from the block RAMs. Registered once
            // more before the multiplexer: a register that also fed the multiplexer's
            // LUTs (whose other inputs come from banks elsewhere) was placed up to 60
            // rows from its DP16KD, too far behind the block RAM's 5.8 ns clock-to-out.
            // The ECP5 flow moves the first of the two into the DP16KD's own output
            // register (`toolchain::outreg`), 0.95 ns from the clock.
            bank.push(assign(&self.p[k], self.q[k].clone()));
            bank.push(assign(&self.out[k], self.p[k].clone()));
            m.always_ff(clk, bank);
        }

        // The bank index follows the read past the copies and the banks' three registers.
        let sel = delay(m, clk, "w_rbank_q", rbank, l.bank_stages() + 2);
        let mut body = Vec::new();
        let picked = if l.bank_mux_stages() > 0 {
            // The first 4:1 step registered: its banks may sit far apart, and so may the
            // steps after it.
            let firsts: Vec<Expr> = self
                .out
                .chunks(LayerParams::BANK_MUX_WAYS)
                .enumerate()
                .map(|(g, group)| {
                    let t = m.reg(&format!("w_t{g}"), group[0].ty());
                    body.push(assign(&t, mux_step(&sel, 0, group)));
                    t
                })
                .collect();
            // The steps after it select on the index's bits above the first step's two.
            let upper = sel.clone().slice(sel.width() - 1, 2);
            let sel = delay(m, clk, "w_rbank_t", upper, 1);
            bank_tree(m, "w_m", &sel, firsts)
        } else {
            bank_tree(m, "w_m", &sel, self.out.clone())
        };
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

/// One step of the bank multiplexer: `group[sel[bit +: 2]]` for up to four items (two
/// where `sel` has one bit left).
fn mux_step(sel: &Expr, bit: u32, group: &[Expr]) -> Expr {
    let b0 = sel.clone().bit(bit);
    let b1 = (bit + 1 < sel.width()).then(|| sel.clone().bit(bit + 1));
    match (group, b1) {
        ([a], _) => a.clone(),
        ([a, b], _) => Expr::mux(b0, b.clone(), a.clone()),
        ([a, b, c], Some(b1)) => Expr::mux(b1, c.clone(), Expr::mux(b0, b.clone(), a.clone())),
        ([a, b, c, d], Some(b1)) => Expr::mux(
            b1,
            Expr::mux(b0.clone(), d.clone(), c.clone()),
            Expr::mux(b0, b.clone(), a.clone()),
        ),
        _ => unreachable!("groups of 4 only with two select bits"),
    }
}

/// `items[sel]`: 4:1 steps on two bits of `sel` at a time from the low end, each level's
/// results named `<name>_<level>_<k>` (the last step is returned unnamed).
fn bank_tree(m: &mut Module, name: &str, sel: &Expr, mut items: Vec<Expr>) -> Expr {
    let ways = LayerParams::BANK_MUX_WAYS;
    let mut bit = 0;
    let mut level = 0;
    loop {
        let group = if bit + 1 < sel.width() { ways } else { 2 };
        if items.len() <= group {
            return mux_step(sel, bit, &items);
        }
        items = items
            .chunks(group)
            .enumerate()
            .map(|(k, g)| match g {
                [one] => one.clone(),
                _ => m.wire_assign(&format!("{name}_{level}_{k}"), mux_step(sel, bit, g)),
            })
            .collect();
        bit += if group == ways { 2 } else { 1 };
        level += 1;
    }
}
