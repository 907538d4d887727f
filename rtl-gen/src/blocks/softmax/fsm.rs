//! The unit's state and counters: the phase (`state`), the class counter `cnt` (which
//! the exp phase runs on to C + 2 + the lookup's stages) and the quotient step `iter`.
//! [`Fsm`] is the context every other concern reads them from.

use crate::params::{addr_bits, DesignParams};
use crate::verilog::{Expr, Module, Ty};

/// The clock and reset, the state register with its four codes, and the counters.
pub(super) struct Fsm {
    pub clk: Expr,
    pub rst: Expr,
    pub state: Expr,
    pub s_idle: Expr,
    pub s_max: Expr,
    pub s_exp: Expr,
    pub s_div: Expr,
    pub cnt: Expr,
    pub cnt_ty: Ty,
    pub iter: Expr,
    pub iter_ty: Ty,
    /// Register stages of the exp lookup (`DesignParams::exp_lookup_stages`).
    pub look: usize,
    pub classes: usize,
    /// P: the quotient bits a class takes are P + 1 (`iter` = 0..=P).
    pub prob: u32,
    /// d: dividers, each a class of every round (`DesignParams::softmax_dividers`).
    pub dividers: usize,
}

impl Fsm {
    /// `v` as a class-counter literal.
    pub fn cnt_lit(&self, v: usize) -> Expr {
        Expr::lit(v as i128, self.cnt_ty)
    }

    /// `cnt + 1`.
    pub fn cnt_inc(&self) -> Expr {
        self.cnt_plus(1)
    }

    /// `cnt + k`.
    pub fn cnt_plus(&self, k: usize) -> Expr {
        self.cnt.clone().add(self.cnt_lit(k))
    }

    /// Cycles the division's entry waits past the exp lookup's last class, so that the
    /// first round's E are in place: class c is written C − 1 − c edges before the
    /// lookup's end; one divider reads class 0 from `exp_mem` a cycle before the entry
    /// (written two edges before it), several take classes 0..d − 1 from their registers
    /// at the entry (written an edge before it).
    pub fn entry_wait(&self) -> usize {
        entry_wait(self.classes, self.dividers)
    }

    /// `v` as a quotient-step literal.
    pub fn iter_lit(&self, v: u32) -> Expr {
        Expr::lit(v as i128, self.iter_ty)
    }
}

/// [`Fsm::entry_wait`] for C classes and d dividers.
pub(super) fn entry_wait(classes: usize, dividers: usize) -> usize {
    if dividers == 1 {
        3usize.saturating_sub(classes)
    } else {
        (dividers + 1).saturating_sub(classes)
    }
}

/// The "state" section: `S_IDLE`..`S_DIV`, `state`, `cnt`, `iter`.
pub(super) fn declare(m: &mut Module, p: &DesignParams, clk: Expr, rst: Expr) -> Fsm {
    m.section("state");
    let st_ty = Ty::u(2);
    let s_idle = m.localparam("S_IDLE", Expr::lit(0, st_ty));
    let s_max = m.localparam("S_MAX", Expr::lit(1, st_ty));
    let s_exp = m.localparam("S_EXP", Expr::lit(2, st_ty));
    let s_div = m.localparam("S_DIV", Expr::lit(3, st_ty));
    let state = m.reg("state", st_ty);
    // The exp phase counts to C + 2 + the lookup's stages + the entry's wait; one
    // divider's last class reads ahead to class C (unused).
    let look = p.exp_lookup_stages as usize;
    let d = p.softmax_dividers;
    let exp_end = p.classes + 2 + look + entry_wait(p.classes, d);
    let cnt_ty = Ty::u(addr_bits(exp_end + 1));
    let cnt = m.reg("cnt", cnt_ty);
    let iter_ty = Ty::u(addr_bits(p.prob_frac as usize + 1));
    let iter = m.reg("iter", iter_ty);
    Fsm {
        clk,
        rst,
        state,
        s_idle,
        s_max,
        s_exp,
        s_div,
        cnt,
        cnt_ty,
        iter,
        iter_ty,
        look,
        classes: p.classes,
        prob: p.prob_frac,
        dividers: d,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{banked, decl, tiny};
    use super::*;

    fn declared(p: &DesignParams) -> (Fsm, String) {
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit());
        let rst = m.input("rst", Ty::bit());
        let fsm = declare(&mut m, p, clk, rst);
        (fsm, m.to_verilog())
    }

    #[test]
    fn counters_are_wide_enough_for_their_last_values() {
        // tiny-m: 3 classes, one lookup stage: cnt runs to C + 3 = 6 (3 bits); P = 14
        // quotient steps 0..=14 (4 bits).
        let p = tiny();
        assert_eq!((p.classes, p.exp_lookup_stages, p.prob_frac), (3, 1, 14));
        let (fsm, text) = declared(&p);
        assert_eq!(decl(&text, "state").as_deref(), Some("reg [1:0] state;"));
        assert_eq!(decl(&text, "cnt").as_deref(), Some("reg [2:0] cnt;"));
        assert_eq!(decl(&text, "iter").as_deref(), Some("reg [3:0] iter;"));
        assert_eq!(
            decl(&text, "S_DIV").as_deref(),
            Some("localparam [1:0] S_DIV = 2'd3;")
        );
        assert_eq!(fsm.cnt_inc().width(), 3);
        assert!(text.contains("// ---- state ----"), "{text}");
    }

    #[test]
    fn a_two_stage_lookup_counts_one_further() {
        let p = banked();
        let (fsm, _) = declared(&p);
        assert_eq!(fsm.look, 2);
        assert_eq!(fsm.cnt_ty, Ty::u(addr_bits(p.classes + 5)));
        assert!((1usize << fsm.cnt_ty.width) > p.classes + 4);
    }
}
